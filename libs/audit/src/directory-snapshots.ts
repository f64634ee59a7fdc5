import {
  pause,
  readableOrRefuse,
  type EventStore,
  type KeyStore,
  type Position,
  type SqlDriver,
} from '@focal/events';

import {
  DIRECTORY_PREFIXES,
  DirectoryReplay,
  type DirectoryAsOf,
  type DirectoryReplayState,
} from './directory-replay.js';

const FILTER = { streamPrefixes: Object.values(DIRECTORY_PREFIXES) };
const PAGE = 5_000;

interface SnapshotRow {
  position: string;
  /** The latest recording time of any directory event at or before `position`. */
  max_recorded_at: Date;
  /** The earliest recording time among the directory events since the previous snapshot. */
  segment_min_recorded_at: Date;
}

/**
 * The directory as of any instant, fast on a long log: snapshots of the folded directory every `every`
 * directory events, taken in the background, and each query replays from the nearest usable one.
 *
 * An instant selects the events recorded at or before it, in log order. Recording times are not quite
 * monotonic in log order (concurrent transactions), so a snapshot at P serves instant t only when every event
 * up to P was recorded by t; the replay after it stops at the first snapshot after which nothing recorded by
 * t remains, except for the tail after the last snapshot, always read. Snapshots hold personal fields as
 * stored (ciphertext): decrypted at query time, so an erasure reaches them. They are derived data: deleting
 * the table only makes queries slower until they are taken again.
 */
export class DirectorySnapshots {
  private readonly stopping = new AbortController();
  private loop?: Promise<void>;

  constructor(
    private readonly store: EventStore,
    private readonly sql: SqlDriver,
    private readonly keys: KeyStore,
    private readonly options: {
      every: number;
      pollMs?: number;
      /** How long a query waits for events hidden behind an open transaction before it refuses (5 s). */
      readableWaitMs?: number;
      onError?: (error: unknown) => void;
    },
  ) {}

  async setUp(): Promise<void> {
    await this.sql.exec(`CREATE TABLE IF NOT EXISTS focal_directory_snapshots (
      position text PRIMARY KEY,
      max_recorded_at timestamptz NOT NULL,
      segment_min_recorded_at timestamptz NOT NULL,
      state jsonb NOT NULL,
      taken_at timestamptz NOT NULL DEFAULT now())`);
  }

