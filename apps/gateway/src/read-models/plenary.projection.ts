import { parseStreamId, streamPrefix, type PlenaryMeetingEvent } from '@focal/domain';
import {
  foldEvent,
  type EventHandlers,
  type RecordedAs,
  type RecordedEvent,
  type SqlProjection,
  type SqlQueryable,
} from '@focal/events';

import { loadRows, writeRows } from './batch-rows.js';
import type { PlenaryAgendaItemRow, PlenaryDelegateRow, PlenaryMeetingRow } from './rows.js';

/** What one batch folds, in memory: the rows it touches, agenda items and delegates keyed `<meeting>/<id>`. */
interface PlenaryFold {
  meetings: Map<string, PlenaryMeetingRow>;
  agenda: Map<string, PlenaryAgendaItemRow>;
  delegates: Map<string, PlenaryDelegateRow>;
  touched: { meetings: Set<string>; agenda: Set<string>; delegates: Set<string> };
}

const idOf = (event: { streamId: string }) => parseStreamId(event.streamId)!.id;

/** Every event moves its meeting's version, so that the meeting's ETag is its stream's. */
function touchMeeting(
  event: RecordedAs<PlenaryMeetingEvent>,
  fold: PlenaryFold,
  changes: Partial<PlenaryMeetingRow> = {},
): void {
  const id = idOf(event);
  const row = fold.meetings.get(id);
  if (!row) return;
  fold.meetings.set(id, { ...row, ...changes, version: event.streamVersion });
  fold.touched.meetings.add(id);
}

function updateDelegate(
  event: RecordedAs<PlenaryMeetingEvent> & { data: { delegateId: string } },
  fold: PlenaryFold,
  changes: Partial<PlenaryDelegateRow>,
): void {
  const key = `${idOf(event)}/${event.data.delegateId}`;
  const row = fold.delegates.get(key);
  if (row) {
    fold.delegates.set(key, { ...row, ...changes });
    fold.touched.delegates.add(key);
  }
  touchMeeting(event, fold);
}

const HANDLERS: EventHandlers<PlenaryMeetingEvent, PlenaryFold> = {
  PlenaryMeetingConvened: (event, fold) => {
    const id = idOf(event);
    if (fold.meetings.has(id)) return;
    const { data } = event;
    fold.meetings.set(id, {
      id,
      number: data.number,
      title: data.title,
      theme: data.theme,
      starts_on: data.startsOn,
      ends_on: data.endsOn,
      venue: data.venue,
      presidency: data.presidency,
      status: 'convened',
      cancel_reason: null,
      conclusions: null,
      topics: [],
      version: event.streamVersion,
    });
    fold.touched.meetings.add(id);
  },
  PlenaryAgendaItemAdded: (event, fold) => {
    const key = `${idOf(event)}/${event.data.itemId}`;
    if (!fold.agenda.has(key)) {
      fold.agenda.set(key, {
        meeting_id: idOf(event),
        item_id: event.data.itemId,
        seq: event.streamVersion,
        session: event.data.session,
        title: event.data.title,
        summary: event.data.summary ?? null,
      });
      fold.touched.agenda.add(key);
    }
    touchMeeting(event, fold);
  },
  PlenaryDelegateRegistered: (event, fold) => {
    const { data } = event;
    const key = `${idOf(event)}/${data.delegateId}`;
    if (!fold.delegates.has(key)) {
      fold.delegates.set(key, {
        meeting_id: idOf(event),
        delegate_id: data.delegateId,
        seq: event.streamVersion,
        session: data.session,
        participant: data.participant,
        kind: data.kind,
        country: data.country ?? null,
        contact_point_id: data.contactPointId ?? null,
        // Never a contact point's name, even from an event recorded before it was left out (SPEC §6).
        name: data.contactPointId ? null : (data.name ?? null),
        withdrawn: false,
        attended: false,
      });
      fold.touched.delegates.add(key);
    }
    touchMeeting(event, fold);
  },
  PlenaryDelegateWithdrawn: (event, fold) => updateDelegate(event, fold, { withdrawn: true }),
  PlenaryAttendanceRecorded: (event, fold) => updateDelegate(event, fold, { attended: true }),
  PlenaryConclusionsPublished: (event, fold) =>
    touchMeeting(event, fold, {
      status: 'concluded',
      conclusions: event.data.text,
      topics: event.data.topics,
    }),
  PlenaryMeetingCancelled: (event, fold) =>
    touchMeeting(event, fold, { status: 'cancelled', cancel_reason: event.data.reason }),
};

