import { fold, type DomainEvent } from './decider.js';
import {
  liaisonOrganisationDecider,
  liaisonOrganisationStreamId,
  type LiaisonOrganisationEvent,
} from './liaison-organisation/liaison-organisation.js';
import type { Actor, Role } from './principal.js';
import {
  stateDecider,
  standingOn,
  stateStreamId,
  type StateEvent,
  type StateStatus,
  type StatusEntry,
} from './state/state.js';

/**
 * What the directory holds of a principal's own state or organisation, now: all that its standing depends on.
 * Absent: the directory does not know it.
 */
export interface PrincipalRecord {
  state?: { code: string; history: readonly StatusEntry[] };
  organisation?: { id: string; acronym: string; suspended: boolean };
}

export type PrincipalStanding =
  { inGoodStanding: true } | { inGoodStanding: false; reason: string; message: string };

/** The status a state needs for each state role: the token's role must match the directory. */
const STATUS_OF_ROLE: Partial<Record<Role, StateStatus>> = {
  'member-state': 'member',
  'observer-state': 'observer',
  'guest-state': 'guest',
};

/** "a member", "an observer": a word with its article, as the messages name statuses and roles. */
const withArticle = (word: string) => `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;
const described = (status: StateStatus) => withArticle(status);

const refused = (reason: string, message: string): PrincipalStanding => ({
  inGoodStanding: false,
  reason: `principal/${reason}`,
  message,
});

/**
 * Whether a principal stands in the network on `date` (YYYY-MM-DD): a state admitted by then whose status in
 * force that day matches the token's role, an organisation in the directory and not suspended. Asked at every
 * request and at every delivery of a live stream or a webhook, so that a state that leaves, or an organisation
 * that is suspended, stops receiving at once, and one reinstated receives again.
 */
export function principalStanding(actor: Actor, record: PrincipalRecord, date: string): PrincipalStanding {
  const wanted = STATUS_OF_ROLE[actor.role];
  if (wanted) {
    const state = record.state;
    if (!state || state.history.length === 0) {
      return refused('unknown-state', `${actor.state} is not admitted to the network`);
    }
    const { current, pending } = standingOn(state.history, date);
    const change = pending[0];
    const next = !change
      ? ''
      : change.status === 'former'
        ? ` (it leaves the network on ${change.from})`
        : ` (it becomes ${described(change.status)} state on ${change.from})`;
    if (!current) {
      return refused(
        'unknown-state',
        `${state.code} is admitted to the network from ${change!.from}: its principals are refused until then`,
      );
    }
    if (current.status === 'former') {
      return refused(
        'former-state',
        `${state.code} left the network on ${current.from}: its principals are refused${next}`,
      );
    }
    if (current.status !== wanted) {
      return refused(
        'role-mismatch',
        `${state.code} is ${described(current.status)} state: ${withArticle(actor.role)} token does not match; ` +
          `get ${withArticle(roleFor(current.status))} token${next}`,
      );
    }
    return { inGoodStanding: true };
  }
  if (actor.role === 'liaison-organisation') {
    const organisation = record.organisation;
    if (!organisation) {
      return refused(
        'unknown-organisation',
        `liaison organisation ${actor.organisation} is not in the directory`,
      );
    }
    if (organisation.suspended) {
      return refused(
        'organisation-suspended',
        `${organisation.acronym} is suspended: its principals are refused until it is reinstated`,
      );
    }
  }
  return { inGoodStanding: true };
}

function roleFor(status: StateStatus): Role {
  return (Object.entries(STATUS_OF_ROLE).find(([, wanted]) => wanted === status)?.[0] ??
    'member-state') as Role;
}

/**
 * The events of a standing stream (standingStreamOf): a reader of the log that takes only some types must take
 * these too, so that it learns at once of a change to its principal's standing.
 */
export const STANDING_EVENT_TYPES = [
  'StateAdmitted',
  'StateStatusChanged',
  'LiaisonOrganisationRegistered',
  'LiaisonOrganisationDetailsChanged',
  'LiaisonOrganisationSuspended',
  'LiaisonOrganisationReinstated',
] as const satisfies readonly (StateEvent | LiaisonOrganisationEvent)['type'][];

/** The stream that holds a principal's own standing: its state's, or its organisation's; none for others. */
export function standingStreamOf(actor: Actor): string | undefined {
  if (STATUS_OF_ROLE[actor.role] && actor.state) return stateStreamId(actor.state);
  if (actor.role === 'liaison-organisation' && actor.organisation) {
    return liaisonOrganisationStreamId(actor.organisation);
  }
  return undefined;
}

/** The record of a principal, folded by the domain's own deciders from its standing stream's events. */
export function principalRecordOf(actor: Actor, events: readonly DomainEvent[]): PrincipalRecord {
  if (STATUS_OF_ROLE[actor.role]) {
    const state = fold(stateDecider, events as StateEvent[]);
    return state.admitted ? { state: { code: state.code, history: state.history } } : {};
  }
  if (actor.role === 'liaison-organisation') {
    const organisation = fold(liaisonOrganisationDecider, events as LiaisonOrganisationEvent[]);
    return organisation.registered
      ? {
          organisation: {
            id: organisation.organisationId,
            acronym: organisation.acronym,
            suspended: organisation.suspended,
          },
        }
      : {};
  }
  return {};
}
