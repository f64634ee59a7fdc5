import { exhaustive, unknownEvent, type Decider, type DomainEvent } from '../decider.js';
import { conflict, forbidden, invalid, notFound, ruleViolated, type DomainError } from '../errors.js';
import { participantOf, unknownOrganisationsRefused, type Actor, type ParticipantRef } from '../principal.js';
import {
  checkCountry,
  checkFuture,
  checkInstant,
  checkOneOf,
  checkText,
  checkUuid,
  problems,
} from '../values.js';
import { maySee, restrictedTo, type Visibility } from '../visibility.js';
import { streamIdOf } from '../streams.js';

export const THREAD_VISIBILITIES = ['open', 'closed', 'restricted'] as const;
export type ThreadVisibility = (typeof THREAD_VISIBILITIES)[number];

/**
 * Handling codes as practitioners know them from secure police and judicial exchange:
 * H0 use only for the purpose given; H1 not to be disclosed in judicial proceedings without the author's
 * consent; H2 not to be passed on without the author's consent; H3 other restrictions (described in a note).
 */
export const HANDLING_CODES = ['H0', 'H1', 'H2', 'H3'] as const;
export type HandlingCode = (typeof HANDLING_CODES)[number];

export const threadStreamId = (id: string) => streamIdOf('thread', id);

/** An attachment is referenced by the SHA-256 of its content, so the log proves which file was shared. */
export interface Attachment {
  name: string;
  sha256: string;
  size: number;
}

export type ThreadEvent =
  | DomainEvent<
      'ThreadOpened',
      {
        threadId: string;
        subject: string;
        visibility: ThreadVisibility;
        participants: ParticipantRef[];
        openedBy: ParticipantRef;
        replyBy?: string;
      }
    >
  | DomainEvent<
      'MessagePosted',
      {
        messageId: string;
        author: ParticipantRef;
        body: string;
        handlingCode: HandlingCode;
        handlingNote?: string;
        attachments: Attachment[];
      }
    >
  | DomainEvent<'MessageDelivered', { messageId: string; recipient: ParticipantRef }>
  | DomainEvent<'MessageRead', { messageId: string; reader: ParticipantRef }>;

/** Facts from the directory, prepared by the caller. */
export interface ThreadFacts {
  /** Liaison organisations suspended now: they cannot be added as participants. */
  suspendedOrganisations: string[];
  /** Those of the participating states that are guests now: they cannot take part in a closed thread. */
  guestStates: string[];
  /** Participating organisations the directory has never registered (a state may be named before it is admitted). */
  unknownOrganisations?: string[];
}

type Base = { actor: Actor; at: string; threadId: string };
export type ThreadCommand =
  | (Base & {
      type: 'OpenThread';
      subject: string;
      visibility: ThreadVisibility;
      participants: ParticipantRef[];
      /** Makes the thread urgent: replies are due by then. */
      replyBy?: string;
      facts: ThreadFacts;
    })
  | (Base & {
      type: 'PostMessage';
      messageId: string;
      body: string;
      handlingCode: HandlingCode;
      handlingNote?: string;
      attachments: Attachment[];
    })
  | (Base & { type: 'RecordMessageDelivered'; messageId: string })
  | (Base & { type: 'MarkMessageRead'; messageId: string });

interface MessageState {
  author: ParticipantRef;
  postedAt: number;
  deliveredTo: ParticipantRef[];
  readBy: ParticipantRef[];
}

export type ThreadState =
  | { opened: false }
  | {
      opened: true;
      threadId: string;
      subject: string;
      visibility: ThreadVisibility;
      participants: ParticipantRef[];
      openedBy: ParticipantRef;
      replyBy?: string;
      /** Message ids in posting order, with their receipts. */
      messages: Record<string, MessageState>;
      /** Whether someone other than the opener has posted: an urgent thread is answered then. */
      answered: boolean;
    };

/**
 * Who reads a thread, on every path: its participants, the secretariat and auditors (SPEC §2). The thread's own
 * visibility decides who may be made a participant, never who reads a thread they are not part of; a closed
 * thread also stays closed to a participant who may no longer see closed information (a state become guest).
 */