/**
 * Plenary meetings, their agendas and delegates (with attendance) as clients read them. Agenda items and
 * delegates keep their session; reads ask the domain's `maySee` of the session's visibility, so the closed
 * session's rows never reach who may not see them.
 */
export class PlenaryProjection implements SqlProjection {
  readonly name: string;
  readonly filter = { streamPrefixes: [streamPrefix('plenary-meeting')] };

  constructor(readonly schema: string) {
    this.name = `gateway.plenary.${schema}`;
  }

  async setUp(sql: SqlQueryable): Promise<void> {
    await sql.exec(`
      CREATE SCHEMA IF NOT EXISTS ${this.schema};
      CREATE TABLE IF NOT EXISTS ${this.schema}.plenary_meetings (
        id text PRIMARY KEY, number integer NOT NULL, title text NOT NULL, theme text NOT NULL,
        starts_on text NOT NULL, ends_on text NOT NULL, venue text NOT NULL, presidency text NOT NULL,
        status text NOT NULL, cancel_reason text, conclusions text, topics text[] NOT NULL, version integer NOT NULL);
      CREATE TABLE IF NOT EXISTS ${this.schema}.plenary_agenda_items (
        meeting_id text NOT NULL, item_id text NOT NULL, seq integer NOT NULL, session text NOT NULL,
        title text NOT NULL, summary text, PRIMARY KEY (meeting_id, item_id));
      CREATE TABLE IF NOT EXISTS ${this.schema}.plenary_delegates (
        meeting_id text NOT NULL, delegate_id text NOT NULL, seq integer NOT NULL, session text NOT NULL,
        participant text NOT NULL, kind text NOT NULL, country text, contact_point_id text, name text,
        withdrawn boolean NOT NULL, attended boolean NOT NULL, PRIMARY KEY (meeting_id, delegate_id));
      ALTER TABLE ${this.schema}.plenary_delegates ALTER COLUMN name DROP NOT NULL;
      UPDATE ${this.schema}.plenary_delegates SET name = NULL WHERE contact_point_id IS NOT NULL AND name IS NOT NULL;`);
  }

  apply(tx: SqlQueryable, event: RecordedEvent): Promise<void> {
    return this.applyBatch(tx, [event]);
  }

  /** Folds the batch into the rows it touches, in log order, and writes each once (see batch-rows.ts). */
  async applyBatch(tx: SqlQueryable, events: readonly RecordedEvent[]): Promise<void> {
    const s = this.schema;
    const meetingIds = new Set(events.map(idOf));
    const delegateIds = new Set(
      events.flatMap((event) => (typeof event.data.delegateId === 'string' ? [event.data.delegateId] : [])),
    );
    const meetings = await loadRows<PlenaryMeetingRow>(tx, `${s}.plenary_meetings`, 'id', meetingIds);
    const delegates = new Map<string, PlenaryDelegateRow>();
    if (delegateIds.size > 0) {
      const rows = await tx.query<PlenaryDelegateRow>(
        `SELECT * FROM ${s}.plenary_delegates WHERE meeting_id = ANY($1::text[]) AND delegate_id = ANY($2::text[])`,
        [[...meetingIds], [...delegateIds]],
      );
      for (const row of rows) delegates.set(`${row.meeting_id}/${row.delegate_id}`, row);
    }
    // Agenda items are only ever added, and each once (the decider refuses a second): no need to load them.
    const agenda = new Map<string, PlenaryAgendaItemRow>();
    const touched = { meetings: new Set<string>(), agenda: new Set<string>(), delegates: new Set<string>() };
    const fold: PlenaryFold = { meetings, agenda, delegates, touched };
    for (const event of events) foldEvent(HANDLERS, event, fold);

    const rows = <T>(map: Map<string, T>, keys: Set<string>) => [...keys].map((key) => map.get(key)!);
    await writeRows(tx, `${s}.plenary_meetings`, ['id'], rows(meetings, touched.meetings));
    await writeRows(tx, `${s}.plenary_agenda_items`, ['meeting_id', 'item_id'], rows(agenda, touched.agenda));
    await writeRows(
      tx,
      `${s}.plenary_delegates`,
      ['meeting_id', 'delegate_id'],
      rows(delegates, touched.delegates),
    );
  }
}
