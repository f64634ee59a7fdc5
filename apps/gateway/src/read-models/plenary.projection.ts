import { streamPrefix, type PlenaryMeetingEvent } from '@focal/domain';
import { type EventHandlers, type RecordedAs, type RecordedEvent, type SqlQueryable } from '@focal/events';

import { BatchProjection, entityIdOf, foldBatch, FoldedRows } from './batch-rows.js';
import type { PlenaryAgendaItemRow, PlenaryDelegateRow, PlenaryMeetingRow } from './rows.js';

/** What one batch folds, in memory: the rows it touches, agenda items and delegates keyed `<meeting>/<id>`. */
interface PlenaryFold {
  meetings: FoldedRows<PlenaryMeetingRow>;
  agenda: FoldedRows<PlenaryAgendaItemRow>;
  delegates: FoldedRows<PlenaryDelegateRow>;
}

function updateDelegate(
  event: RecordedAs<PlenaryMeetingEvent> & { data: { delegateId: string } },
  fold: PlenaryFold,
  changes: Partial<PlenaryDelegateRow>,
): void {
  fold.delegates.change(`${entityIdOf(event)}/${event.data.delegateId}`, changes);
  // Every event moves its meeting's version, so that the meeting's ETag is its stream's.
  fold.meetings.changeFor(event, {});
}

const HANDLERS: EventHandlers<PlenaryMeetingEvent, PlenaryFold> = {
  PlenaryMeetingConvened: (event, fold) => {
    const id = entityIdOf(event);
    const { data } = event;
    fold.meetings.add(id, {
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
  },
  PlenaryAgendaItemAdded: (event, fold) => {
    fold.agenda.add(`${entityIdOf(event)}/${event.data.itemId}`, {
      meeting_id: entityIdOf(event),
      item_id: event.data.itemId,
      seq: event.streamVersion,
      session: event.data.session,
      title: event.data.title,
      summary: event.data.summary ?? null,
    });
    fold.meetings.changeFor(event, {});
  },
  PlenaryDelegateRegistered: (event, fold) => {
    const { data } = event;
    fold.delegates.add(`${entityIdOf(event)}/${data.delegateId}`, {
      meeting_id: entityIdOf(event),
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
    fold.meetings.changeFor(event, {});
  },
  PlenaryDelegateWithdrawn: (event, fold) => updateDelegate(event, fold, { withdrawn: true }),
  PlenaryAttendanceRecorded: (event, fold) => updateDelegate(event, fold, { attended: true }),
  PlenaryConclusionsPublished: (event, fold) =>
    fold.meetings.changeFor(event, {
      status: 'concluded',
      conclusions: event.data.text,
      topics: event.data.topics,
    }),
  PlenaryMeetingCancelled: (event, fold) =>
    fold.meetings.changeFor(event, { status: 'cancelled', cancel_reason: event.data.reason }),
};

/**
 * Plenary meetings, their agendas and delegates (with attendance) as clients read them. Agenda items and
 * delegates keep their session; reads ask the domain's `maySee` of the session's visibility, so the closed
 * session's rows never reach who may not see them.
 */
export class PlenaryProjection extends BatchProjection {
  readonly filter = { streamPrefixes: [streamPrefix('plenary-meeting')] };

  constructor(schema: string) {
    super('plenary', schema);
  }

  protected tables(schema: string): string {
    return `
      CREATE TABLE IF NOT EXISTS ${schema}.plenary_meetings (
        id text PRIMARY KEY, number integer NOT NULL, title text NOT NULL, theme text NOT NULL,
        starts_on text NOT NULL, ends_on text NOT NULL, venue text NOT NULL, presidency text NOT NULL,
        status text NOT NULL, cancel_reason text, conclusions text, topics text[] NOT NULL, version integer NOT NULL);
      CREATE TABLE IF NOT EXISTS ${schema}.plenary_agenda_items (
        meeting_id text NOT NULL, item_id text NOT NULL, seq integer NOT NULL, session text NOT NULL,
        title text NOT NULL, summary text, PRIMARY KEY (meeting_id, item_id));
      CREATE TABLE IF NOT EXISTS ${schema}.plenary_delegates (
        meeting_id text NOT NULL, delegate_id text NOT NULL, seq integer NOT NULL, session text NOT NULL,
        participant text NOT NULL, kind text NOT NULL, country text, contact_point_id text, name text,
        withdrawn boolean NOT NULL, attended boolean NOT NULL, PRIMARY KEY (meeting_id, delegate_id));
      ALTER TABLE ${schema}.plenary_delegates ALTER COLUMN name DROP NOT NULL;
      UPDATE ${schema}.plenary_delegates SET name = NULL WHERE contact_point_id IS NOT NULL AND name IS NOT NULL;`;
  }

  async applyBatch(tx: SqlQueryable, events: readonly RecordedEvent[]): Promise<void> {
    const s = this.schema;
    const meetingIds = new Set(events.map(entityIdOf));
    const delegateIds = new Set(
      events.flatMap((event) => (typeof event.data.delegateId === 'string' ? [event.data.delegateId] : [])),
    );
    const fold: PlenaryFold = {
      meetings: await FoldedRows.load(tx, `${s}.plenary_meetings`, ['id'], meetingIds),
      // Agenda items are only ever added, and each once (the decider refuses a second): no need to load them.
      agenda: new FoldedRows(`${s}.plenary_agenda_items`, ['meeting_id', 'item_id']),
      delegates: await FoldedRows.load(
        tx,
        `${s}.plenary_delegates`,
        ['meeting_id', 'delegate_id'],
        meetingIds,
        delegateIds,
      ),
    };
    await foldBatch(tx, HANDLERS, events, fold);
  }
}
