import { exhaustive, unknownEvent, type Decider, type DomainEvent } from '../decider.js';
import { conflict, forbidden, invalid, notFound, ruleViolated, type DomainError } from '../errors.js';
import { organisationRef, participantOf, stateRef, type Actor, type ParticipantRef } from '../principal.js';
import { standingOn, type StatusEntry } from '../state/state.js';
import { streamIdOf } from '../streams.js';
import {
  checkCountry,
  checkDate,
  checkFuture,
  checkInstant,
  checkOneOf,
  checkText,
  checkUuid,
  dateOf,
  problems,
} from '../values.js';
import { closed, maySee, open, type Visibility } from '../visibility.js';

/**
 * The Network's plenary meeting, held twice a year at Eurojust: an open session for members, guest delegations
 * and liaison organisations, and a closed session for national contact points of member and observer states.
 */
export const SESSIONS = ['open', 'closed'] as const;
export type Session = (typeof SESSIONS)[number];

/** Who a delegate represents, as the participation report counts them. */
export const PARTICIPANT_KINDS = [
  'member-state',
  'observer-state',
  'guest-state',
  'liaison-organisation',
] as const;
export type ParticipantKind = (typeof PARTICIPANT_KINDS)[number];

/** The kinds of participant the closed session is held for (SPEC §2): never guests or organisations. */
export const mayAttendClosedSession = (kind: ParticipantKind) =>
  kind === 'member-state' || kind === 'observer-state';

export const plenaryMeetingStreamId = (id: string) => streamIdOf('plenary-meeting', id);

/** The closed session's agenda, delegates and attendance are closed; everything else about a meeting is open. */
export const sessionVisibility = (session: Session): Visibility => (session === 'closed' ? closed : open);

export interface PlenaryMeetingDetails {
  number: number;
  title: string;
  theme: string;
  startsOn: string;
  endsOn: string;
  venue: string;
  presidency: string;
}

export interface Delegate {
  delegateId: string;
  session: Session;
  participant: ParticipantRef;
  kind: ParticipantKind;
  /** The state a delegate comes from (none for a liaison organisation's): the report's country. */
  country?: string;
  /** A state's delegate is one of its contact points. */
  contactPointId?: string;
  /**
   * A liaison organisation's or guest state's delegate's name. A state's delegate has none here: it is the
   * contact point's name, personal data the directory keeps sealed under the contact point's key (SPEC §6), so
   * readers take it from there and it goes when the contact point's personal data is erased.
   */
  name?: string;
}

/** How a delegate is named in messages: by name where the event carries one, else by id. */
const delegateLabel = (delegate: Delegate) => delegate.name ?? `delegate ${delegate.delegateId}`;

export type PlenaryMeetingEvent =
  | DomainEvent<'PlenaryMeetingConvened', { meetingId: string } & PlenaryMeetingDetails>
  | DomainEvent<
      'PlenaryAgendaItemAdded',
      { itemId: string; session: Session; title: string; summary?: string }
    >
  | DomainEvent<'PlenaryDelegateRegistered', Delegate>
  | DomainEvent<'PlenaryDelegateWithdrawn', { delegateId: string }>
  | DomainEvent<'PlenaryAttendanceRecorded', { delegateId: string; session: Session }>
  | DomainEvent<'PlenaryConclusionsPublished', { text: string; topics: string[] }>
  | DomainEvent<'PlenaryMeetingCancelled', { reason: string }>;

/** What the directory holds, prepared by the caller, for a registration. */
export interface DelegateFacts {
  /** The contact point named, as the directory holds it now; absent when the directory does not know it. */
  contactPoint?: { state?: string; organisation?: string; active: boolean };
  /** The status history of each state concerned (the actor's, the one named, the contact point's). */
  stateHistories: Readonly<Record<string, readonly StatusEntry[]>>;
  /** Whether the organisation concerned is suspended; absent when the directory does not know it. */
  organisationSuspended?: boolean;
}

