import {
  isAnswer,
  parseStreamId,
  streamPrefix,
  type MeetingRequestEvent,
  type MeetingRequestStatus,
  type ThreadEvent,
} from '@focal/domain';
import { type EventHandlers, type RecordedAs, type RecordedEvent, type SqlQueryable } from '@focal/events';

import { BatchProjection, entityIdOf, foldBatch, FoldedRows } from './batch-rows.js';
import type { MeetingRequestRow, MessageRow, ThreadRow } from './rows.js';

type StoredRequest = MeetingRequestRow & { requested_at: Date };
type StoredThread = ThreadRow & { event_visibility: unknown };
type StoredMessage = MessageRow & { thread_id: string; seq: number };

/** What one batch folds, in memory: the rows it touches. */
interface MessagingFold {
  requests: FoldedRows<StoredRequest>;
  threads: FoldedRows<StoredThread>;
  messages: FoldedRows<StoredMessage>;
}

/** A request that ended: declined, withdrawn, cancelled or concluded, with what was said. */
const ended =
  (status: MeetingRequestStatus, outcome: (data: Record<string, unknown>) => string | null) =>
  (event: RecordedAs<MeetingRequestEvent>, fold: MessagingFold) =>
    fold.requests.changeFor(event, { status, outcome: outcome(event.data as Record<string, unknown>) });

function receipt(
  event: RecordedAs<Extract<ThreadEvent, { type: 'MessageDelivered' | 'MessageRead' }>>,
  fold: MessagingFold,
): void {
  const key = `${entityIdOf(event)}/${event.data.messageId}`;
  const message = fold.messages.get(key);
  if (message) {
    fold.messages.change(
      key,
      event.type === 'MessageDelivered'
        ? { delivered_to: [...message.delivered_to, event.data.recipient] }
        : { read_by: [...message.read_by, event.data.reader] },
    );
  }
  fold.threads.changeFor(event, {});
}

const HANDLERS: EventHandlers<MeetingRequestEvent | ThreadEvent, MessagingFold> = {
  AdHocMeetingRequested: (event, fold) => {
    const id = entityIdOf(event);
    const { data } = event;
    fold.requests.add(id, {
      id,
      requested_by: data.requestedBy,
      co_sponsors: [],
      subject_kind: data.subjectKind,
      title: data.title,
      summary: data.summary,
      confidentiality: data.confidentiality,
      proposed_dates: data.proposedDates,
      invited_states: data.invitedStates,
      invited_organisations: data.invitedOrganisations,
      status: 'requested',
      scheduled_for: null,
      venue: null,
      outcome: null,
      visibility: event.visibility,
      requested_at: event.recordedAt,
      version: event.streamVersion,
    });
  },
  AdHocMeetingCoSponsored: (event, fold) =>
    fold.requests.changeFor(event, {
      co_sponsors: [...(fold.requests.get(entityIdOf(event))?.co_sponsors ?? []), event.data.state],
      visibility: event.visibility,
    }),
  AdHocMeetingAccepted: (event, fold) =>
    fold.requests.changeFor(event, {
      status: 'accepted',
      scheduled_for: event.data.scheduledFor,
      venue: event.data.venue,
    }),
  AdHocMeetingDeclined: ended('declined', (data) => String(data.reason)),
  AdHocMeetingWithdrawn: ended('withdrawn', () => null),
  AdHocMeetingCancelled: ended('cancelled', (data) => String(data.reason)),
  AdHocMeetingConcluded: ended('concluded', (data) => String(data.conclusions)),

  ThreadOpened: (event, fold) => {
    const id = entityIdOf(event);
    const { data } = event;
    fold.threads.add(id, {
      id,
      subject: data.subject,
      visibility: data.visibility,
      participants: data.participants,
      opened_by: data.openedBy,
      reply_by: data.replyBy ? new Date(data.replyBy) : null,
      answered: false,
      event_visibility: event.visibility,
      last_activity: event.recordedAt,
      version: event.streamVersion,
    });
  },
  MessagePosted: (event, fold) => {
    const threadId = entityIdOf(event);
    const { data } = event;
    fold.messages.add(`${threadId}/${data.messageId}`, {
      thread_id: threadId,
      message_id: data.messageId,
      seq: event.streamVersion,
      author: data.author,
      body: data.body,
      handling_code: data.handlingCode,
      handling_note: data.handlingNote ?? null,
      attachments: data.attachments,
      posted_at: event.recordedAt,
      delivered_to: [],
      read_by: [],
    });
    const thread = fold.threads.get(threadId);
    fold.threads.changeFor(event, {
      answered:
        Boolean(thread?.answered) || (thread ? isAnswer({ openedBy: thread.opened_by }, data.author) : false),
      last_activity: event.recordedAt,
    });
  },
  MessageDelivered: receipt,
  MessageRead: receipt,
};

