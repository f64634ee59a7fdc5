import type { RecordedEvent, SqlProjection, SqlQueryable } from '@focal/events';

import { loadRows, writeRows } from './batch-rows.js';
import type { MeetingRequestRow, MessageRow, ThreadRow } from './read-models.js';

type Data = Record<string, unknown>;
const REQUEST = 'meeting-request-';
const THREAD = 'thread-';

/**
 * Ad hoc meeting requests and threads as clients read them. Each row keeps the visibility of its latest
 * event, which the domain decided (a closed request widens to each new co-sponsor), so reads filter with the
 * domain's own `maySee`.
 */
export class MessagingProjection implements SqlProjection {
  readonly name: string;
  readonly filter = { streamPrefixes: ['meeting-request-', 'thread-'] };

  constructor(readonly schema: string) {
    this.name = `gateway.messaging.${schema}`;
  }

  async setUp(sql: SqlQueryable): Promise<void> {
    await sql.exec(`
      CREATE SCHEMA IF NOT EXISTS ${this.schema};
      CREATE TABLE IF NOT EXISTS ${this.schema}.meeting_requests (
        id text PRIMARY KEY, requested_by text NOT NULL, co_sponsors text[] NOT NULL, subject_kind text NOT NULL,
        title text NOT NULL, summary text NOT NULL, confidentiality text NOT NULL, proposed_dates text[] NOT NULL,
        invited_states text[] NOT NULL, invited_organisations text[] NOT NULL, status text NOT NULL,
        scheduled_for text, venue text, outcome text, visibility jsonb NOT NULL, requested_at timestamptz NOT NULL,
        version integer NOT NULL);
      CREATE TABLE IF NOT EXISTS ${this.schema}.threads (
        id text PRIMARY KEY, subject text NOT NULL, visibility text NOT NULL, participants text[] NOT NULL,
        opened_by text NOT NULL, reply_by timestamptz, answered boolean NOT NULL, event_visibility jsonb NOT NULL,
        last_activity timestamptz NOT NULL, version integer NOT NULL);
      CREATE TABLE IF NOT EXISTS ${this.schema}.messages (
        thread_id text NOT NULL, message_id text NOT NULL, seq integer NOT NULL, author text NOT NULL,
        body text NOT NULL, handling_code text NOT NULL, handling_note text, attachments jsonb NOT NULL,
        posted_at timestamptz NOT NULL, delivered_to text[] NOT NULL DEFAULT '{}', read_by text[] NOT NULL DEFAULT '{}',
        PRIMARY KEY (thread_id, message_id));
      CREATE INDEX IF NOT EXISTS threads_participants ON ${this.schema}.threads USING gin (participants);`);
  }

  apply(tx: SqlQueryable, event: RecordedEvent): Promise<void> {
    return this.applyBatch(tx, [event]);
  }

