import { ruleViolated } from './errors.js';

export const ROLES = [
  'secretariat',
  'member-state',
  'observer-state',
  'guest-state',
  'liaison-organisation',
  'auditor',
] as const;
export type Role = (typeof ROLES)[number];

/** Who issues a command or reads an event: the claims of their token. */
export interface Actor {
  principal: string;
  role: Role;
  /** ISO 3166-1 alpha-2, for member-state, observer-state and guest-state. */
  state?: string;
  /** Liaison organisation id, for liaison-organisation. */
  organisation?: string;
}

/**
 * How participants are named in threads and restricted events: `state:FR`, `organisation:<uuid>`,
 * `secretariat`.
 */
export type ParticipantRef = `state:${string}` | `organisation:${string}` | 'secretariat';

export const stateRef = (code: string): ParticipantRef => `state:${code}`;
export const organisationRef = (id: string): ParticipantRef => `organisation:${id}`;

/** The participant an actor acts as; auditors take part in nothing. */
export function participantOf(actor: Actor): ParticipantRef | undefined {
  switch (actor.role) {
    case 'secretariat':
      return 'secretariat';
    case 'member-state':
    case 'observer-state':
    case 'guest-state':
      return actor.state ? stateRef(actor.state) : undefined;
    case 'liaison-organisation':
      return actor.organisation ? organisationRef(actor.organisation) : undefined;
    case 'auditor':
      return undefined;
  }
}

/** Member and observer states keep contact points and take part in closed exchanges; guest states do not. */
export const isStateRole = (actor: Actor) => actor.role === 'member-state' || actor.role === 'observer-state';

/**
 * Who a caller is, whole: role, state or organisation, and subject. What a caller owns (idempotency keys,
 * webhooks) is scoped by this, so that two tokens sharing a `sub` (FR's and IT's) never share anything.
 */
export function principalKey(
  actor: Pick<Actor, 'principal' | 'state' | 'organisation'> & { role: string },
): string {
  return `${actor.role}/${actor.state ?? actor.organisation ?? '-'}/${actor.principal}`;
}

/** Organisation ids the directory never registered, refused under `reason`; undefined when there are none. */
export const unknownOrganisationsRefused = (reason: string, ids: readonly string[] = []) =>
  ids.length === 0
    ? undefined
    : ruleViolated(
        reason,
        `${ids.join(', ')}: no liaison organisation of the directory has ${ids.length > 1 ? 'these ids' : 'this id'}; ` +
          'GET /v1/liaison-organisations lists them',
      );