export function threadEventVisibility(thread: {
  participants: readonly ParticipantRef[];
  visibility: ThreadVisibility;
}): Visibility {
  return restrictedTo(thread.participants, { closed: thread.visibility === 'closed' });
}

/** A message answers a thread when someone other than its opener posts it. */
export const isAnswer = (thread: { openedBy: ParticipantRef }, author: ParticipantRef) =>
  author !== thread.openedBy;

/**
 * An urgent thread whose reply-by time has passed without an answer: the inbox lists these first. Takes a
 * folded thread, or what a read model keeps of one.
 */
export function isOverdue(
  thread: ThreadState | { replyBy?: string | Date | null; answered: boolean },
  now: string,
): boolean {
  if ('opened' in thread && !thread.opened) return false;
  const { replyBy, answered } = thread as { replyBy?: string | Date | null; answered: boolean };
  if (replyBy === undefined || replyBy === null || answered) return false;
  return new Date(replyBy).getTime() <= Date.parse(now);
}

function checkParticipant(ref: unknown): string | undefined {
  if (ref === 'secretariat') return undefined;
  if (typeof ref === 'string' && ref.startsWith('state:')) return checkCountry(ref.slice(6));
  if (typeof ref === 'string' && ref.startsWith('organisation:')) return checkUuid(ref.slice(13));
  return `${JSON.stringify(ref)} is not a participant: write secretariat, state:<ISO code> or organisation:<id>`;
}

function decide(command: ThreadCommand, state: ThreadState): readonly ThreadEvent[] | DomainError {
  const atProblem = checkInstant(command.at);
  if (atProblem) return invalid({ at: atProblem });
  const self = participantOf(command.actor);
  const noParticipant = forbidden(
    'thread/no-participant',
    'auditors read threads; they do not take part in them',
  );
  if (command.type === 'OpenThread') return self ? openThread(command, state, self) : noParticipant;
  const missing = notFound('thread/not-found', `no thread ${command.threadId}`);
  // A thread does not exist for those who may not read it: on writes as on reads.
  if (!state.opened || !maySee(command.actor, threadEventVisibility(state))) return missing;
  if (!self) return noParticipant;
  if (!state.participants.includes(self)) {
    return forbidden(
      'thread/participants-only',
      `only the participants of thread ${state.threadId} post and read`,
    );
  }
  const visibility = threadEventVisibility(state);
  switch (command.type) {
    case 'PostMessage': {
      const attachments = command.attachments ?? [];
      const bad = problems({
        messageId: checkUuid(command.messageId),
        body: checkText(command.body, 100_000),
        handlingCode: checkOneOf(command.handlingCode, HANDLING_CODES),
        handlingNote:
          command.handlingCode === 'H3'
            ? checkText(command.handlingNote, 2_000) && 'H3 needs a note that states the restrictions'
            : command.handlingNote !== undefined
              ? checkText(command.handlingNote, 2_000)
              : undefined,
        attachments: Array.isArray(attachments)
          ? attachments
              .map((file, i) =>
                checkText(file?.name, 255)
                  ? `[${i}].name ${checkText(file?.name, 255)}`
                  : !/^[0-9a-f]{64}$/.test(String(file?.sha256))
                    ? `[${i}].sha256 must be 64 lower-case hex digits (the SHA-256 of the file)`
                    : !Number.isSafeInteger(file?.size) || file.size < 0
                      ? `[${i}].size must be the file's size in bytes`
                      : undefined,
              )
              .find(Boolean)
          : 'must be a list',
      });
      if (bad) return invalid(bad);
      if (state.messages[command.messageId]) {
        return conflict('thread/message-exists', `message ${command.messageId} is already in this thread`);
      }
      const { messageId, body, handlingCode, handlingNote } = command;
      return [
        {
          type: 'MessagePosted',
          data: {
            messageId,
            author: self,
            body,
            handlingCode,
            ...(handlingNote !== undefined ? { handlingNote } : {}),
            attachments: attachments.map(({ name, sha256, size }) => ({ name, sha256, size })),
          },
          visibility,
        },
      ];
    }
    case 'RecordMessageDelivered':
    case 'MarkMessageRead': {
      const message = state.messages[command.messageId];
      if (!message)
        return notFound('thread/message-not-found', `no message ${command.messageId} in this thread`);
      if (message.author === self) return [];
      if (command.type === 'RecordMessageDelivered') {
        return message.deliveredTo.includes(self)
          ? []
          : [
              {
                type: 'MessageDelivered',
                data: { messageId: command.messageId, recipient: self },
                visibility,
              },
            ];
      }
      return message.readBy.includes(self)
        ? []
        : [{ type: 'MessageRead', data: { messageId: command.messageId, reader: self }, visibility }];
    }
    default:
      return exhaustive(command);
  }
}