/**
 * Ad hoc meeting requests and threads as clients read them. Each row keeps the visibility of its latest
 * event, which the domain decided (a closed request widens to each new co-sponsor), so reads filter with the
 * domain's own `maySee`.
 */
export class MessagingProjection extends BatchProjection {
  readonly filter = { streamPrefixes: [streamPrefix('meeting-request'), streamPrefix('thread')] };

  constructor(schema: string) {
    super('messaging', schema);
  }

  protected tables(schema: string): string {
    return `
      CREATE TABLE IF NOT EXISTS ${schema}.meeting_requests (
        id text PRIMARY KEY, requested_by text NOT NULL, co_sponsors text[] NOT NULL, subject_kind text NOT NULL,
        title text NOT NULL, summary text NOT NULL, confidentiality text NOT NULL, proposed_dates text[] NOT NULL,
        invited_states text[] NOT NULL, invited_organisations text[] NOT NULL, status text NOT NULL,
        scheduled_for text, venue text, outcome text, visibility jsonb NOT NULL, requested_at timestamptz NOT NULL,
        version integer NOT NULL);
      CREATE TABLE IF NOT EXISTS ${schema}.threads (
        id text PRIMARY KEY, subject text NOT NULL, visibility text NOT NULL, participants text[] NOT NULL,
        opened_by text NOT NULL, reply_by timestamptz, answered boolean NOT NULL, event_visibility jsonb NOT NULL,
        last_activity timestamptz NOT NULL, version integer NOT NULL);
      CREATE TABLE IF NOT EXISTS ${schema}.messages (
        thread_id text NOT NULL, message_id text NOT NULL, seq integer NOT NULL, author text NOT NULL,
        body text NOT NULL, handling_code text NOT NULL, handling_note text, attachments jsonb NOT NULL,
        posted_at timestamptz NOT NULL, delivered_to text[] NOT NULL DEFAULT '{}', read_by text[] NOT NULL DEFAULT '{}',
        PRIMARY KEY (thread_id, message_id));
      CREATE INDEX IF NOT EXISTS threads_participants ON ${schema}.threads USING gin (participants);`;
  }

  async applyBatch(tx: SqlQueryable, events: readonly RecordedEvent[]): Promise<void> {
    const s = this.schema;
    const requestIds = new Set<string>();
    const threadIds = new Set<string>();
    const messageIds = new Set<string>();
    for (const event of events) {
      const parsed = parseStreamId(event.streamId);
      if (parsed?.category === 'meeting-request') requestIds.add(parsed.id);
      else if (parsed?.category === 'thread') {
        threadIds.add(parsed.id);
        const messageId = event.data.messageId;
        if (typeof messageId === 'string') messageIds.add(messageId);
      }
    }
    const fold: MessagingFold = {
      requests: await FoldedRows.load(tx, `${s}.meeting_requests`, ['id'], requestIds),
      threads: await FoldedRows.load(tx, `${s}.threads`, ['id'], threadIds),
      messages: await FoldedRows.load(
        tx,
        `${s}.messages`,
        ['thread_id', 'message_id'],
        threadIds,
        messageIds,
      ),
    };
    await foldBatch(tx, HANDLERS, events, fold);
  }
}