type Base = { actor: Actor; at: string; meetingId: string };
export type PlenaryMeetingCommand =
  | (Base & { type: 'ConvenePlenaryMeeting' } & PlenaryMeetingDetails)
  | (Base & {
      type: 'AddPlenaryAgendaItem';
      itemId: string;
      session: Session;
      title: string;
      summary?: string;
    })
  | (Base & {
      type: 'RegisterPlenaryDelegate';
      delegateId: string;
      session: Session;
      /**
       * A liaison organisation's or guest state's delegate's name. Ignored for a state's delegate (a contact
       * point), whose name is the contact point's personal data and never goes into the plenary's log.
       */
      name?: string;
      /** A state's delegate: one of its contact points (the secretariat may name any state's). */
      contactPointId?: string;
      /** Only the secretariat names these: a liaison organisation, or a guest state, it registers. */
      organisation?: string;
      state?: string;
      facts: DelegateFacts;
    })
  | (Base & { type: 'WithdrawPlenaryDelegate'; delegateId: string })
  | (Base & { type: 'RecordPlenaryAttendance'; delegateId: string })
  | (Base & { type: 'PublishPlenaryConclusions'; text: string; topics: string[] })
  | (Base & { type: 'CancelPlenaryMeeting'; reason: string });

export type PlenaryMeetingStatus = 'convened' | 'cancelled' | 'concluded';

export type PlenaryMeetingState =
  | { convened: false }
  | ({
      convened: true;
      meetingId: string;
      status: PlenaryMeetingStatus;
      agenda: { itemId: string; session: Session }[];
      /** Registered and not withdrawn. */
      delegates: Delegate[];
      attended: string[];
    } & PlenaryMeetingDetails);

type Convened = Extract<PlenaryMeetingState, { convened: true }>;

const SECRETARIAT_STEPS = {
  ConvenePlenaryMeeting: 'convene a plenary meeting',
  AddPlenaryAgendaItem: 'set the agenda',
  RecordPlenaryAttendance: 'record attendance',
  PublishPlenaryConclusions: 'publish conclusions',
  CancelPlenaryMeeting: 'cancel a plenary meeting',
} as const;

function decide(
  command: PlenaryMeetingCommand,
  state: PlenaryMeetingState,
): readonly PlenaryMeetingEvent[] | DomainError {
  const atProblem = checkInstant(command.at);
  if (atProblem) return invalid({ at: atProblem });
  if (command.type in SECRETARIAT_STEPS && command.actor.role !== 'secretariat') {
    const step = SECRETARIAT_STEPS[command.type as keyof typeof SECRETARIAT_STEPS];
    return forbidden('plenary/secretariat-only', `only the secretariat may ${step}`);
  }
  if (command.type === 'ConvenePlenaryMeeting') return convene(command, state);
  if (!state.convened) return notFound('plenary/not-found', `no plenary meeting ${command.meetingId}`);
  if (state.status !== 'convened') {
    return ruleViolated(
      'plenary/lifecycle',
      `the ${ordinal(state.number)} plenary meeting is ${state.status}: nothing more can be changed`,
    );
  }
  switch (command.type) {
    case 'AddPlenaryAgendaItem': {
      const bad = problems({
        itemId: checkUuid(command.itemId),
        session: checkOneOf(command.session, SESSIONS),
        title: checkText(command.title, 300),
        summary: command.summary === undefined ? undefined : checkText(command.summary, 4_000),
      });
      if (bad) return invalid(bad);
      if (state.agenda.some((item) => item.itemId === command.itemId)) {
        return conflict(
          'plenary/agenda-item-exists',
          `agenda item ${command.itemId} is already on the agenda`,
        );
      }
      const { itemId, session, title, summary } = command;
      return [
        {
          type: 'PlenaryAgendaItemAdded',
          data: { itemId, session, title, ...(summary !== undefined ? { summary } : {}) },
          visibility: sessionVisibility(session),
        },
      ];
    }
    case 'RegisterPlenaryDelegate':
      return register(command, state);
    case 'WithdrawPlenaryDelegate': {
      const delegate = visibleDelegate(command.actor, state, command.delegateId);
      if (!delegate) return unknownDelegate(command.delegateId);
      if (command.actor.role !== 'secretariat' && participantOf(command.actor) !== delegate.participant) {
        return forbidden(
          'plenary/own-delegates-only',
          'only the secretariat and whoever registered a delegate may withdraw them',
        );
      }
      if (state.attended.includes(delegate.delegateId)) {
        return ruleViolated(
          'plenary/already-attended',
          `${delegateLabel(delegate)} attended the ${delegate.session} session: attendance stays on the record`,
        );
      }
      return [
        {
          type: 'PlenaryDelegateWithdrawn',
          data: { delegateId: delegate.delegateId },
          visibility: sessionVisibility(delegate.session),
        },
      ];
    }
    case 'RecordPlenaryAttendance': {
      const delegate = state.delegates.find((d) => d.delegateId === command.delegateId);
      if (!delegate) {
        return ruleViolated(
          'plenary/not-registered',
          `delegate ${command.delegateId} is not registered for the ${ordinal(state.number)} plenary meeting: ` +
            'register them first',
        );
      }
      const today = dateOf(command.at);
      if (today < state.startsOn) {
        return ruleViolated(
          'plenary/not-yet-started',
          `the meeting starts on ${state.startsOn} and today is ${today}: record attendance on or after its start`,
        );
      }
      if (state.attended.includes(delegate.delegateId)) {
        return conflict(
          'plenary/attendance-recorded',
          `${delegateLabel(delegate)}'s attendance is already recorded`,
        );
      }
      return [
        {
          type: 'PlenaryAttendanceRecorded',
          data: { delegateId: delegate.delegateId, session: delegate.session },
          visibility: sessionVisibility(delegate.session),
        },
      ];
    }
    case 'PublishPlenaryConclusions': {
      const bad = problems({
        text: checkText(command.text, 50_000),
        topics: Array.isArray(command.topics)
          ? command.topics.map((topic) => checkText(topic, 100)).find(Boolean)
          : 'must be a list of topics',
      });
      if (bad) return invalid(bad);
      const today = dateOf(command.at);
      if (today <= state.endsOn) {
        return ruleViolated(
          'plenary/not-yet-ended',
          `the meeting ends on ${state.endsOn} and today is ${today}: publish its conclusions once it has ended`,
        );
      }
      return [
        {
          type: 'PlenaryConclusionsPublished',
          data: { text: command.text, topics: [...new Set(command.topics)] },
          visibility: open,
        },
      ];
    }
    case 'CancelPlenaryMeeting': {
      const bad = problems({ reason: checkText(command.reason, 2_000) });
      if (bad) return invalid(bad);
      return [{ type: 'PlenaryMeetingCancelled', data: { reason: command.reason }, visibility: open }];
    }
    default:
      return exhaustive(command);
  }
}

