import { CONTACT_POINT_PERSONAL_FIELDS } from '@focal/contracts';
import {
  isOverdue,
  maySee,
  meetingVisibility,
  participantOf,
  sessionVisibility,
  threadEventVisibility,
  type Actor,
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

import { BlindIndex } from '../directory/blind-index.js';
import {
  BLIND_INDEX_SUBJECT,
  searchCondition,
  searchRank,
  searchQuery,
} from '../directory/contact-point-search.js';
import { DirectoryProjection } from '../directory/directory.projection.js';
import { MessagingProjection } from './messaging.projection.js';
import { PlenaryProjection } from './plenary.projection.js';
import { openPersonal } from '../directory/personal-data.js';
import type {
  ContactPointEntry,
  ContactPointRow,
  ListedContactPoint,
  MeetingRequestRow,
  MessageRow,
  OrganisationRow,
  PlenaryAgendaItemRow,
  PlenaryDelegateRow,
  PlenaryMeetingRow,
  StateRow,
  ThreadRow,
} from './rows.js';

export type * from './rows.js';

/**
 * Who may see a request or a thread, as the domain decides it from the row's own columns rather than from the
 * stored event visibility: events written before closed items were marked as closed (a guest-state participant
 * must not read them) carry no marker, the row's confidentiality and visibility always say it.
 */
export const meetingRequestVisibility = (row: MeetingRequestRow): Visibility =>
  meetingVisibility({
    confidentiality: row.confidentiality,
    requestedBy: row.requested_by,
    coSponsors: row.co_sponsors,
    invitedStates: row.invited_states,
    invitedOrganisations: row.invited_organisations,
  });
export const threadVisibility = (row: ThreadRow): Visibility => threadEventVisibility(row);

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
const CONTACT_POINT_COLUMNS = `id, contact_points.state, organisation, personal, erased_on, role, authority,
  languages, expertise, status, last_confirmed_on, version, position,
  (primaries.contact_point_id IS NOT NULL) AS is_primary`;

/** Whether a contact point's key still exists (`contact_points` aliased or not): its personal data is not erased. */
const KEY_ALIVE = `EXISTS (SELECT 1 FROM focal_keys k WHERE k.subject_id = contact_points.id AND k.wrapped IS NOT NULL)`;

/** The first schema of the read models; `npm run projections:rebuild` builds the next one beside it. */
export const DEFAULT_SCHEMA = 'gateway_v1';

/**
 * The layout the projections write: raised whenever a table's shape or meaning changes (2: personal data
 * sealed, a keyed blind index, primaries as the domain folds them). Read models of an older layout are rebuilt
 * when a gateway of this version starts (see rebuild.ts).
 */
export const READ_MODEL_LAYOUT = 2;

/** Which schema the gateways read, and its layout: one row, switched by a rebuild once it has caught up. */
export async function activeReadModels(sql: SqlQueryable): Promise<{ schema: string; layout: number }> {
  await sql.exec(
    `CREATE TABLE IF NOT EXISTS focal_read_models (
       name text PRIMARY KEY, schema text NOT NULL, switched_at timestamptz NOT NULL DEFAULT now());
     ALTER TABLE focal_read_models
       ADD COLUMN IF NOT EXISTS layout integer NOT NULL DEFAULT 1,
       ADD COLUMN IF NOT EXISTS upgrading_since timestamptz`,
  );
  await sql.query(
    `INSERT INTO focal_read_models (name, schema, layout) VALUES ('gateway', $1, $2) ON CONFLICT DO NOTHING`,
    [DEFAULT_SCHEMA, READ_MODEL_LAYOUT],
  );
  const [row] = await sql.query<{ schema: string; layout: number }>(
    `SELECT schema, layout FROM focal_read_models WHERE name = 'gateway'`,
  );
  return row!;
}

/** Which schema the gateways read. */
export async function activeSchema(sql: SqlQueryable): Promise<string> {
  return (await activeReadModels(sql)).schema;
}

export interface PlenarySearch {
  /** Every word, in the title, theme, conclusions or topics. */
  q?: string;
  /** A topic of the conclusions, in any case. */
  topic?: string;
  status?: string;
}

/** A word for ILIKE, matched as it is: its wildcards escaped. */
const likeWord = (word: string) => `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

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
/** The read models, provided by the composition (gateway-app.ts). */
export const READ_MODELS = Symbol('ReadModels');

export class ReadModels {
  private current: { schema: string; runners: ProjectionRunner[] };

  private constructor(
    private readonly sql: SqlDriver,
    private readonly store: EventStore,
    private readonly keys: KeyStore,
    /** The blind index (see contact-point-search.ts), its key wrapped in the key store like every data key. */
    private readonly blindIndex: BlindIndex,
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
    const blindIndex = new BlindIndex(await keys.keyFor(BLIND_INDEX_SUBJECT));
    return new ReadModels(sql, store, keys, blindIndex, schema, options);
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
        new DirectoryProjection(schema, this.keys, codec, this.blindIndex),
        this.options,
      ),
      new ProjectionRunner(this.store, this.sql, new MessagingProjection(schema), this.options),
      new ProjectionRunner(this.store, this.sql, new PlenaryProjection(schema), this.options),
    ];
  }

  async start(): Promise<void> {
    for (const runner of this.runners) await runner.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.stop()));
    await this.blindIndex.close();
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
  ): Promise<{ items: ListedContactPoint[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    // A search lists the best matches first; the order below breaks ties, and is the whole order without one.
    let rank = '';
    const add = (clause: (n: string) => string, value: unknown) => {
      params.push(value);
      where.push(clause(`$${params.length}`));
    };
    if (search.state) add((n) => `contact_points.state = ${n}`, search.state);
    if (search.role) add((n) => `role = ${n}`, search.role);
    if (search.language) add((n) => `languages @> ARRAY[${n}]::text[]`, search.language);
    if (search.status) add((n) => `status = ${n}`, search.status);
    if (search.q) {
      // Every word, in any field the viewer may search (closed ones only for who may see them); text with no
      // letter or digit finds nothing.
      const query = searchQuery(search.q, this.blindIndex);
      if (query === undefined) return { items: [], total: 0 };
      add((n) => searchCondition(viewer, n, KEY_ALIVE), query);
      rank = `${searchRank(viewer, `$${params.length}`, KEY_ALIVE)} DESC, `;
    }
    const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
    const [{ total }] = (await this.sql.query<{ total: string }>(
      `SELECT count(*) AS total FROM ${this.schema}.contact_points ${filter}`,
      params,
    )) as [{ total: string }];
    const items = await this.sql.query<ContactPointRow & { is_primary: boolean }>(
      `SELECT ${CONTACT_POINT_COLUMNS} FROM ${this.listed} ${filter}
        ORDER BY ${rank}contact_points.state NULLS LAST, is_primary DESC, authority, id
        LIMIT ${search.limit} OFFSET ${search.offset}`,
      params,
    );
    return { items: await this.opened(items), total: Number(total) };
  }

  async contactPoint(id: string): Promise<ListedContactPoint | undefined> {
    const rows = await this.sql.query<ContactPointRow & { is_primary: boolean }>(
      `SELECT ${CONTACT_POINT_COLUMNS} FROM ${this.listed} WHERE id = $1`,
      [id],
    );
    return (await this.opened(rows))[0];
  }

  /** Contact points beside their state's primary, as the domain's `evolvePrimaries` keeps it. */
  private get listed(): string {
    return `${this.schema}.contact_points LEFT JOIN ${this.schema}.primaries
              ON primaries.contact_point_id = contact_points.id`;
  }

  /** Rows with their personal data opened with their keys: erased where the key is gone, at once. */
  private async opened<Row extends ContactPointRow>(
    rows: readonly Row[],
  ): Promise<(Omit<Row, 'personal'> & Pick<ContactPointEntry, 'personal'>)[]> {
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
    return rows.filter((row) => maySee(viewer, meetingRequestVisibility(row)));
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
   * The threads `viewer` takes part in and may see (a closed one is not a guest state's): overdue urgent ones first (reply-by passed, nobody but the opener has
   * posted: the domain's isOverdue), then by latest activity.
   */
  async inbox(viewer: Actor, now: Date): Promise<(ThreadRow & { overdue: boolean; unread: number })[]> {
    const self = participantOf(viewer);
    if (!self) return [];
    const rows = await this.sql.query<ThreadRow & { unread: string }>(
      `SELECT t.*,
              (SELECT count(*) FROM ${this.schema}.messages m
                WHERE m.thread_id = t.id AND m.author <> $1 AND NOT ($1 = ANY (m.read_by))) AS unread
         FROM ${this.schema}.threads t
        WHERE $1 = ANY (t.participants)
        ORDER BY t.last_activity DESC, t.id`,
      [self],
    );
    // Overdue as the domain says it; the stable sort keeps the latest activity first within each group.
    return rows
      .filter((row) => maySee(viewer, threadVisibility(row)))
      .map((row) => ({
        ...row,
        unread: Number(row.unread),
        overdue: isOverdue({ replyBy: row.reply_by, answered: row.answered }, now.toISOString()),
      }))
      .sort((a, b) => Number(b.overdue) - Number(a.overdue));
  }

  /**
   * Plenary meetings, the latest first. They are open to every principal, and so are their conclusions: the
   * search reads nothing of a closed session.
   */
  async plenaryMeetings(search: PlenarySearch): Promise<PlenaryMeetingRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (clause: (n: string) => string, value: unknown) => {
      params.push(value);
      where.push(clause(`$${params.length}`));
    };
    for (const word of search.q?.split(/\s+/).filter(Boolean) ?? []) {
      add(
        (
          n,
        ) => `(title || ' ' || theme || ' ' || coalesce(conclusions, '') || ' ' || array_to_string(topics, ' '))
                 ILIKE ${n}`,
        likeWord(word),
      );
    }
    if (search.topic)
      add((n) => `EXISTS (SELECT 1 FROM unnest(topics) t WHERE lower(t) = lower(${n}))`, search.topic);
    if (search.status) add((n) => `status = ${n}`, search.status);
    return this.sql.query<PlenaryMeetingRow>(
      `SELECT * FROM ${this.schema}.plenary_meetings ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY starts_on DESC, id`,
      params,
    );
  }

  async plenaryMeeting(id: string): Promise<PlenaryMeetingRow | undefined> {
    return (
      await this.sql.query<PlenaryMeetingRow>(`SELECT * FROM ${this.schema}.plenary_meetings WHERE id = $1`, [
        id,
      ])
    )[0];
  }

  /** A meeting's agenda, in order, as `viewer` may see it: the closed session's only for who may see it. */
  async plenaryAgenda(meetingId: string, viewer: Actor): Promise<PlenaryAgendaItemRow[]> {
    const rows = await this.sql.query<PlenaryAgendaItemRow>(
      `SELECT * FROM ${this.schema}.plenary_agenda_items WHERE meeting_id = $1 ORDER BY seq`,
      [meetingId],
    );
    return rows.filter((row) => maySee(viewer, sessionVisibility(row.session)));
  }

  /** A meeting's registered delegates (not withdrawn), with their attendance, as `viewer` may see them. */
  async plenaryDelegates(meetingId: string, viewer: Actor): Promise<PlenaryDelegateRow[]> {
    const rows = await this.sql.query<PlenaryDelegateRow>(
      `SELECT * FROM ${this.schema}.plenary_delegates WHERE meeting_id = $1 AND NOT withdrawn ORDER BY seq`,
      [meetingId],
    );
    const seen = rows.filter((row) => maySee(viewer, sessionVisibility(row.session)));
    // A state's delegate's name is its contact point's, opened with its key: gone at once when erased.
    const ids = [...new Set(seen.flatMap((row) => (row.contact_point_id ? [row.contact_point_id] : [])))];
    if (ids.length === 0) return seen;
    const contactPoints = await this.opened(
      await this.sql.query<ContactPointRow>(
        `SELECT * FROM ${this.schema}.contact_points WHERE id = ANY($1::text[])`,
        [ids],
      ),
    );
    const names = new Map(contactPoints.map((cp) => [cp.id, cp.personal?.fullName ?? null]));
    return seen.map((row) =>
      row.contact_point_id ? { ...row, name: names.get(row.contact_point_id) ?? null } : row,
    );
  }
}
