import { exhaustive, unknownEvent, type Decider, type DomainEvent } from '../decider.js';
import { conflict, forbidden, invalid, notFound, ruleViolated, type DomainError } from '../errors.js';
import {
  organisationRef,
  stateRef,
  unknownOrganisationsRefused,
  type Actor,
  type ParticipantRef,
} from '../principal.js';
import type { StateStatus } from '../state/state.js';
import {
  checkCountry,
  checkFuture,
  checkInstant,
  checkOneOf,
  checkText,
  checkUuid,
  dateOf,
  problems,
} from '../values.js';
import { maySee, open, restrictedTo, type Visibility } from '../visibility.js';
import { streamIdOf } from '../streams.js';

export const SUBJECT_KINDS = ['case', 'situation', 'topic'] as const;
export const CONFIDENTIALITY = ['open', 'closed'] as const;
export type Confidentiality = (typeof CONFIDENTIALITY)[number];

export const meetingRequestStreamId = (id: string) => streamIdOf('meeting-request', id);

export interface MeetingRequestDetails {
  subjectKind: (typeof SUBJECT_KINDS)[number];
  title: string;
  summary: string;
  confidentiality: Confidentiality;
  proposedDates: string[];
  invitedStates: string[];
  invitedOrganisations: string[];
}

export type MeetingRequestEvent =
  | DomainEvent<'AdHocMeetingRequested', { requestId: string; requestedBy: string } & MeetingRequestDetails>
  | DomainEvent<'AdHocMeetingCoSponsored', { state: string }>
  | DomainEvent<'AdHocMeetingAccepted', { scheduledFor: string; venue: string }>
  | DomainEvent<'AdHocMeetingDeclined', { reason: string }>
  | DomainEvent<'AdHocMeetingWithdrawn', { by: string }>
  | DomainEvent<'AdHocMeetingCancelled', { reason: string }>
  | DomainEvent<'AdHocMeetingConcluded', { conclusions: string }>;

/** Facts from the directory, prepared by the caller for the command's date. */
export interface MembershipFacts {
  /** The acting state's status on the command's date, and since when. */
  actorStateStatus?: StateStatus;
  actorStateStatusSince?: string;
}

type Base = { actor: Actor; at: string; requestId: string };
export type MeetingRequestCommand =
  | (Base & {
      type: 'RequestAdHocMeeting';
      facts: MembershipFacts & {
        suspendedOrganisations: string[];
        /** Those of the invited states that are guests on the command's date. */
        guestStates: string[];
        /** Invited organisations the directory has never registered (a state may be invited before it is admitted). */
        unknownOrganisations?: string[];
      };
    } & MeetingRequestDetails)
  | (Base & { type: 'CoSponsorAdHocMeeting'; facts: MembershipFacts })
  | (Base & { type: 'WithdrawAdHocMeeting' })
  | (Base & { type: 'AcceptAdHocMeeting'; scheduledFor: string; venue: string })
  | (Base & { type: 'DeclineAdHocMeeting'; reason: string })
  | (Base & { type: 'CancelAdHocMeeting'; reason: string })
  | (Base & { type: 'ConcludeAdHocMeeting'; conclusions: string });

export type MeetingRequestStatus =
  'requested' | 'accepted' | 'declined' | 'withdrawn' | 'cancelled' | 'concluded';

export type MeetingRequestState =
  | { requested: false }
  | ({
      requested: true;
      requestId: string;
      requestedBy: string;
      coSponsors: string[];
      status: MeetingRequestStatus;
      scheduledFor?: string;
    } & MeetingRequestDetails);

/**
 * Open requests are open; closed ones are restricted to the requesting and co-sponsoring states, the invited
 * participants and (implicitly) the secretariat and auditors, and stay closed to those of them who may not see
 * closed information (a state invited before it became a guest).
 */
export function meetingVisibility(
  state: Pick<
    Extract<MeetingRequestState, { requested: true }>,
    'confidentiality' | 'requestedBy' | 'coSponsors' | 'invitedStates' | 'invitedOrganisations'
  >,
): Visibility {
  if (state.confidentiality === 'open') return open;
  const participants: ParticipantRef[] = [
    stateRef(state.requestedBy),
    ...state.coSponsors.map(stateRef),
    ...state.invitedStates.map(stateRef),
    ...state.invitedOrganisations.map(organisationRef),
  ];
  return restrictedTo(participants, { closed: true });
}

function requireMember(actor: Actor, facts: MembershipFacts, what: string): DomainError | undefined {
  if (actor.role !== 'member-state' || !actor.state) {
    return forbidden('meeting-request/member-states-only', `only member states may ${what}`);
  }
  if (facts.actorStateStatus !== 'member') {
    const since = facts.actorStateStatusSince ? ` since ${facts.actorStateStatusSince}` : '';
    const standing = facts.actorStateStatus
      ? `${actor.state} is ${facts.actorStateStatus === 'observer' ? 'an observer' : facts.actorStateStatus === 'guest' ? 'a guest' : 'a former member'}${since}`
      : `${actor.state} is not admitted to the network`;
    return forbidden('meeting-request/member-states-only', `only member states may ${what}; ${standing}`);
  }
  return undefined;
}

