import { assertStreamId, validateAppend } from '../append-validation.js';
import type { JsonObject, NewEvent, Position, RecordedEvent, Visibility } from '../envelope.js';
import {
  DuplicateEventIdError,
  InvalidAppendError,
  InvalidPositionError,
  InvalidReadError,
  WrongExpectedVersionError,
  type ExpectedVersion,
} from '../errors.js';
import type {
  AppendOptions,
  AppendResult,
  EventFilter,
  EventStore,
  ReadAllBackwardsOptions,
  ReadAllOptions,
  ReadAllPage,
  ReadStreamOptions,
  SubscribeOptions,
} from '../event-store.js';
import { ChainVerifier, type StoredEventForVerification, type VerificationReport } from '../integrity.js';
import { EventSchemas, type Upcaster } from '../upcasting.js';
import { CoalescingSignal, Wakeup } from '../wakeup.js';
import { Gathering } from '../gathering.js';
import { AppendBatcher, type AppendRow } from './append-batcher.js';
import { SharedTail } from './shared-tail.js';
import type { ChannelListener, PostgresError, SqlDriver } from './driver.js';
import { migrate } from './migrations.js';

export interface SqlEventStoreOptions {
  upcasters?: readonly Upcaster[];
  /**
   * How long an idle subscriber waits before looking at the log anyway. Wake-ups come from commits in
   * this process and from NOTIFY; this only bounds the delay should another process die between its
   * commit and its notification.
   */
  safetyPollMs?: number;
  /** Events read per query by subscriptions and verification. */
  pageSize?: number;
  /**
   * Transactions appending at once; appends beyond wait and then share one transaction (group commit).
   * Default 2: on 2 cores that measured best (see bench/README.md).
   */
  concurrentAppendTransactions?: number;
  /** Whether `close()` closes the driver too (default); false where the driver is shared. */
  closeDriver?: boolean;
}

const CHANNEL = 'focal_events';
const MAX_POSITION = 2n ** 63n - 1n;
const DEFAULT_READ_ALL_LIMIT = 1_000;
const MAX_LIMIT = 10_000;
/** While committed events wait behind an older open transaction, subscribers poll from 2 ms up to this. */
const MAX_BLOCKED_BACKOFF_MS = 200;

interface EventRow {
  position: string;
  stream_id: string;
  stream_version: string;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: unknown;
  visibility: unknown;
  recorded_at: string;
  previous_hash: string;
  hash: string;
}

// Numbers come back as text (exact in JS); sort on the table's columns (focal_events.position), not on these.
const columns = (jsonAsText: boolean) => `
  position::text AS position, stream_id, stream_version::text AS stream_version, event_id::text AS event_id,
  type, schema_version, ${jsonAsText ? 'data::text AS data, metadata::text AS metadata, visibility::text AS visibility' : 'data, metadata, visibility'},
  to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS recorded_at,
  encode(previous_hash, 'hex') AS previous_hash, encode(hash, 'hex') AS hash`;

/**
 * The event store on PostgreSQL, the same SQL for a server (PgDriver) and embedded (PGliteDriver).
 * See sql/migrations.ts for how positions stay gap-free under concurrent appends.
 */
export class SqlEventStore implements EventStore {
  private readonly schemas: EventSchemas;
  private readonly wakeup = new Wakeup();
  private crossProcess?: CoalescingSignal;
  private listener?: ChannelListener;
  private readonly safetyPollMs: number;
  private readonly pageSize: number;
  private readonly closing = new AbortController();
  private readonly appends: AppendBatcher;
  private readonly closeDriver: boolean;
  /**
   * Whole streams asked for while a read of some is under way are read together in the next (a burst of commands
   * each deciding on its stream, of requests each judging its caller's standing): one statement, each stream
   * still read after it was asked for.
   */
  private readonly wholeStreams = new Gathering(async (streamIds: string[]) => {
    const rows = await this.driver.query<EventRow>(
      `SELECT ${columns(false)} FROM focal_events WHERE stream_id = ANY($1::text[])
        ORDER BY focal_events.stream_id, focal_events.stream_version`,
      [[...new Set(streamIds)]],
    );
    const streams = new Map<string, RecordedEvent[]>();
    // An event that cannot be read (no upcaster for it) fails its own stream's reader, not the others'.
    const unreadable = new Map<string, unknown>();
    for (const row of rows) {
      if (unreadable.has(row.stream_id)) continue;
      try {
        const event = this.toEvent(row);
        const stream = streams.get(event.streamId);
        if (stream) stream.push(event);
        else streams.set(event.streamId, [event]);
      } catch (error) {
        unreadable.set(row.stream_id, error);
      }
    }
    return (streamId: string) => {
      if (unreadable.has(streamId)) throw unreadable.get(streamId);
      return [...(streams.get(streamId) ?? [])];
    };
  });
  private readonly tail = new SharedTail(async (after, limit) => {
    const page = await this.readPage(after, limit, undefined, false);
    return {
      events: page.rows.map((row) => this.toEvent(row)),
      scannedTo: page.scannedTo,
      full: page.rows.length === limit,
      blocked: page.blocked,
    };
  });

