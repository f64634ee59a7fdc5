import { participantOf, type Actor, type ParticipantRef } from './principal.js';

/** Who may see an event; every event states its own, decided here in the domain (SPEC §1). */
export type Visibility =
  { level: 'open' } | { level: 'closed' } | { level: 'restricted'; participants: ParticipantRef[] };

export const open: Visibility = { level: 'open' };
export const closed: Visibility = { level: 'closed' };
export const restrictedTo = (participants: Iterable<ParticipantRef>): Visibility => ({
  level: 'restricted',
  participants: [...new Set(participants)].sort(),
});

/**
 * The one answer to "may this principal see this?", used by every read path, for a principal in good
 * standing (see `principalStanding`: one that is not is refused everything first).
 * - open: every authenticated principal;
 * - closed: the secretariat, member and observer states, auditors; never a liaison organisation or a guest
 *   state;
 * - restricted: the named participants, the secretariat and auditors.
 */
export function maySee(viewer: Actor, visibility: Visibility): boolean {
  switch (visibility.level) {
    case 'open':
      return true;
    case 'closed':
      return viewer.role !== 'liaison-organisation' && viewer.role !== 'guest-state';
    case 'restricted': {
      if (viewer.role === 'secretariat' || viewer.role === 'auditor') return true;
      const self = participantOf(viewer);
      return self !== undefined && visibility.participants.includes(self);
    }
  }
}

/** Contact-point fields by visibility: name and authority are open; e-mail, phone and notes closed. */
export const contactPointFieldVisibility = {
  fullName: open,
  authority: open,
  role: open,
  languages: open,
  expertise: open,
  email: closed,
  phone: closed,
  notes: closed,
} as const satisfies Record<string, Visibility>;

export type ContactPointField = keyof typeof contactPointFieldVisibility;

export function maySeeField(viewer: Actor, field: ContactPointField): boolean {
  return maySee(viewer, contactPointFieldVisibility[field]);
}