function convene(
  command: Extract<PlenaryMeetingCommand, { type: 'ConvenePlenaryMeeting' }>,
  state: PlenaryMeetingState,
): readonly PlenaryMeetingEvent[] | DomainError {
  const bad = problems({
    meetingId: checkUuid(command.meetingId),
    number:
      Number.isInteger(command.number) && command.number > 0 && command.number < 1_000
        ? undefined
        : `${JSON.stringify(command.number)} is not a meeting's number (1, 2, … 39)`,
    title: checkText(command.title, 300),
    theme: checkText(command.theme, 4_000),
    startsOn: checkFuture(command.startsOn, command.at),
    endsOn:
      checkDate(command.endsOn) ??
      (command.endsOn < command.startsOn ? `ends before it starts (${command.startsOn})` : undefined),
    venue: checkText(command.venue, 300),
    presidency: checkCountry(command.presidency),
  });
  if (bad) return invalid(bad);
  if (state.convened) return conflict('plenary/exists', `plenary meeting ${command.meetingId} exists`);
  const { meetingId, number, title, theme, startsOn, endsOn, venue, presidency } = command;
  return [
    {
      type: 'PlenaryMeetingConvened',
      data: { meetingId, number, title, theme, startsOn, endsOn, venue, presidency },
      visibility: open,
    },
  ];
}

/** Whom a registration names: a state's contact point, an organisation or a guest state, by who registers. */
type Named =
  | { kind: 'contact-point'; contactPointId: string }
  | { kind: 'organisation'; id: string }
  | { kind: 'state'; code: string };

