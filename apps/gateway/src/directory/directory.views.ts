import { closed, isStaleEntry, maySee, maySeeField, standingOn, type Actor } from '@focal/domain';

import type { ListedContactPoint, OrganisationRow, StateRow } from '../read-models/rows.js';

/** What clients receive: read-model rows shaped for them, with each field only where the caller may see it. */

const todayUtc = () => new Date().toISOString().slice(0, 10);

/**
 * A state as it stands today: the status in force and since when (null before its admission takes effect),
 * the changes recorded to take effect later (`pending`), and the whole history.
 */
export function stateView(row: StateRow, today = todayUtc()) {
  const { current, pending } = standingOn(row.history, today);
  return {
    code: row.code,
    name: row.name,
    status: current?.status ?? null,
    since: current?.from ?? null,
    pending,
    history: row.history,
    version: row.version,
  };
}

export const organisationView = (row: OrganisationRow) => ({
  id: row.id,
  name: row.name,
  acronym: row.acronym,
  kind: row.kind,
  suspended: row.suspended,
  version: row.version,
});

export function contactPointView(row: ListedContactPoint, viewer: Actor, today = todayUtc()) {
  // Erased once the key is gone: at once, before the erasure itself reaches the read model.
  const erased = row.personal === null;
  const closedField = (field: 'email' | 'phone' | 'notes') => {
    const value = row.personal?.[field];
    return maySeeField(viewer, field) && value !== undefined ? { [field]: value } : {};
  };
  return {
    id: row.id,
    ...(row.state ? { state: row.state } : { organisation: row.organisation }),
    fullName: row.personal?.fullName ?? null,
    ...closedField('email'),
    ...closedField('phone'),
    ...closedField('notes'),
    ...(erased
      ? { personalData: { erased: true, ...(row.erased_on ? { erasedOn: row.erased_on } : {}) } }
      : {}),
    role: row.role,
    authority: row.authority,
    languages: row.languages,
    expertise: row.expertise,
    primary: row.is_primary,
    status: row.status,
    lastConfirmedOn: row.last_confirmed_on,
    stale: isStaleEntry({ status: row.status, erased, lastConfirmedOn: row.last_confirmed_on }, today),
    // It counts the changes of closed fields too (versionsCountClosedEvents).
    ...(maySee(viewer, closed) ? { version: row.version } : {}),
  };
}