function openThread(
  command: Extract<ThreadCommand, { type: 'OpenThread' }>,
  state: ThreadState,
  self: ParticipantRef,
): readonly ThreadEvent[] | DomainError {
  const participants = Array.isArray(command.participants) ? command.participants : [];
  const bad = problems({
    threadId: checkUuid(command.threadId),
    subject: checkText(command.subject, 300),
    visibility: checkOneOf(command.visibility, THREAD_VISIBILITIES),
    participants: Array.isArray(command.participants)
      ? participants.map(checkParticipant).find(Boolean)
      : 'must be a list of participants',
    replyBy: command.replyBy !== undefined ? checkFuture(command.replyBy, command.at) : undefined,
  });
  if (bad) return invalid(bad);
  if (state.opened) return conflict('thread/exists', `thread ${command.threadId} exists`);
  const everyone = [...new Set<ParticipantRef>([self, ...participants])].sort();
  const organisations = everyone.filter((ref) => ref.startsWith('organisation:'));
  if (command.visibility === 'closed' && organisations.length > 0) {
    return ruleViolated(
      'thread/closed-no-organisations',
      'a liaison organisation can never take part in a closed thread: make it restricted or open, or leave the ' +
        'organisation out',
    );
  }
  const guests = everyone.filter((ref) => command.facts.guestStates.includes(ref.slice('state:'.length)));
  if (command.visibility === 'closed' && guests.length > 0) {
    return ruleViolated(
      'thread/closed-no-guests',
      `${guests.join(', ')}: a guest state can never take part in a closed thread: make it restricted or open, ` +
        'or leave the guest state out',
    );
  }
  const unknown = unknownOrganisationsRefused(
    'thread/unknown-organisation',
    command.facts.unknownOrganisations,
  );
  if (unknown) return unknown;
  const suspended = organisations.find((ref) => command.facts.suspendedOrganisations.includes(ref.slice(13)));
  if (suspended) {
    return ruleViolated(
      'thread/organisation-suspended',
      `${suspended} is suspended and cannot take part in threads`,
    );
  }
  return [
    {
      type: 'ThreadOpened',
      data: {
        threadId: command.threadId,
        subject: command.subject,
        visibility: command.visibility,
        participants: everyone,
        openedBy: self,
        ...(command.replyBy !== undefined ? { replyBy: command.replyBy } : {}),
      },
      visibility: threadEventVisibility({ participants: everyone, visibility: command.visibility }),
    },
  ];
}

function evolve(state: ThreadState, event: ThreadEvent): ThreadState {
  if (event.type === 'ThreadOpened') {
    return { opened: true, ...event.data, messages: {}, answered: false };
  }
  if (!state.opened) return state;
  switch (event.type) {
    case 'MessagePosted':
      return {
        ...state,
        answered: state.answered || isAnswer(state, event.data.author),
        messages: {
          ...state.messages,
          [event.data.messageId]: {
            author: event.data.author,
            postedAt: Object.keys(state.messages).length,
            deliveredTo: [],
            readBy: [],
          },
        },
      };
    case 'MessageDelivered':
    case 'MessageRead': {
      const message = state.messages[event.data.messageId];
      if (!message) return state;
      const updated =
        event.type === 'MessageDelivered'
          ? { ...message, deliveredTo: [...message.deliveredTo, event.data.recipient] }
          : { ...message, readBy: [...message.readBy, event.data.reader] };
      return { ...state, messages: { ...state.messages, [event.data.messageId]: updated } };
    }
    default:
      return unknownEvent(event, state);
  }
}

export const threadDecider: Decider<ThreadCommand, ThreadState, ThreadEvent> = {
  initialState: { opened: false },
  evolve,
  decide,
  opensStream: (command) => command.type === 'OpenThread',
};