function named(
  command: Extract<PlenaryMeetingCommand, { type: 'RegisterPlenaryDelegate' }>,
): Named | DomainError {
  const { actor, contactPointId, organisation, state } = command;
  const given = [contactPointId, organisation, state].filter((value) => value !== undefined).length;
  switch (actor.role) {
    case 'secretariat':
      if (given !== 1) {
        return invalid({
          contactPointId:
            'name exactly one of contactPointId (a state delegate), organisation (a liaison organisation) or ' +
            'state (a guest delegation)',
        });
      }
      if (contactPointId !== undefined) return { kind: 'contact-point', contactPointId };
      return organisation !== undefined
        ? { kind: 'organisation', id: organisation }
        : { kind: 'state', code: state! };
    case 'member-state':
    case 'observer-state':
      if (organisation !== undefined || state !== undefined) {
        return invalid({
          [organisation !== undefined ? 'organisation' : 'state']:
            'a state registers its own contact points: name contactPointId only',
        });
      }
      return contactPointId === undefined
        ? invalid({ contactPointId: 'name the contact point who will attend (one of your own)' })
        : { kind: 'contact-point', contactPointId };
    case 'guest-state':
    case 'liaison-organisation':
      if (given > 0) {
        const field =
          contactPointId !== undefined
            ? 'contactPointId'
            : organisation !== undefined
              ? 'organisation'
              : 'state';
        return invalid({ [field]: 'your delegation is the one your token names: leave this out' });
      }
      return actor.role === 'guest-state'
        ? { kind: 'state', code: actor.state! }
        : { kind: 'organisation', id: actor.organisation! };
    case 'auditor':
      return forbidden('plenary/auditors-read-only', 'auditors read the record; they register no delegates');
    default:
      return exhaustive(actor.role);
  }
}

/** A state's kind of participant from its status on every day of the meeting, or why it cannot take part. */
function stateKind(
  code: string,
  history: readonly StatusEntry[] | undefined,
  meeting: Convened,
): ParticipantKind | DomainError {
  const statuses = new Set(
    [meeting.startsOn, meeting.endsOn].map((day) => standingOn(history ?? [], day).current?.status),
  );
  const [status] = [...statuses];
  if (statuses.size === 1 && (status === 'member' || status === 'observer' || status === 'guest')) {
    return `${status}-state`;
  }
  return ruleViolated(
    'plenary/not-in-network-on-meeting-dates',
    `${code} is not a member, observer or guest state throughout the meeting (${meeting.startsOn} to ` +
      `${meeting.endsOn}): it cannot send a delegation`,
  );
}

function register(
  command: Extract<PlenaryMeetingCommand, { type: 'RegisterPlenaryDelegate' }>,
  state: Convened,
): readonly PlenaryMeetingEvent[] | DomainError {
  const bad = problems({
    delegateId: checkUuid(command.delegateId),
    session: checkOneOf(command.session, SESSIONS),
    // A state's delegate's name is its contact point's: ignored here, so never checked (see `name` above).
    name: command.contactPointId === undefined ? checkText(command.name, 200) : undefined,
    contactPointId: command.contactPointId === undefined ? undefined : checkUuid(command.contactPointId),
    organisation: command.organisation === undefined ? undefined : checkUuid(command.organisation),
    state: command.state === undefined ? undefined : checkCountry(command.state),
  });
  if (bad) return invalid(bad);
  const who = named(command);
  if (who instanceof Error) return who;
  const { facts, actor, session } = command;

  let participant: ParticipantRef;
  let kind: ParticipantKind | DomainError;
  let country: string | undefined;
  switch (who.kind) {
    case 'contact-point': {
      const contactPoint = facts.contactPoint;
      if (!contactPoint) {
        return ruleViolated(
          'plenary/unknown-contact-point',
          `no contact point ${who.contactPointId} in the directory`,
        );
      }
      const own = actor.role === 'secretariat' ? contactPoint.state : actor.state;
      if (!contactPoint.state || contactPoint.state !== own) {
        return forbidden(
          'plenary/own-contact-points-only',
          `contact point ${who.contactPointId} is not one of ${actor.state}'s: a state registers its own contact points`,
        );
      }
      if (!contactPoint.active) {
        return ruleViolated(
          'plenary/contact-point-retired',
          `contact point ${who.contactPointId} is retired: reinstate them, or register a current contact point`,
        );
      }
      country = contactPoint.state;
      participant = stateRef(country);
      kind = stateKind(country, facts.stateHistories[country], state);
      // A state's contact point is never a guest delegation's: guests come as their state, not as contact points.
      if (kind === 'guest-state') {
        return forbidden(
          'plenary/own-contact-points-only',
          `${country} is a guest state on the meeting's dates: its delegation registers as itself`,
        );
      }
      break;
    }
    case 'state': {
      country = who.code;
      participant = stateRef(country);
      kind = stateKind(country, facts.stateHistories[country], state);
      if (!(kind instanceof Error) && kind !== 'guest-state') {
        return ruleViolated(
          'plenary/register-contact-points',
          `${country} is ${kind === 'member-state' ? 'a member' : 'an observer'} state: register one of its contact points`,
        );
      }
      break;
    }
    case 'organisation': {
      if (facts.organisationSuspended === undefined) {
        return ruleViolated(
          'plenary/unknown-organisation',
          `no liaison organisation ${who.id} in the directory`,
        );
      }
      if (facts.organisationSuspended) {
        return ruleViolated(
          'plenary/organisation-suspended',
          `liaison organisation ${who.id} is suspended: it takes part again once reinstated`,
        );
      }
      participant = organisationRef(who.id);
      kind = 'liaison-organisation';
      break;
    }
    default:
      return exhaustive(who);
  }
  if (kind instanceof Error) return kind;
  if (session === 'closed' && !mayAttendClosedSession(kind)) {
    return forbidden(
      'plenary/closed-session-member-and-observer-states-only',
      `the closed session is held solely for national contact points of member and observer states; ` +
        `${kind === 'guest-state' ? 'a guest delegation' : 'a liaison organisation'} may register for the open session`,
    );
  }
  if (state.delegates.some((d) => d.delegateId === command.delegateId)) {
    return conflict('plenary/delegate-exists', `delegate ${command.delegateId} is already registered`);
  }
  const twice = state.delegates.find(
    (d) =>
      d.session === session &&
      (who.kind === 'contact-point'
        ? d.contactPointId === who.contactPointId
        : d.participant === participant && d.name === command.name),
  );
  if (twice) {
    return conflict(
      'plenary/already-registered',
      `${delegateLabel(twice)} is already registered for the ${session} session (delegate ${twice.delegateId})`,
    );
  }
  const delegate: Delegate = {
    delegateId: command.delegateId,
    session,
    participant,
    kind,
    ...(country ? { country } : {}),
    ...(who.kind === 'contact-point' ? { contactPointId: who.contactPointId } : { name: command.name! }),
  };
  return [{ type: 'PlenaryDelegateRegistered', data: delegate, visibility: sessionVisibility(session) }];
}

