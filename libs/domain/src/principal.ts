export type Role = 'secretariat' | 'member-state' | 'observer-state' | 'liaison-organisation' | 'auditor';

/** Who issues a command or reads an event: the claims of their token. */
export interface Actor {
  principal: string;
  role: Role;
  /** ISO 3166-1 alpha-2, for member-state and observer-state. */
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
      return actor.state ? stateRef(actor.state) : undefined;
    case 'liaison-organisation':
      return actor.organisation ? organisationRef(actor.organisation) : undefined;
    case 'auditor':
      return undefined;
  }
}

export const isStateRole = (actor: Actor) => actor.role === 'member-state' || actor.role === 'observer-state';
