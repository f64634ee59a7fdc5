import { participantOf, type Actor, type ParticipantRef } from './principal.js';
import { parseStreamId } from './streams.js';

/**
 * Who may see an event; every event states its own, decided here in the domain (SPEC §1). A restricted item
 * that is also closed (a closed thread, a closed ad hoc meeting) says so: a participant who may not see closed
 * information (a state that became a guest) then no longer sees it.
 */
export type Visibility =
  | { level: 'open' }
  | { level: 'closed' }
  | { level: 'restricted'; participants: ParticipantRef[]; closed?: boolean };

export const open: Visibility = { level: 'open' };
export const closed: Visibility = { level: 'closed' };
export const restrictedTo = (
  participants: Iterable<ParticipantRef>,
  options: { closed?: boolean } = {},
): Visibility => ({
  level: 'restricted',
  participants: [...new Set(participants)].sort(),
  // Said whenever the caller decided it (threads, meeting requests), so that an event without it is one recorded
  // before the marker, which readers can then tell apart.
  ...(options.closed !== undefined ? { closed: options.closed } : {}),
});

/**
 * The one answer to "may this principal see this?", used by every read path, for a principal in good
 * standing (see `principalStanding`: one that is not is refused everything first).
 * - open: every authenticated principal;
 * - closed: the secretariat, member and observer states, auditors; never a liaison organisation or a guest
 *   state;
 * - restricted: the named participants, the secretariat and auditors; if the item is also closed, only those
 *   participants who may see closed information.
 */
export function maySee(viewer: Actor, visibility: Visibility): boolean {
  switch (visibility.level) {
    case 'open':
      return true;
    case 'closed':
      return maySeeClosed(viewer);
    case 'restricted': {
      if (maySeeEverything(viewer)) return true;
      if (visibility.closed === true && !maySeeClosed(viewer)) return false;
      const self = participantOf(viewer);
      return self !== undefined && visibility.participants.includes(self);
    }
  }
}

/**
 * Whether `viewer` may see every event of the log (the secretariat, auditors): only they may be shown the log's
 * own positions, since the distance between two positions counts the events between them, those others may not
 * see included (SPEC §1: no count reveals what one may not see).
 */
export function maySeeEverything(viewer: Actor): boolean {
  return viewer.role === 'secretariat' || viewer.role === 'auditor';
}

function maySeeClosed(viewer: Actor): boolean {
  return viewer.role !== 'liaison-organisation' && viewer.role !== 'guest-state';
}

/**
 * The visibility of a recorded event, with the closed marker read into events recorded before it where the event
 * itself says the item is closed: a restricted meeting-request event is always a closed request's (an open one
 * is open), and a ThreadOpened names its thread's visibility. A later event of a closed thread recorded before
 * the marker cannot be told apart by the event alone: paths that have the thread's row decide from it instead.
 * A liaison organisation's suspension was recorded closed before its reason became a closed field of an open
 * event (closedFieldsOfOpenEvents): read as open, as it is now, so that its stream's versions have no gap.
 */
export function recordedVisibility(event: {
  streamId: string;
  type: string;
  data: Readonly<Record<string, unknown>>;
  visibility: Visibility;
}): Visibility {
  const { visibility } = event;
  if (event.type === 'LiaisonOrganisationSuspended' && visibility.level === 'closed') return open;
  if (visibility.level !== 'restricted' || visibility.closed !== undefined) return visibility;
  const category = parseStreamId(event.streamId)?.category;
  const closed =
    category === 'meeting-request' ||
    (category === 'thread' && event.type === 'ThreadOpened' && event.data.visibility === 'closed');
  return closed ? { ...visibility, closed: true } : visibility;
}

/**
 * Contact-point fields by visibility: name and authority are open; e-mail, phone, notes and the reason a
 * contact point was retired (it may concern the person) closed.
 */
export const contactPointFieldVisibility = {
  fullName: open,
  authority: open,
  role: open,
  languages: open,
  expertise: open,
  email: closed,
  phone: closed,
  notes: closed,
  retirementReason: closed,
} as const satisfies Record<string, Visibility>;

export type ContactPointField = keyof typeof contactPointFieldVisibility;

export function maySeeField(viewer: Actor, field: ContactPointField): boolean {
  return maySee(viewer, contactPointFieldVisibility[field]);
}

/**
 * Fields of open events that are closed, by event type: those who may not see closed information receive the
 * event without them (SSE, webhooks). A contact point's personal fields are listed in contactPointFieldVisibility.
 */
export const closedFieldsOfOpenEvents: Readonly<Record<string, readonly string[]>> = {
  LiaisonOrganisationSuspended: ['reason'],
};

/** `data` without the closed fields of an open event of `type`: itself when it has none. */
export function withoutClosedFields<T extends Readonly<Record<string, unknown>>>(type: string, data: T): T {
  const fields = closedFieldsOfOpenEvents[type];
  if (!fields?.some((field) => field in data)) return data;
  return Object.fromEntries(Object.entries(data).filter(([field]) => !fields.includes(field))) as T;
}