/** A registered delegate the actor may see: a closed session's does not exist for who may not see it. */
function visibleDelegate(actor: Actor, state: Convened, delegateId: string): Delegate | undefined {
  const delegate = state.delegates.find((d) => d.delegateId === delegateId);
  return delegate && maySee(actor, sessionVisibility(delegate.session)) ? delegate : undefined;
}

const unknownDelegate = (delegateId: string) =>
  notFound(
    'plenary/delegate-not-found',
    `no delegate ${delegateId} registered for this meeting that you may see`,
  );

/** 38th, 41st, 112th: how the Network numbers its meetings. */
export const ordinal = (n: number) => {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
};

function evolve(state: PlenaryMeetingState, event: PlenaryMeetingEvent): PlenaryMeetingState {
  if (event.type === 'PlenaryMeetingConvened') {
    return { convened: true, ...event.data, status: 'convened', agenda: [], delegates: [], attended: [] };
  }
  if (!state.convened) return state;
  switch (event.type) {
    case 'PlenaryAgendaItemAdded':
      return {
        ...state,
        agenda: [...state.agenda, { itemId: event.data.itemId, session: event.data.session }],
      };
    case 'PlenaryDelegateRegistered':
      return { ...state, delegates: [...state.delegates, event.data] };
    case 'PlenaryDelegateWithdrawn':
      return { ...state, delegates: state.delegates.filter((d) => d.delegateId !== event.data.delegateId) };
    case 'PlenaryAttendanceRecorded':
      return { ...state, attended: [...state.attended, event.data.delegateId] };
    case 'PlenaryConclusionsPublished':
      return { ...state, status: 'concluded' };
    case 'PlenaryMeetingCancelled':
      return { ...state, status: 'cancelled' };
    default:
      return unknownEvent(event, state);
  }
}

export const plenaryMeetingDecider: Decider<PlenaryMeetingCommand, PlenaryMeetingState, PlenaryMeetingEvent> =
  {
    initialState: { convened: false },
    evolve,
    decide,
    opensStream: (command) => command.type === 'ConvenePlenaryMeeting',
  };
