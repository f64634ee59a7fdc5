import type { MeetingRequestRow } from '../read-models/rows.js';

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