  private constructor(
    private readonly driver: SqlDriver,
    options: SqlEventStoreOptions,
  ) {
    this.schemas = new EventSchemas(options.upcasters);
    this.safetyPollMs = options.safetyPollMs ?? 1_000;
    this.pageSize = options.pageSize ?? 500;
    this.appends = new AppendBatcher(driver, options.concurrentAppendTransactions ?? 2);
    this.closeDriver = options.closeDriver ?? true;
  }

  /** Applies pending migrations, starts listening for other processes' commits, and returns the store. */
  static async open(driver: SqlDriver, options: SqlEventStoreOptions = {}): Promise<SqlEventStore> {
    await migrate(driver);
    const store = new SqlEventStore(driver, options);
    const listener = await driver.listen?.(CHANNEL, () => store.wakeup.notify());
    if (listener) {
      store.listener = listener;
      store.crossProcess = new CoalescingSignal(() => listener.notify());
    }
    return store;
  }

  async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    if (this.driver.inTransaction) {
      // Appends share group-commit transactions of their own; one inside a caller's transaction would wait
      // for that transaction on PGlite's single connection, or commit apart from it on a server.
      throw new Error(`append to ${streamId} inside a database transaction: append after it commits`);
    }
    const expected = options?.expectedVersion;
    const validated = validateAppend(streamId, events, expected, this.schemas);
    let row: AppendRow;
    try {
      row = await this.appends.submit({ streamId, expected, events: validated });
    } catch (error) {
      throw this.translate(error as PostgresError, streamId, expected);
    }
    this.wakeup.notify();
    this.crossProcess?.signal();
    return {
      nextVersion: Number(row.next_version),
      firstPosition: row.first_position as Position,
      lastPosition: row.last_position as Position,
    };
  }

  private translate(error: PostgresError, streamId: string, expected: ExpectedVersion): Error {
    if (error.code === 'FC001')
      return new WrongExpectedVersionError(streamId, expected, Number(error.detail));
    if (error.code === 'FC002') return new DuplicateEventIdError(error.message, error.detail ?? '');
    if (error.code === '23505' && error.constraint === 'focal_events_event_id_key') {
      // Another stream took the id between our check and our insert.
      const id = /\(event_id\)=\(([^)]+)\)/.exec(error.detail ?? '')?.[1] ?? 'of this append';
      return new DuplicateEventIdError(id, 'in another stream');
    }
    if (error.code === '22P02' || error.code === '22021') {
      return new InvalidAppendError(`the database refused the events of ${streamId}: ${error.message}`);
    }
    return error as unknown as Error;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    assertStreamId(streamId);
    const backwards = options.direction === 'backwards';
    const limit = checkLimit(options.limit, Number.MAX_SAFE_INTEGER);
    const from = options.fromVersion ?? (backwards ? Number.MAX_SAFE_INTEGER : 1);
    if (!Number.isSafeInteger(from) || from < 0) {
      throw new InvalidReadError(
        `fromVersion ${String(options.fromVersion)} is not a version: use 1 or more`,
      );
    }
    const whole =
      options.direction === undefined && options.limit === undefined && options.fromVersion === undefined;
    // Inside a caller's transaction the stream is read in it; the gathered reads run outside any.
    if (whole && !this.driver.inTransaction) return this.wholeStreams.ask(streamId);
    const rows = await this.driver.query<EventRow>(
      `SELECT ${columns(false)} FROM focal_events
        WHERE stream_id = $1 AND stream_version ${backwards ? '<=' : '>='} $2
        ORDER BY focal_events.stream_version ${backwards ? 'DESC' : 'ASC'} LIMIT $3`,
      [streamId, from, Math.min(limit, 2 ** 53 - 1)],
    );
    return rows.map((row) => this.toEvent(row));
  }

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    // The log itself, never the shared tail: verification and audits must see what is stored now.
    const after = options.after === undefined ? 0n : BigInt(this.parsePosition(options.after));
    const page = await this.readPage(
      after,
      checkLimit(options.limit, DEFAULT_READ_ALL_LIMIT),
      options.filter,
      false,
    );
    return page.rows.map((row) => this.toEvent(row));
  }

  async readAllBackwards(options: ReadAllBackwardsOptions = {}): Promise<RecordedEvent[]> {
    const params: unknown[] = [checkLimit(options.limit, DEFAULT_READ_ALL_LIMIT)];
    // Below the horizon, as every reader of the log: an event above it may still be joined by one before it.
    const conditions = ['position < pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 16'];
    if (options.atOrBefore !== undefined) {
      params.push(this.parsePosition(options.atOrBefore));
      conditions.push(`position <= $${params.length}::bigint`);
    }
    conditions.push(...filterConditions(options.filter, params));
    const rows = await this.driver.query<EventRow>(
      `SELECT ${columns(false)} FROM focal_events
        WHERE ${conditions.join(' AND ')} ORDER BY focal_events.position DESC LIMIT $1`,
      params,
    );
    return rows.map((row) => this.toEvent(row));
  }

  async readAllPage(options: ReadAllOptions = {}): Promise<ReadAllPage> {
    const after = options.after === undefined ? 0n : BigInt(this.parsePosition(options.after));
    const limit = checkLimit(options.limit, DEFAULT_READ_ALL_LIMIT);
    const page = await this.followingPage(after, limit, options.filter);
    return {
      events: page.events,
      scannedTo: page.scannedTo === 0n ? options.after : (page.scannedTo.toString() as Position),
    };
  }

  /**
   * A page after `after` as a reader of the head of the log wants it: from the shared tail when `after` lies
   * in it (readers woken by the same commits share one query), from the log otherwise. A reader inside a
   * transaction reads through it, never through a read another caller started.
   */
  private async followingPage(after: bigint, limit: number, filter: EventFilter | undefined) {
    const shared = this.driver.inTransaction ? undefined : await this.tail.page(after, limit, filter);
    if (shared) return shared;
    const page = await this.readPage(after, limit, filter, false);
    return {
      events: page.rows.map((row) => this.toEvent(row)),
      scannedTo: page.scannedTo,
      blocked: page.blocked,
    };
  }

  /** How many events the log holds that `filter` takes (all without one): the size of a rebuild's work. */
  async countEvents(filter?: EventFilter): Promise<number> {
    const params: unknown[] = [];
    const conditions = filterConditions(filter, params);
    const [row] = await this.driver.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM focal_events${conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : ''}`,
      params,
    );
    return Number(row!.n);
  }

  async headPosition(): Promise<Position | undefined> {
    const [row] = await this.driver.query<{ head: string | null }>(
      `SELECT max(position)::text AS head FROM focal_events
        WHERE position < pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 16`,
    );
    return row?.head ? (row.head as Position) : undefined;
  }

  async lastCommittedPosition(): Promise<Position | undefined> {
    const [row] = await this.driver.query<{ last: string | null }>(
      'SELECT max(position)::text AS last FROM focal_events',
    );
    return row?.last ? (row.last as Position) : undefined;
  }

  /**
   * One page of the log after `after`, below the horizon: the oldest transaction still running, under
   * which every event is final. `blocked` says committed events wait above the horizon, behind an older
   * open transaction that no commit of ours will announce. `scannedTo` is how far the page looked: its last
   * row when full; otherwise the newest event below the horizon, since the scan went that far whatever the
   * filter kept (every event below the horizon is final, so none can appear there later).
   */
  private async readPage(
    after: bigint,
    limit: number,
    filter: EventFilter | undefined,
    jsonAsText: boolean,
  ): Promise<{ rows: EventRow[]; blocked: boolean; scannedTo: bigint }> {
    const params: unknown[] = [after.toString(), limit];
    const conditions = ['position > $1::bigint', 'position < h.below', ...filterConditions(filter, params)];
    const rows = await this.driver.query<
      EventRow & { below: string; head: string | null; readable: string | null }
    >(
      `WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 16 AS below)
       SELECT h.below::text AS below, (SELECT max(position) FROM focal_events)::text AS head,
              (SELECT max(position) FROM focal_events WHERE position < h.below)::text AS readable, e.*
         FROM h LEFT JOIN LATERAL (
           SELECT ${columns(jsonAsText)} FROM focal_events
            WHERE ${conditions.join(' AND ')} ORDER BY focal_events.position LIMIT $2) e ON true
        ORDER BY e.position::bigint`,
      params,
    );
    const first = rows[0];
    const blocked = first?.head != null && BigInt(first.head) >= BigInt(first.below);
    const found = first?.position == null ? [] : rows;
    let scannedTo = after;
    if (found.length === limit) scannedTo = BigInt(found.at(-1)!.position);
    else if (first?.readable != null && BigInt(first.readable) > after) scannedTo = BigInt(first.readable);
    return { rows: found, blocked, scannedTo };
  }

  async *subscribe(options: SubscribeOptions = {}): AsyncGenerator<RecordedEvent> {
    let after = options.after === undefined ? 0n : BigInt(this.parsePosition(options.after));
    const signal = options.signal
      ? AbortSignal.any([options.signal, this.closing.signal])
      : this.closing.signal;
    let backoff = 0;
    while (!signal.aborted) {
      const seen = this.wakeup.current;
      const { events, blocked, scannedTo } = await this.followingPage(after, this.pageSize, options.filter);
      for (const event of events) {
        if (signal.aborted) return;
        yield event;
      }
      // Past what the filter skipped too: the next wake-up reads only what is new.
      after = scannedTo;
      if (events.length === this.pageSize) continue;
      backoff = blocked ? Math.min(MAX_BLOCKED_BACKOFF_MS, backoff === 0 ? 2 : backoff * 2) : 0;
      await this.wakeup.wait(seen, blocked ? backoff : this.safetyPollMs, signal);
    }
  }

  comparePositions(a: Position, b: Position): number {
    const difference = BigInt(this.parsePosition(a)) - BigInt(this.parsePosition(b));
    return difference === 0n ? 0 : difference < 0n ? -1 : 1;
  }

  parsePosition(value: string): Position {
    if (typeof value !== 'string' || !/^[0-9]{1,19}$/.test(value) || BigInt(value) > MAX_POSITION) {
      throw new InvalidPositionError(
        String(value),
        'a decimal number issued by this store, such as 48318382080',
      );
    }
    return value as Position;
  }

  async verifyStream(streamId: string): Promise<VerificationReport> {
    assertStreamId(streamId);
    const verifier = new ChainVerifier();
    const rows = await this.driver.query<EventRow>(
      `SELECT ${columns(true)} FROM focal_events WHERE stream_id = $1 ORDER BY focal_events.stream_version`,
      [streamId],
    );
    for (const row of rows) {
      const failure = verifier.check(toStored(row));
      if (failure) return { ok: false, checked: verifier.checked, firstFailure: failure };
    }
    const [head] = await this.driver.query<{ version: string; last_hash: string }>(
      `SELECT version::text AS version, encode(last_hash, 'hex') AS last_hash FROM focal_streams WHERE stream_id = $1`,
      [streamId],
    );
    const failure = head && this.checkHead(verifier, streamId, Number(head.version), head.last_hash);
    return failure
      ? { ok: false, checked: verifier.checked, firstFailure: failure }
      : { ok: true, checked: verifier.checked };
  }

  async verifyAll(options: { onProgress?: (checked: number) => void } = {}): Promise<VerificationReport> {
    // Heads first: every event they name was committed before the walk starts, so the walk must reach it.
    const heads = await this.driver.query<{ stream_id: string; version: string; last_hash: string }>(
      `SELECT stream_id, version::text AS version, encode(last_hash, 'hex') AS last_hash FROM focal_streams`,
    );
    const verifier = new ChainVerifier();
    let after = 0n;
    for (;;) {
      const { rows } = await this.readPage(after, this.pageSize, undefined, true);
      for (const row of rows) {
        const failure = verifier.check(toStored(row));
        if (failure) return { ok: false, checked: verifier.checked, firstFailure: failure };
      }
      options.onProgress?.(verifier.checked);
      if (rows.length < this.pageSize) break;
      after = BigInt(rows[rows.length - 1]!.position);
    }
    for (const head of heads) {
      // A stream whose last events still sit above the horizon: follow its chain by version instead.
      const reached = verifier.head(head.stream_id)?.version ?? 0;
      if (reached < Number(head.version)) {
        const rest = await this.driver.query<EventRow>(
          `SELECT ${columns(true)} FROM focal_events
            WHERE stream_id = $1 AND stream_version > $2 AND stream_version <= $3
            ORDER BY focal_events.stream_version`,
          [head.stream_id, reached, head.version],
        );
        for (const row of rest) {
          const failure = verifier.check(toStored(row));
          if (failure) return { ok: false, checked: verifier.checked, firstFailure: failure };
        }
      }
      const failure = this.checkHead(verifier, head.stream_id, Number(head.version), head.last_hash);
      if (failure) return { ok: false, checked: verifier.checked, firstFailure: failure };
    }
    return { ok: true, checked: verifier.checked };
  }

  /** The stream's recorded head must be where its chain ends: catches events deleted from the tail. */
  private checkHead(verifier: ChainVerifier, streamId: string, version: number, lastHash: string) {
    const reached = verifier.head(streamId);
    if (!reached || reached.version < version) {
      const missing = version - (reached?.version ?? 0);
      return {
        streamId,
        streamVersion: (reached?.version ?? 0) + 1,
        problem:
          `the stream's head is at version ${version} but its events end at ${reached?.version ?? 0}: ` +
          `${missing} event(s) are missing`,
      };
    }
    if (reached.version === version && reached.hash !== lastHash) {
      return {
        streamId,
        streamVersion: version,
        problem: "the stream's head hash does not match its last event",
      };
    }
    return undefined;
  }

  private toEvent(row: EventRow): RecordedEvent {
    return this.schemas.upcast({
      eventId: row.event_id,
      type: row.type,
      schemaVersion: row.schema_version,
      streamId: row.stream_id,
      streamVersion: Number(row.stream_version),
      globalPosition: row.position as Position,
      recordedAt: new Date(row.recorded_at),
      visibility: row.visibility as Visibility,
      data: row.data as JsonObject,
      metadata: row.metadata as RecordedEvent['metadata'],
      hash: row.hash,
      previousHash: row.previous_hash,
    });
  }

  async close(): Promise<void> {
    this.closing.abort();
    await this.listener?.stop();
    if (this.closeDriver) await this.driver.close();
  }
}