const SECRETARIAT_STEPS = {
  AcceptAdHocMeeting: 'accept',
  DeclineAdHocMeeting: 'decline',
  CancelAdHocMeeting: 'cancel',
  ConcludeAdHocMeeting: 'conclude',
} as const;

function decide(
  command: MeetingRequestCommand,
  state: MeetingRequestState,
): readonly MeetingRequestEvent[] | DomainError {
  const atProblem = checkInstant(command.at);
  if (atProblem) return invalid({ at: atProblem });
  if (command.type === 'RequestAdHocMeeting') return request(command, state);
  const missing = notFound('meeting-request/not-found', `no ad hoc meeting request ${command.requestId}`);
  if (!state.requested) return missing;
  const visibility = meetingVisibility(state);
  // A closed request does not exist for those outside it: on writes as on reads, never a 403 that says it does.
  if (!maySee(command.actor, visibility)) return missing;
  if (command.type in SECRETARIAT_STEPS && command.actor.role !== 'secretariat') {
    const step = SECRETARIAT_STEPS[command.type as keyof typeof SECRETARIAT_STEPS];
    return forbidden(
      'meeting-request/secretariat-only',
      `only the secretariat may ${step} an ad hoc meeting`,
    );
  }
  const wrongStatus = (allowed: MeetingRequestStatus, step: string) =>
    state.status === allowed
      ? undefined
      : ruleViolated(
          'meeting-request/lifecycle',
          `the request is ${state.status}; only ${allowed === 'accepted' ? 'an' : 'a'} ${allowed} request can be ${step}`,
        );
  switch (command.type) {
    case 'CoSponsorAdHocMeeting': {
      const refused = requireMember(command.actor, command.facts, 'co-sponsor an ad hoc meeting');
      if (refused) return refused;
      const code = command.actor.state!;
      if (code === state.requestedBy || state.coSponsors.includes(code)) {
        return conflict(
          'meeting-request/already-sponsor',
          `${code} already requests or co-sponsors this meeting`,
        );
      }
      const notOpen = wrongStatus('requested', 'co-sponsored');
      if (notOpen) return notOpen;
      // The new co-sponsor sees this event and every later one.
      const after = { ...state, coSponsors: [...state.coSponsors, code] };
      return [
        { type: 'AdHocMeetingCoSponsored', data: { state: code }, visibility: meetingVisibility(after) },
      ];
    }
    case 'WithdrawAdHocMeeting': {
      const code = command.actor.state;
      if (
        command.actor.role !== 'member-state' ||
        !code ||
        (code !== state.requestedBy && !state.coSponsors.includes(code))
      ) {
        return forbidden(
          'meeting-request/requesters-only',
          'only the requesting states may withdraw the request',
        );
      }
      const notOpen = wrongStatus('requested', 'withdrawn');
      if (notOpen) return notOpen;
      return [{ type: 'AdHocMeetingWithdrawn', data: { by: code }, visibility }];
    }
    case 'AcceptAdHocMeeting': {
      const bad = problems({
        scheduledFor: checkFuture(command.scheduledFor, command.at),
        venue: checkText(command.venue, 300),
      });
      if (bad) return invalid(bad);
      const notOpen = wrongStatus('requested', 'accepted');
      if (notOpen) return notOpen;
      return [
        {
          type: 'AdHocMeetingAccepted',
          data: { scheduledFor: command.scheduledFor, venue: command.venue },
          visibility,
        },
      ];
    }
    case 'DeclineAdHocMeeting': {
      const bad = problems({ reason: checkText(command.reason, 4_000) });
      if (bad) return invalid(bad);
      return (
        wrongStatus('requested', 'declined') ?? [
          { type: 'AdHocMeetingDeclined', data: { reason: command.reason }, visibility },
        ]
      );
    }
    case 'CancelAdHocMeeting': {
      const bad = problems({ reason: checkText(command.reason, 4_000) });
      if (bad) return invalid(bad);
      return (
        wrongStatus('accepted', 'cancelled') ?? [
          { type: 'AdHocMeetingCancelled', data: { reason: command.reason }, visibility },
        ]
      );
    }
    case 'ConcludeAdHocMeeting': {
      const bad = problems({ conclusions: checkText(command.conclusions, 20_000) });
      if (bad) return invalid(bad);
      const notAccepted = wrongStatus('accepted', 'concluded');
      if (notAccepted) return notAccepted;
      // Concluded on or after the scheduled date (both dated in UTC), never before the meeting was held.
      const scheduledOn = dateOf(state.scheduledFor!);
      const today = dateOf(command.at);
      if (today < scheduledOn) {
        return ruleViolated(
          'meeting-request/not-yet-held',
          `the meeting is scheduled for ${state.scheduledFor!} and today is ${today}: conclude it on or after ` +
            `${scheduledOn}, once it has been held, or cancel it if it will not take place`,
        );
      }
      return [{ type: 'AdHocMeetingConcluded', data: { conclusions: command.conclusions }, visibility }];
    }
    default:
      return exhaustive(command);
  }
}