  /** Takes snapshots in the background until `stop()`. */
  start(): void {
    this.loop = this.follow();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  private async rows(): Promise<SnapshotRow[]> {
    const rows = await this.sql.query<SnapshotRow>(
      'SELECT position, max_recorded_at, segment_min_recorded_at FROM focal_directory_snapshots',
    );
    return rows
      .map((row) => ({
        ...row,
        max_recorded_at: new Date(row.max_recorded_at),
        segment_min_recorded_at: new Date(row.segment_min_recorded_at),
      }))
      .sort((a, b) => this.store.comparePositions(a.position as Position, b.position as Position));
  }

  private async load(position: string): Promise<DirectoryReplay> {
    const [row] = await this.sql.query<{ state: DirectoryReplayState }>(
      'SELECT state FROM focal_directory_snapshots WHERE position = $1',
      [position],
    );
    return new DirectoryReplay(row!.state);
  }

  /** Replays directory events after `after` (up to `until`, inclusive, if given), those recorded by `instant`. */
  private async replay(
    replay: DirectoryReplay,
    after: Position | undefined,
    until: Position | undefined,
    instant?: Date,
  ) {
    for (;;) {
      const page = await this.store.readAll({ ...(after ? { after } : {}), limit: PAGE, filter: FILTER });
      for (const event of page) {
        if (until && this.store.comparePositions(event.globalPosition, until) > 0) return;
        if (!instant || event.recordedAt.getTime() <= instant.getTime()) replay.apply(event);
      }
      if (page.length < PAGE) return;
      after = page.at(-1)!.globalPosition;
    }
  }

  async asOf(instant: Date): Promise<DirectoryAsOf> {
    await readableOrRefuse(this.store, this.options.readableWaitMs);
    const rows = await this.rows();
    const t = instant.getTime();
    let start = -1;
    rows.forEach((row, index) => {
      if (row.max_recorded_at.getTime() <= t) start = index;
    });
    // The last snapshot after which no segment holds an event recorded by t, and never one before `start`:
    // when every segment after `start` begins after t, it is `start` itself (-1, the start of the log, when
    // t precedes every snapshot), and nothing lies between the two.
    let stop = rows.length - 1;
    while (stop > start && rows[stop]!.segment_min_recorded_at.getTime() > t) stop--;
    const replay = start >= 0 ? await this.load(rows[start]!.position) : new DirectoryReplay();
    const from = start >= 0 ? (rows[start]!.position as Position) : undefined;
    if (stop === rows.length - 1) {
      await this.replay(replay, from, undefined, instant);
    } else {
      // Segments (start, stop], if any, then the tail after the last snapshot, always read.
      if (stop > start) await this.replay(replay, from, rows[stop]!.position as Position, instant);
      await this.replay(replay, rows.at(-1)!.position as Position, undefined, instant);
    }
    return replay.render(instant, this.keys);
  }

  /** Where the snapshot follower stands; undefined: reload from the last snapshot. */
  private follower?: {
    replay: DirectoryReplay;
    /** The last directory event applied: where a snapshot taken now stands. */
    after: Position | undefined;
    /** How far the log has been read, past other events too: where the next read starts. */
    scanned: Position | undefined;
    maxRecordedAt: number;
    since: number;
    segmentMin: number;
  };
  private serial: Promise<void> = Promise.resolve();

  /** Takes the snapshots due in the log as it stands now (the background loop calls it every `pollMs`). */
  catchUp(): Promise<void> {
    const run = this.serial.then(() => this.takeSnapshots());
    this.serial = run.catch(() => undefined);
    return run;
  }

  private async takeSnapshots(): Promise<void> {
    try {
      if (!this.follower) {
        const last = (await this.rows()).at(-1);
        this.follower = {
          replay: last ? await this.load(last.position) : new DirectoryReplay(),
          after: last?.position as Position | undefined,
          scanned: last?.position as Position | undefined,
          maxRecordedAt: last?.max_recorded_at.getTime() ?? 0,
          since: 0,
          segmentMin: Number.POSITIVE_INFINITY,
        };
      }
      const at = this.follower;
      for (;;) {
        const { events: page, scannedTo } = await this.store.readAllPage({
          ...(at.scanned ? { after: at.scanned } : {}),
          limit: PAGE,
          filter: FILTER,
        });
        for (const event of page) {
          at.replay.apply(event);
          at.after = event.globalPosition;
          at.since++;
          const recorded = event.recordedAt.getTime();
          at.maxRecordedAt = Math.max(at.maxRecordedAt, recorded);
          at.segmentMin = Math.min(at.segmentMin, recorded);
          if (at.since >= this.options.every) {
            await this.sql.query(
              `INSERT INTO focal_directory_snapshots (position, max_recorded_at, segment_min_recorded_at, state)
               VALUES ($1, $2, $3, $4) ON CONFLICT (position) DO NOTHING`,
              [
                at.after,
                new Date(at.maxRecordedAt),
                new Date(at.segmentMin),
                JSON.stringify(at.replay.state),
              ],
            );
            at.since = 0;
            at.segmentMin = Number.POSITIVE_INFINITY;
          }
        }
        at.scanned = scannedTo;
        if (page.length < PAGE || this.stopping.signal.aborted) return;
      }
    } catch (error) {
      this.follower = undefined;
      throw error;
    }
  }

  private async follow(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      await this.catchUp().catch((error: unknown) => this.options.onError?.(error));
      await pause(this.options.pollMs ?? 5_000, signal);
    }
  }
}
