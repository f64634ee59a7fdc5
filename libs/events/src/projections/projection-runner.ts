import type { Position, RecordedEvent } from '../envelope.js';
import type { EventFilter, EventStore, ReadAllPage } from '../event-store.js';
import type { SqlDriver, SqlQueryable } from '../sql/driver.js';
import { migrate } from '../sql/migrations.js';
import { untilReadable } from '../readable.js';
import { Wakeup } from '../wakeup.js';
import { Backoff, pause } from '../backoff.js';

/** How much longer the next step waits for each event the last one applied (see `wakeIntervalMs`). */
const MS_PER_GATHERED_EVENT = 4;

/** An arbitrary constant: the advisory lock under which projections create their tables. */
const SET_UP_LOCK = 7_404_517_732;

/**
 * A consumer of the log that keeps its rows in SQL. `apply` runs inside the transaction that also moves the
 * consumer's checkpoint, so a crash either keeps both or neither: every event is applied exactly once.
 * `apply` must ignore event types it does not know.
 */
export interface SqlProjection {
  /** The checkpoint's name; unique per projection (and per version of it). */
  name: string;
  filter?: EventFilter;
  /** Creates the projection's tables if they are missing. */
  setUp(sql: SqlQueryable): Promise<void>;
  apply(tx: SqlQueryable, event: RecordedEvent): Promise<void>;
  /**
   * Applies a batch in log order, as `apply` would one by one: a projection that folds rows in memory and
   * writes each once per batch replays a long log many times faster. Used instead of `apply` when present.
   */
  applyBatch?(tx: SqlQueryable, events: readonly RecordedEvent[]): Promise<void>;
}

export interface ProjectionRunnerOptions {
  /** How often to look at the log without a wake-up: the bound on lag when a notification is lost. */
  pollMs?: number;
  batchSize?: number;
  onError?: (error: unknown) => void;
  /** Longest `catchUp` waits for readers to see what was committed before it (an open transaction's length). */
  catchUpWaitMs?: number;
  /** Called after each batch with how many events it applied: progress for long rebuilds. */
  onProgress?: (applied: number) => void;
  /**
   * How often, at most, the checkpoint is moved past events the filter skipped when no event was applied
   * (default 1 s). Between those writes the runner remembers the place; a restart re-reads at most that.
   */
  skipCheckpointMs?: number;
  /**
   * Shortest time between the starts of two steps that wake-ups ask for, as a range (default 10 to 50 ms):
   * the first wake-up after a quiet spell is served at once, and under a stream of commands the events of
   * that time gather into one batch, one transaction. The gate widens with the batch, 4 ms for each event
   * the last step applied: a single writer's read follows its write as at 10 ms, while from about 250 events
   * a second batches grow until a step takes 50 ms of events. At 10 ms throughout, the gateway's read models
   * took a third of the event loop at 500 registrations/s, mostly the fixed cost of each step (bench/README,
   * 2026-12-07 night). `catchUp` never waits for the gate.
   */
  wakeIntervalMs?: { min: number; max: number };
}

/**
 * Feeds a projection from the store, after its checkpoint. The store is the truth; `wake()` (called on a NATS
 * notification) makes the runner look at once instead of at its next poll. Several runners of one projection
 * (several instances of a service on one database) are safe: each batch locks the checkpoint row and skips
 * what another runner has applied meanwhile.
 */
export class ProjectionRunner {
  private readonly wakeup = new Wakeup();
  private readonly stopping = new AbortController();
  private serial: Promise<unknown> = Promise.resolve();
  private loop?: Promise<void>;
  private queuedCatchUp?: Promise<void>;
  private readonly pollMs: number;
  private readonly batchSize: number;
  /**
   * How far this runner has read the log: applied, or examined and skipped by the filter. Reads start here,
   * not at the stored checkpoint, so a filtered projection never rescans what it skipped, and a step costs
   * no checkpoint query. Another runner of the same projection may be further: the batch transaction then
   * skips what it applied and moves this place up to its checkpoint.
   */
  private position: { at: Position | undefined } | undefined;
  private persisted: Position | undefined;
  private persistedAt = 0;

