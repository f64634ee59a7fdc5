import type { RecordedEvent, SqlProjection, SqlQueryable } from '@focal/events';

type Data = Record<string, unknown>;

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

  async apply(tx: SqlQueryable, event: RecordedEvent): Promise<void> {
    const data = event.data as Data;
    const s = this.schema;
    const version = event.streamVersion;
    const visibility = JSON.stringify(event.visibility);
    if (event.streamId.startsWith('meeting-request-')) {
      const id = event.streamId.slice('meeting-request-'.length);
      switch (event.type) {
        case 'AdHocMeetingRequested':
          await tx.query(
            `INSERT INTO ${s}.meeting_requests (id, requested_by, co_sponsors, subject_kind, title, summary,
               confidentiality, proposed_dates, invited_states, invited_organisations, status, visibility,
               requested_at, version)
             VALUES ($1, $2, '{}', $3, $4, $5, $6, $7, $8, $9, 'requested', $10, $11, $12) ON CONFLICT (id) DO NOTHING`,
            [
              id,
              data.requestedBy,
              data.subjectKind,
              data.title,
              data.summary,
              data.confidentiality,
              data.proposedDates,
              data.invitedStates,
              data.invitedOrganisations,
              visibility,
              event.recordedAt,
              version,
            ],
          );
          return;
        case 'AdHocMeetingCoSponsored':
          await tx.query(
            `UPDATE ${s}.meeting_requests SET co_sponsors = array_append(co_sponsors, $2), visibility = $3, version = $4
              WHERE id = $1`,
            [id, data.state, visibility, version],
          );
          return;
        case 'AdHocMeetingAccepted':
          await tx.query(
            `UPDATE ${s}.meeting_requests SET status = 'accepted', scheduled_for = $2, venue = $3, version = $4
              WHERE id = $1`,
            [id, data.scheduledFor, data.venue, version],
          );
          return;
        case 'AdHocMeetingDeclined':
        case 'AdHocMeetingWithdrawn':
        case 'AdHocMeetingCancelled':
        case 'AdHocMeetingConcluded': {
          const status = event.type.slice('AdHocMeeting'.length).toLowerCase();
          const outcome = (data.reason ?? data.conclusions ?? null) as string | null;
          await tx.query(
            `UPDATE ${s}.meeting_requests SET status = $2, outcome = $3, version = $4 WHERE id = $1`,
            [id, status, outcome, version],
          );
          return;
        }
        default:
          return;
      }
    }
    const threadId = event.streamId.slice('thread-'.length);
    switch (event.type) {
      case 'ThreadOpened':
        await tx.query(
          `INSERT INTO ${s}.threads (id, subject, visibility, participants, opened_by, reply_by, answered,
             event_visibility, last_activity, version)
           VALUES ($1, $2, $3, $4, $5, $6, false, $7, $8, $9) ON CONFLICT (id) DO NOTHING`,
          [
            threadId,
            data.subject,
            data.visibility,
            data.participants,
            data.openedBy,
            data.replyBy ?? null,
            visibility,
            event.recordedAt,
            version,
          ],
        );
        return;
      case 'MessagePosted':
        await tx.query(
          `INSERT INTO ${s}.messages (thread_id, message_id, seq, author, body, handling_code, handling_note,
             attachments, posted_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
          [
            threadId,
            data.messageId,
            version,
            data.author,
            data.body,
            data.handlingCode,
            data.handlingNote ?? null,
            JSON.stringify(data.attachments ?? []),
            event.recordedAt,
          ],
        );
        await tx.query(
          `UPDATE ${s}.threads SET answered = answered OR $2 <> opened_by, last_activity = $3, version = $4
            WHERE id = $1`,
          [threadId, data.author, event.recordedAt, version],
        );
        return;
      case 'MessageDelivered':
      case 'MessageRead': {
        const column = event.type === 'MessageDelivered' ? 'delivered_to' : 'read_by';
        const who = (data.recipient ?? data.reader) as string;
        await tx.query(
          `UPDATE ${s}.messages SET ${column} = array_append(${column}, $3) WHERE thread_id = $1 AND message_id = $2`,
          [threadId, data.messageId, who],
        );
        await tx.query(`UPDATE ${s}.threads SET version = $2 WHERE id = $1`, [threadId, version]);
        return;
      }
      default:
        return;
    }
  }
}
