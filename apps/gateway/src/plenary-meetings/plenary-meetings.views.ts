import type { PlenaryAgendaItemRow, PlenaryDelegateRow, PlenaryMeetingRow } from '../read-models/rows.js';

export const plenaryMeetingView = (row: PlenaryMeetingRow) => ({
  id: row.id,
  number: row.number,
  title: row.title,
  theme: row.theme,
  startsOn: row.starts_on,
  endsOn: row.ends_on,
  venue: row.venue,
  presidency: row.presidency,
  status: row.status,
  ...(row.cancel_reason ? { cancellationReason: row.cancel_reason } : {}),
  ...(row.conclusions !== null ? { conclusions: { text: row.conclusions, topics: row.topics } } : {}),
});

export const agendaItemView = (row: PlenaryAgendaItemRow) => ({
  id: row.item_id,
  session: row.session,
  title: row.title,
  ...(row.summary !== null ? { summary: row.summary } : {}),
});

export const delegateView = (row: PlenaryDelegateRow) => ({
  id: row.delegate_id,
  session: row.session,
  participant: row.participant,
  kind: row.kind,
  ...(row.country ? { country: row.country } : {}),
  ...(row.contact_point_id ? { contactPointId: row.contact_point_id } : {}),
  name: row.name,
  attended: row.attended,
});