  constructor(
    private readonly store: EventStore,
    private readonly sql: SqlDriver,
    private readonly projection: SqlProjection,
    private readonly options: ProjectionRunnerOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1_000;
    this.batchSize = options.batchSize ?? 500;
  }

  /**
   * Creates the tables and the checkpoint, then catches up and follows the log in the background until
   * `stop()`; a failing batch is retried with backoff rather than failing the start.
   */
  async start(): Promise<void> {
    await migrate(this.sql);
    // Instances starting together would race on CREATE TABLE IF NOT EXISTS: one at a time.
    await this.sql.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [SET_UP_LOCK]);
      await this.projection.setUp(tx);
      await tx.query(
        'INSERT INTO focal_checkpoints (consumer, position) VALUES ($1, NULL) ON CONFLICT DO NOTHING',
        [this.projection.name],
      );
    });
    this.loop = this.follow();
  }

  wake(): void {
    this.wakeup.notify();
  }

  /**
   * Applies every event stored before this call. An event committed just before may still be hidden from
   * readers behind an older transaction that is open (the price of never skipping one): wait, at most
   * `catchUpWaitMs`, until readers see everything committed at the call. Callers arriving together share one
   * catch-up, which starts after they arrived: a burst of commands costs one read of the log, not one each.
   */
  catchUp(): Promise<void> {
    this.queuedCatchUp ??= this.serial
      .catch(() => undefined)
      .then(async () => {
        this.queuedCatchUp = undefined;
        await untilReadable(this.store, this.options.catchUpWaitMs);
        // The next batch is read while this one is applied: the database and this process work at once.
        // A page that is not full scanned to the end of what readers see: nothing is left to read.
        let next = this.read(await this.place());
        for (;;) {
          const page = await next;
          const more = page.events.length === this.batchSize;
          if (more) {
            next = this.read(page.scannedTo);
            next.catch(() => undefined);
          }
          await this.applyPage(page);
          if (!more) break;
        }
      });
    this.serial = this.queuedCatchUp;
    return this.queuedCatchUp;
  }

  async checkpoint(): Promise<Position | undefined> {
    const [row] = await this.sql.query<{ position: string | null }>(
      'SELECT position FROM focal_checkpoints WHERE consumer = $1',
      [this.projection.name],
    );
    return row?.position ? this.store.parsePosition(row.position) : undefined;
  }

  /** How far behind the log the projection is: events not yet applied, and the age of the oldest of them. */
  async lag(limit = 10_000): Promise<{ events: number; milliseconds: number }> {
    const after = await this.checkpoint();
    const pending = await this.store.readAll({
      ...(after ? { after } : {}),
      limit,
      ...(this.projection.filter ? { filter: this.projection.filter } : {}),
    });
    const oldest = pending[0];
    return {
      events: pending.length,
      milliseconds: oldest ? Math.max(0, Date.now() - oldest.recordedAt.getTime()) : 0,
    };
  }

  get name(): string {
    return this.projection.name;
  }

  /** The events the projection reads (all without one). */
  get filter(): EventFilter | undefined {
    return this.projection.filter;
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    await this.serial.catch(() => undefined);
    // Keep the place reached past skipped events, so that a restart does not scan them again.
    const at = this.position?.at;
    if (at && (!this.persisted || this.store.comparePositions(at, this.persisted) > 0)) {
      await this.applyEvents([], at).catch((error: unknown) => this.options.onError?.(error));
    }
  }

  private async follow(): Promise<void> {
    // From the poll interval up to 5 s: an outage of the store costs a few attempts, not a busy loop.
    const backoff = new Backoff(this.pollMs, 5_000);
    const gate = this.options.wakeIntervalMs ?? { min: 10, max: 50 };
    while (!this.stopping.signal.aborted) {
      const seen = this.wakeup.current;
      const startedAt = Date.now();
      try {
        const applied = await this.step();
        backoff.succeeded();
        if (applied === this.batchSize) continue;
        const interval = Math.min(gate.max, Math.max(gate.min, applied * MS_PER_GATHERED_EVENT));
        await this.wakeup.wait(seen, this.pollMs, this.stopping.signal);
        const gathering = startedAt + interval - Date.now();
        if (gathering > 0) await pause(gathering, this.stopping.signal);
      } catch (error) {
        // The store or the database is away: keep the checkpoint, retry after a while. Wake-ups (one per
        // event notified over NATS) do not cut the wait short: they say nothing about the store being back.
        this.options.onError?.(error);
        await pause(backoff.next(), this.stopping.signal);
      }
    }
  }

  /** One batch, serialised with every other step of this runner. Returns how many events it read. */
  private step(): Promise<number> {
    const run = this.serial.catch(() => undefined).then(() => this.applyBatch());
    this.serial = run;
    return run;
  }

  private async applyBatch(): Promise<number> {
    const page = await this.read(await this.place());
    await this.applyPage(page);
    return page.events.length;
  }

  /** Where the next read starts: the stored checkpoint the first time, then this runner's own place. */
  private async place(): Promise<Position | undefined> {
    if (!this.position) {
      const stored = await this.checkpoint();
      this.position = { at: stored };
      this.persisted = stored;
    }
    return this.position.at;
  }

  private read(after: Position | undefined): Promise<ReadAllPage> {
    return this.store.readAllPage({
      ...(after ? { after } : {}),
      limit: this.batchSize,
      ...(this.projection.filter ? { filter: this.projection.filter } : {}),
    });
  }

  private advanced(page: ReadAllPage): boolean {
    const at = this.position?.at;
    return (
      page.scannedTo !== undefined &&
      (at === undefined || this.store.comparePositions(page.scannedTo, at) > 0)
    );
  }

  /**
   * Applies a page read after this runner's place and moves the checkpoint to where the read scanned. A page
   * with nothing to apply moves the place in memory, and the stored checkpoint at most every
   * `skipCheckpointMs`: a write per wake-up would cost more than the rescan it saves.
   */
  private async applyPage(page: ReadAllPage): Promise<void> {
    if (!this.advanced(page)) return;
    if (page.events.length === 0) {
      this.position = { at: page.scannedTo };
      if (Date.now() - this.persistedAt < (this.options.skipCheckpointMs ?? 1_000)) return;
    }
    await this.applyEvents(page.events, page.scannedTo!);
  }

  /** Applies events read after the checkpoint, skipping what another runner applied meanwhile. */
  private async applyEvents(events: readonly RecordedEvent[], scannedTo: Position): Promise<void> {
    const stored = await this.sql.transaction(async (tx) => {
      const [row] = await tx.query<{ position: string | null }>(
        'SELECT position FROM focal_checkpoints WHERE consumer = $1 FOR UPDATE',
        [this.projection.name],
      );
      const current = row?.position ? this.store.parsePosition(row.position) : undefined;
      const unapplied = current
        ? events.filter((event) => this.store.comparePositions(event.globalPosition, current) > 0)
        : events;
      if (this.projection.applyBatch) {
        if (unapplied.length > 0) await this.projection.applyBatch(tx, unapplied);
      } else {
        for (const event of unapplied) await this.projection.apply(tx, event);
      }
      // Another runner may have gone further meanwhile: never move the checkpoint back.
      if (current && this.store.comparePositions(scannedTo, current) <= 0) return current;
      await tx.query('UPDATE focal_checkpoints SET position = $2, updated_at = now() WHERE consumer = $1', [
        this.projection.name,
        scannedTo,
      ]);
      return scannedTo;
    });
    this.position = { at: stored };
    this.persisted = stored;
    this.persistedAt = Date.now();
    if (events.length > 0) this.options.onProgress?.(events.length);
  }
}
