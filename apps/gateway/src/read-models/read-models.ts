import { CONTACT_POINT_PERSONAL_FIELDS } from '@focal/contracts';
import {
  maySee,
  participantOf,
  type Actor,
  type ParticipantRef,
  type PersonalData,
  type StatusEntry,
  type Visibility,
} from '@focal/domain';
import {
  PersonalDataCodec,
  ProjectionRunner,
  type EventStore,
  type KeyStore,
  type SqlDriver,
  type SqlQueryable,
} from '@focal/events';

import { BLIND_INDEX_SUBJECT, searchCondition, searchQuery } from './contact-point-search.js';
import { DirectoryProjection } from './directory.projection.js';
import { MessagingProjection } from './messaging.projection.js';
import { openPersonal } from './personal-data.js';

/** A state as stored: its whole status history; which status holds is asked of the domain on the day. */
export interface StateRow {
  code: string;
  name: string;
  history: StatusEntry[];
  version: number;
}
export interface OrganisationRow {
  id: string;
  name: string;
  acronym: string;
  kind: string;
  suspended: boolean;
  version: number;
}
/** A contact point as stored: its personal data only sealed with its own key (see personal-data.ts). */
export interface ContactPointRow {
  id: string;
  state: string | null;
  organisation: string | null;
  /** Sealed; null once erased. */
  personal: string | null;
  erased_on: string | null;
  role: string;
  authority: string;
  languages: string[];
  expertise: string[];
  is_primary: boolean;
  status: string;
  last_confirmed_on: string;
  version: number;
}
/** A contact point as read: its personal data opened, or null once erased (also before the row knows it). */
export type ContactPointEntry = Omit<ContactPointRow, 'personal'> & {
  personal: Partial<PersonalData> | null;
};

export interface MeetingRequestRow {
  id: string;
  requested_by: string;
  co_sponsors: string[];
  subject_kind: string;
  title: string;
  summary: string;
  confidentiality: string;
  proposed_dates: string[];
  invited_states: string[];
  invited_organisations: string[];
  status: string;
  scheduled_for: string | null;
  venue: string | null;
  outcome: string | null;
  visibility: Visibility;
  version: number;
}
export interface ThreadRow {
  id: string;
  subject: string;
  visibility: string;
  participants: ParticipantRef[];
  opened_by: ParticipantRef;
  reply_by: Date | null;
  answered: boolean;
  last_activity: Date;
  version: number;
}
export interface MessageRow {
  message_id: string;
  author: string;
  body: string;
  handling_code: string;
  handling_note: string | null;
  attachments: unknown;
  posted_at: Date;
  delivered_to: string[];
  read_by: string[];
}

export interface ContactPointSearch {
  state?: string;
  role?: string;
  language?: string;
  status?: string;
  q?: string;
  limit: number;
  offset: number;
}

/** What a contact-point query reads: the row without its search columns. */
const CONTACT_POINT_COLUMNS = `id, state, organisation, personal, erased_on, role, authority, languages, expertise,
  is_primary, status, last_confirmed_on, version`;

/** Whether a contact point's key still exists (`contact_points` aliased or not): its personal data is not erased. */
const KEY_ALIVE = `EXISTS (SELECT 1 FROM focal_keys k WHERE k.subject_id = contact_points.id AND k.wrapped IS NOT NULL)`;

/** The first schema of the read models; `npm run projections:rebuild` builds the next one beside it. */
export const DEFAULT_SCHEMA = 'gateway_v1';

/** Which schema the gateways read: one row, switched by a rebuild once the new schema has caught up. */
export async function activeSchema(sql: SqlQueryable): Promise<string> {
  await sql.exec(
    `CREATE TABLE IF NOT EXISTS focal_read_models (
       name text PRIMARY KEY, schema text NOT NULL, switched_at timestamptz NOT NULL DEFAULT now())`,
  );
  await sql.query(
    `INSERT INTO focal_read_models (name, schema) VALUES ('gateway', $1) ON CONFLICT DO NOTHING`,
    [DEFAULT_SCHEMA],
  );
  const [row] = await sql.query<{ schema: string }>(
    `SELECT schema FROM focal_read_models WHERE name = 'gateway'`,
  );
  return row!.schema;
}