function toStored(row: EventRow): StoredEventForVerification {
  return {
    position: row.position as Position,
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    streamId: row.stream_id,
    streamVersion: Number(row.stream_version),
    recordedAt: row.recorded_at,
    visibility: row.visibility as string,
    data: row.data as string,
    metadata: row.metadata as string,
    hash: row.hash,
    previousHash: row.previous_hash,
  };
}

function checkLimit(limit: number | undefined, fallback: number): number {
  if (limit === undefined) return fallback;
  if (
    !Number.isSafeInteger(limit) ||
    limit < 1 ||
    (fallback !== Number.MAX_SAFE_INTEGER && limit > MAX_LIMIT)
  ) {
    throw new InvalidReadError(
      `limit ${String(limit)} is not valid: use a whole number from 1 to ${MAX_LIMIT}`,
    );
  }
  return limit;
}

/** The SQL conditions of a filter, its values pushed onto `params`. */
function filterConditions(filter: EventFilter | undefined, params: unknown[]): string[] {
  const conditions: string[] = [];
  if (filter?.types?.length) {
    params.push(filter.types);
    conditions.push(`type = ANY($${params.length}::text[])`);
  }
  if (filter?.streamPrefixes?.length) {
    params.push(filter.streamPrefixes.map((prefix) => prefix.replace(/[\\%_]/g, '\\$&') + '%'));
    conditions.push(`stream_id LIKE ANY($${params.length}::text[])`);
  }
  return conditions;
}