  /** Folds the batch into the rows it touches, in log order, and writes each once (see batch-rows.ts). */
  async applyBatch(tx: SqlQueryable, events: readonly RecordedEvent[]): Promise<void> {
    const s = this.schema;
    const requestIds = new Set<string>();
    const threadIds = new Set<string>();
    const messageIds = new Set<string>();
    for (const event of events) {
      if (event.streamId.startsWith(REQUEST)) requestIds.add(event.streamId.slice(REQUEST.length));
      else {
        threadIds.add(event.streamId.slice(THREAD.length));
        const messageId = (event.data as Data).messageId;
        if (typeof messageId === 'string') messageIds.add(messageId);
      }
    }
    const requests = await loadRows<MeetingRequestRow & { requested_at: Date }>(
      tx,
      `${s}.meeting_requests`,
      'id',
      requestIds,
    );
    const threads = await loadRows<ThreadRow & { event_visibility: unknown }>(
      tx,
      `${s}.threads`,
      'id',
      threadIds,
    );
    const messages = new Map<string, MessageRow & { thread_id: string; seq: number }>();
    if (messageIds.size > 0) {
      const rows = await tx.query<MessageRow & { thread_id: string; seq: number }>(
        `SELECT * FROM ${s}.messages WHERE thread_id = ANY($1::text[]) AND message_id = ANY($2::text[])`,
        [[...threadIds], [...messageIds]],
      );
      for (const row of rows) messages.set(`${row.thread_id}/${row.message_id}`, row);
    }
    const touched = { requests: new Set<string>(), threads: new Set<string>(), messages: new Set<string>() };

    for (const event of events) {
      const data = event.data as Data;
      const version = event.streamVersion;
      if (event.streamId.startsWith(REQUEST)) {
        const id = event.streamId.slice(REQUEST.length);
        const row = requests.get(id);
        const update = (changes: Partial<MeetingRequestRow>) => {
          if (!row) return;
          requests.set(id, { ...requests.get(id)!, ...changes, version });
          touched.requests.add(id);
        };
        switch (event.type) {
          case 'AdHocMeetingRequested':
            if (row) break;
            requests.set(id, {
              id,
              requested_by: String(data.requestedBy),
              co_sponsors: [],
              subject_kind: String(data.subjectKind),
              title: String(data.title),
              summary: String(data.summary),
              confidentiality: String(data.confidentiality),
              proposed_dates: data.proposedDates as string[],
              invited_states: data.invitedStates as string[],
              invited_organisations: data.invitedOrganisations as string[],
              status: 'requested',
              scheduled_for: null,
              venue: null,
              outcome: null,
              visibility: event.visibility as MeetingRequestRow['visibility'],
              requested_at: event.recordedAt,
              version,
            });
            touched.requests.add(id);
            break;
          case 'AdHocMeetingCoSponsored':
            update({
              co_sponsors: [...requests.get(id)!.co_sponsors, String(data.state)],
              visibility: event.visibility as MeetingRequestRow['visibility'],
            });
            break;
          case 'AdHocMeetingAccepted':
            update({
              status: 'accepted',
              scheduled_for: data.scheduledFor as string,
              venue: data.venue as string,
            });
            break;
          case 'AdHocMeetingDeclined':
          case 'AdHocMeetingWithdrawn':
          case 'AdHocMeetingCancelled':
          case 'AdHocMeetingConcluded':
            update({
              status: event.type.slice('AdHocMeeting'.length).toLowerCase(),
              outcome: (data.reason ?? data.conclusions ?? null) as string | null,
            });
            break;
          default:
            break;
        }
        continue;
      }
      const threadId = event.streamId.slice(THREAD.length);
      const thread = threads.get(threadId);
      const updateThread = (changes: Partial<ThreadRow>) => {
        if (!thread) return;
        threads.set(threadId, { ...threads.get(threadId)!, ...changes, version });
        touched.threads.add(threadId);
      };
      switch (event.type) {
        case 'ThreadOpened':
          if (thread) break;
          threads.set(threadId, {
            id: threadId,
            subject: String(data.subject),
            visibility: String(data.visibility),
            participants: data.participants as ThreadRow['participants'],
            opened_by: data.openedBy as ThreadRow['opened_by'],
            reply_by: (data.replyBy ?? null) as Date | null,
            answered: false,
            event_visibility: event.visibility,
            last_activity: event.recordedAt,
            version,
          });
          touched.threads.add(threadId);
          break;
        case 'MessagePosted': {
          const key = `${threadId}/${String(data.messageId)}`;
          if (!messages.has(key)) {
            messages.set(key, {
              thread_id: threadId,
              message_id: String(data.messageId),
              seq: version,
              author: String(data.author),
              body: String(data.body),
              handling_code: String(data.handlingCode),
              handling_note: (data.handlingNote ?? null) as string | null,
              attachments: data.attachments ?? [],
              posted_at: event.recordedAt,
              delivered_to: [],
              read_by: [],
            });
            touched.messages.add(key);
          }
          const current = threads.get(threadId);
          updateThread({
            answered: Boolean(current?.answered) || data.author !== current?.opened_by,
            last_activity: event.recordedAt,
          });
          break;
        }
        case 'MessageDelivered':
        case 'MessageRead': {
          const key = `${threadId}/${String(data.messageId)}`;
          const message = messages.get(key);
          if (message) {
            const column = event.type === 'MessageDelivered' ? 'delivered_to' : 'read_by';
            messages.set(key, {
              ...message,
              [column]: [...message[column], String(data.recipient ?? data.reader)],
            });
            touched.messages.add(key);
          }
          updateThread({});
          break;
        }
        default:
          break;
      }
    }

    await writeRows(
      tx,
      `${s}.meeting_requests`,
      ['id'],
      [...touched.requests].map((id) => requests.get(id)!),
    );
    await writeRows(
      tx,
      `${s}.threads`,
      ['id'],
      [...touched.threads].map((id) => threads.get(id)!),
    );
    await writeRows(
      tx,
      `${s}.messages`,
      ['thread_id', 'message_id'],
      [...touched.messages].map((key) => messages.get(key)!),
    );
  }
}