export interface ReadModelOptions {
  pollMs?: number;
  batchSize?: number;
  onError?: (error: unknown) => void;
  onProgress?: (applied: number) => void;
}

/**
 * The gateway's read models: their projections (fed from the store, checkpointed with their rows) and the
 * queries the HTTP API runs on them. All live in one schema; `switchTo` moves to a rebuilt one.
 */
export class ReadModels {
  private current: { schema: string; runners: ProjectionRunner[] };

  private constructor(
    private readonly sql: SqlDriver,
    private readonly store: EventStore,
    private readonly keys: KeyStore,
    /** The blind index's key (see contact-point-search.ts), wrapped in the key store like every data key. */
    private readonly indexKey: Buffer,
    schema: string,
    private readonly options: ReadModelOptions,
  ) {
    this.current = { schema, runners: this.runnersFor(schema) };
  }

  static async open(
    sql: SqlDriver,
    store: EventStore,
    keys: KeyStore,
    schema = DEFAULT_SCHEMA,
    options: ReadModelOptions = {},
  ): Promise<ReadModels> {
    return new ReadModels(sql, store, keys, await keys.keyFor(BLIND_INDEX_SUBJECT), schema, options);
  }

  get schema(): string {
    return this.current.schema;
  }

  get runners(): readonly ProjectionRunner[] {
    return this.current.runners;
  }

  private runnersFor(schema: string): ProjectionRunner[] {
    const codec = new PersonalDataCodec(this.keys, CONTACT_POINT_PERSONAL_FIELDS);
    return [
      new ProjectionRunner(
        this.store,
        this.sql,
        new DirectoryProjection(schema, this.keys, codec, this.indexKey),
        this.options,
      ),
      new ProjectionRunner(this.store, this.sql, new MessagingProjection(schema), this.options),
    ];
  }

