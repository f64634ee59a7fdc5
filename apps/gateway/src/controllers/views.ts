import { isStaleEntry, maySeeField, standingOn, type Actor } from '@focal/domain';

import type {
  ListedContactPoint,
  MeetingRequestRow,
  MessageRow,
  OrganisationRow,
  StateRow,
  ThreadRow,
} from '../read-models/read-models.js';

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
    version: row.version,
  };
}

export const meetingRequestView = (row: MeetingRequestRow) => ({
  id: row.id,
  requestedBy: row.requested_by,
  coSponsors: row.co_sponsors,
  subjectKind: row.subject_kind,
  title: row.title,
  summary: row.summary,
  confidentiality: row.confidentiality,
  proposedDates: row.proposed_dates,
  invitedStates: row.invited_states,
  invitedOrganisations: row.invited_organisations,
  status: row.status,
  ...(row.scheduled_for ? { scheduledFor: row.scheduled_for, venue: row.venue } : {}),
  ...(row.outcome ? { outcome: row.outcome } : {}),
  version: row.version,
});

export const messageView = (row: MessageRow) => ({
  id: row.message_id,
  author: row.author,
  body: row.body,
  handlingCode: row.handling_code,
  ...(row.handling_note ? { handlingNote: row.handling_note } : {}),
  attachments: row.attachments,
  postedAt: row.posted_at,
  deliveredTo: row.delivered_to,
  readBy: row.read_by,
});

export const threadView = (row: ThreadRow & { overdue?: boolean; unread?: number }) => ({
  id: row.id,
  subject: row.subject,
  visibility: row.visibility,
  participants: row.participants,
  openedBy: row.opened_by,
  ...(row.reply_by ? { urgent: true, replyBy: row.reply_by } : { urgent: false }),
  answered: row.answered,
  ...(row.overdue !== undefined ? { overdue: row.overdue } : {}),
  ...(row.unread !== undefined ? { unread: row.unread } : {}),
  lastActivity: row.last_activity,
  version: row.version,
});