function request(
  command: Extract<MeetingRequestCommand, { type: 'RequestAdHocMeeting' }>,
  state: MeetingRequestState,
): readonly MeetingRequestEvent[] | DomainError {
  const refused = requireMember(command.actor, command.facts, 'request an ad hoc meeting');
  if (refused) return refused;
  const dates = command.proposedDates;
  const bad = problems({
    requestId: checkUuid(command.requestId),
    subjectKind: checkOneOf(command.subjectKind, SUBJECT_KINDS),
    title: checkText(command.title, 300),
    summary: checkText(command.summary, 20_000),
    confidentiality: checkOneOf(command.confidentiality, CONFIDENTIALITY),
    proposedDates:
      !Array.isArray(dates) || dates.length === 0
        ? 'propose at least one date'
        : dates.map((date) => checkFuture(date, command.at)).find(Boolean),
    invitedStates: Array.isArray(command.invitedStates)
      ? command.invitedStates.map(checkCountry).find(Boolean)
      : 'must be a list of ISO 3166-1 codes',
    invitedOrganisations: Array.isArray(command.invitedOrganisations)
      ? command.invitedOrganisations.map(checkUuid).find(Boolean)
      : 'must be a list of organisation ids',
  });
  if (bad) return invalid(bad);
  if (state.requested)
    return conflict('meeting-request/exists', `ad hoc meeting request ${command.requestId} exists`);
  if (command.confidentiality === 'closed' && command.invitedOrganisations.length > 0) {
    return ruleViolated(
      'meeting-request/closed-no-organisations',
      'a closed ad hoc meeting cannot invite liaison organisations: make it open or invite states only',
    );
  }
  const guests = command.invitedStates.filter((code) => command.facts.guestStates.includes(code));
  if (command.confidentiality === 'closed' && guests.length > 0) {
    return ruleViolated(
      'meeting-request/closed-no-guests',
      `${guests.join(', ')} ${guests.length > 1 ? 'are guest states' : 'is a guest state'}: a closed ad hoc ` +
        'meeting is for member and observer states; make it open or leave the guest states out',
    );
  }
  const unknown = unknownOrganisationsRefused(
    'meeting-request/unknown-organisation',
    command.facts.unknownOrganisations,
  );
  if (unknown) return unknown;
  const suspended = command.invitedOrganisations.find((id) =>
    command.facts.suspendedOrganisations.includes(id),
  );
  if (suspended) {
    return ruleViolated(
      'meeting-request/organisation-suspended',
      `liaison organisation ${suspended} is suspended and cannot be invited`,
    );
  }
  const {
    requestId,
    subjectKind,
    title,
    summary,
    confidentiality,
    proposedDates,
    invitedStates,
    invitedOrganisations,
  } = command;
  const data = {
    requestId,
    requestedBy: command.actor.state!,
    subjectKind,
    title,
    summary,
    confidentiality,
    proposedDates,
    invitedStates,
    invitedOrganisations,
  };
  const visibility = meetingVisibility({ ...data, coSponsors: [] });
  return [{ type: 'AdHocMeetingRequested', data, visibility }];
}

function evolve(state: MeetingRequestState, event: MeetingRequestEvent): MeetingRequestState {
  if (event.type === 'AdHocMeetingRequested') {
    return { requested: true, ...event.data, coSponsors: [], status: 'requested' };
  }
  if (!state.requested) return state;
  switch (event.type) {
    case 'AdHocMeetingCoSponsored':
      return { ...state, coSponsors: [...state.coSponsors, event.data.state] };
    case 'AdHocMeetingAccepted':
      return { ...state, status: 'accepted', scheduledFor: event.data.scheduledFor };
    case 'AdHocMeetingDeclined':
      return { ...state, status: 'declined' };
    case 'AdHocMeetingWithdrawn':
      return { ...state, status: 'withdrawn' };
    case 'AdHocMeetingCancelled':
      return { ...state, status: 'cancelled' };
    case 'AdHocMeetingConcluded':
      return { ...state, status: 'concluded' };
    default:
      return unknownEvent(event, state);
  }
}

export const meetingRequestDecider: Decider<MeetingRequestCommand, MeetingRequestState, MeetingRequestEvent> =
  {
    initialState: { requested: false },
    evolve,
    decide,
    opensStream: (command) => command.type === 'RequestAdHocMeeting',
  };