  async start(): Promise<void> {
    for (const runner of this.runners) await runner.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.stop()));
  }

  /** Reads from `schema` from now on (after a rebuild), once its projections have caught up. */
  async switchTo(schema: string): Promise<void> {
    if (schema === this.current.schema) return;
    const runners = this.runnersFor(schema);
    for (const runner of runners) await runner.start();
    await Promise.all(runners.map((runner) => runner.catchUp()));
    const previous = this.current;
    this.current = { schema, runners };
    await Promise.all(previous.runners.map((runner) => runner.stop()));
  }

  wake(): void {
    for (const runner of this.runners) runner.wake();
  }

  /** Applies every event stored before this call: a read after a write sees that write. */
  async catchUp(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.catchUp()));
  }

  /**
   * Looks something up; if it is not there, catches up with the log and looks again: a row written just
   * before (by this caller or another) is found, while a lookup that hits costs no catch-up.
   */
  async findFresh<T>(lookup: () => Promise<T | undefined>): Promise<T | undefined> {
    const found = await lookup();
    if (found !== undefined) return found;
    await this.catchUp();
    return lookup();
  }

  async states(): Promise<StateRow[]> {
    return this.sql.query<StateRow>(`SELECT * FROM ${this.schema}.states ORDER BY code`);
  }

  async state(code: string): Promise<StateRow | undefined> {
    return (await this.sql.query<StateRow>(`SELECT * FROM ${this.schema}.states WHERE code = $1`, [code]))[0];
  }

  async organisations(): Promise<OrganisationRow[]> {
    return this.sql.query<OrganisationRow>(`SELECT * FROM ${this.schema}.organisations ORDER BY acronym, id`);
  }

  async organisation(id: string): Promise<OrganisationRow | undefined> {
    return (
      await this.sql.query<OrganisationRow>(`SELECT * FROM ${this.schema}.organisations WHERE id = $1`, [id])
    )[0];
  }

  /** The contact points that match `search`, as `viewer` may search them (a page, and how many in all). */
  async contactPoints(
    search: ContactPointSearch,
    viewer: Actor,
  ): Promise<{ items: ContactPointEntry[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: (n: string) => string, value: unknown) => {
      params.push(value);
      where.push(clause(`$${params.length}`));
    };
    if (search.state) add((n) => `state = ${n}`, search.state);
    if (search.role) add((n) => `role = ${n}`, search.role);
    if (search.language) add((n) => `languages @> ARRAY[${n}]::text[]`, search.language);
    if (search.status) add((n) => `status = ${n}`, search.status);
    if (search.q) {
      // Every word, in any field the viewer may search (closed ones only for who may see them); text with no
      // letter or digit finds nothing.
      const query = searchQuery(search.q, this.indexKey);
      if (query === undefined) return { items: [], total: 0 };
      add((n) => searchCondition(viewer, n, KEY_ALIVE), query);
    }
    const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const [{ total }] = (await this.sql.query<{ total: string }>(
      `SELECT count(*) AS total FROM ${this.schema}.contact_points ${filter}`,
      params,
    )) as [{ total: string }];
    const items = await this.sql.query<ContactPointRow>(
      `SELECT ${CONTACT_POINT_COLUMNS} FROM ${this.schema}.contact_points ${filter}
        ORDER BY state NULLS LAST, is_primary DESC, authority, id LIMIT ${search.limit} OFFSET ${search.offset}`,
      params,
    );
    return { items: await this.opened(items), total: Number(total) };
  }

  async contactPoint(id: string): Promise<ContactPointEntry | undefined> {
    const rows = await this.sql.query<ContactPointRow>(
      `SELECT ${CONTACT_POINT_COLUMNS} FROM ${this.schema}.contact_points WHERE id = $1`,
      [id],
    );
    return (await this.opened(rows))[0];
  }

  /** Rows with their personal data opened with their keys: erased where the key is gone, at once. */
  private async opened(rows: readonly ContactPointRow[]): Promise<ContactPointEntry[]> {
    const keys = await this.keys.findMany(rows.map((row) => row.id));
    return rows.map((row) => ({ ...row, personal: openPersonal(keys.get(row.id), row.id, row.personal) }));
  }

  /** The requests `viewer` may see, newest first. */
  async meetingRequests(viewer: Actor, status?: string): Promise<MeetingRequestRow[]> {
    const rows = await this.sql.query<MeetingRequestRow>(
      `SELECT * FROM ${this.schema}.meeting_requests ${status ? 'WHERE status = $1' : ''}
        ORDER BY requested_at DESC, id`,
      status ? [status] : [],
    );
    return rows.filter((row) => maySee(viewer, row.visibility));
  }

  async meetingRequest(id: string): Promise<MeetingRequestRow | undefined> {
    return (
      await this.sql.query<MeetingRequestRow>(`SELECT * FROM ${this.schema}.meeting_requests WHERE id = $1`, [
        id,
      ])
    )[0];
  }

  async thread(id: string): Promise<ThreadRow | undefined> {
    return (await this.sql.query<ThreadRow>(`SELECT * FROM ${this.schema}.threads WHERE id = $1`, [id]))[0];
  }

  async messages(threadId: string): Promise<MessageRow[]> {
    return this.sql.query<MessageRow>(
      `SELECT * FROM ${this.schema}.messages WHERE thread_id = $1 ORDER BY seq`,
      [threadId],
    );
  }

  /**
   * The threads `viewer` takes part in: overdue urgent ones first (reply-by passed, nobody but the opener has
   * posted: the domain's isOverdue), then by latest activity.
   */
  async inbox(viewer: Actor, now: Date): Promise<(ThreadRow & { overdue: boolean; unread: number })[]> {
    const self = participantOf(viewer);
    if (!self) return [];
    const rows = await this.sql.query<ThreadRow & { overdue: boolean; unread: string }>(
      `SELECT t.*,
              (t.reply_by IS NOT NULL AND NOT t.answered AND t.reply_by <= $2) AS overdue,
              (SELECT count(*) FROM ${this.schema}.messages m
                WHERE m.thread_id = t.id AND m.author <> $1 AND NOT ($1 = ANY (m.read_by))) AS unread
         FROM ${this.schema}.threads t
        WHERE $1 = ANY (t.participants)
        ORDER BY overdue DESC, t.last_activity DESC, t.id`,
      [self, now],
    );
    return rows.map((row) => ({ ...row, unread: Number(row.unread) }));
  }
}
