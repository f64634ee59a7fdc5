import type { RecordedEvent } from '../envelope.js';
import type { EventFilter } from '../event-store.js';

/** One read of the log: every event after `after` up to `scannedTo` (all, unfiltered), and whether it was full. */
export interface TailRead {
  events: RecordedEvent[];
  scannedTo: bigint;
  full: boolean;
  blocked: boolean;
}

/**
 * The newest part of the log, read once for every reader of this store in this process. Projections, live
 * subscriptions and the sealer all follow the head of the log and are woken by the same commits: without
 * this, each commit costs one query per reader; with it, readers that arrive together share one query.
 *
 * It relies on what makes positions gap-free (see sql/migrations.ts): a read sees every event below the
 * horizon, and none can appear there later. So the window holds every event in (from, to], and a reader
 * after any position in it is served the same events a query would give, from memory. A reader asks for a
 * refresh that starts after it asked, so it sees every commit made before it asked, as a query would.
 */
export class SharedTail {
  private from: bigint | undefined;
  private to = 0n;
  private blocked = false;
  private events: { position: bigint; event: RecordedEvent }[] = [];
  private running: Promise<unknown> = Promise.resolve();
  private next?: Promise<void>;

  constructor(
    private readonly read: (after: bigint, limit: number) => Promise<TailRead>,
    /** Events kept: readers further behind than this read the log themselves. */
    private readonly capacity = 4_096,
    /** Events per refresh. */
    private readonly pageSize = 1_000,
  ) {}

  /**
   * Events after `after` that match `filter` (at most `limit`), and how far they were scanned; undefined when
   * `after` lies before the window (the caller reads the log itself).
   */
  async page(
    after: bigint,
    limit: number,
    filter: EventFilter | undefined,
  ): Promise<{ events: RecordedEvent[]; scannedTo: bigint; blocked: boolean } | undefined> {
    if (this.from === undefined) {
      // The first reader to ask starts the window where it stands.
      this.from = after;
      this.to = after;
    }
    if (after < this.from) return undefined;
    await this.refresh();
    if (after > this.to) {
      // The reader is ahead of the window (it read the log itself while the window was behind): move the
      // window to it rather than chase the head a page at a time; readers left behind read the log.
      this.events = [];
      this.from = after;
      this.to = after;
      return undefined;
    }
    if (after < this.from) return undefined;
    let index = this.firstAfter(after);
    const events: RecordedEvent[] = [];
    let scannedTo = this.to;
    for (; index < this.events.length; index++) {
      const { position, event } = this.events[index]!;
      if (!matches(event, filter)) continue;
      events.push(event);
      if (events.length === limit) {
        scannedTo = position;
        break;
      }
    }
    return { events, scannedTo, blocked: this.blocked };
  }

  /** Resolves after a read of the log that started after this call (shared by all who call meanwhile). */
  private refresh(): Promise<void> {
    this.next ??= this.running
      .catch(() => undefined)
      .then(async () => {
        this.next = undefined;
        for (let pages = 1; ; pages++) {
          const read = await this.read(this.to, this.pageSize);
          for (const event of read.events) {
            this.events.push({ position: BigInt(event.globalPosition), event });
          }
          this.to = read.scannedTo;
          this.blocked = read.blocked;
          const excess = this.events.length - this.capacity;
          if (excess > 0) this.from = this.events.splice(0, excess).at(-1)!.position;
          if (!read.full) break;
          if (pages * this.pageSize >= this.capacity) {
            // A burst longer than the window: start it again at the head; readers behind read the log.
            this.events = [];
            this.from = this.to;
          }
        }
      });
    this.running = this.next;
    return this.next;
  }

  private firstAfter(after: bigint): number {
    let low = 0;
    let high = this.events.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.events[middle]!.position <= after) low = middle + 1;
      else high = middle;
    }
    return low;
  }
}

/** The SQL read's filter, in memory: a stream-id prefix taken literally, and the type among those listed. */
function matches(event: RecordedEvent, filter: EventFilter | undefined): boolean {
  if (filter?.types?.length && !filter.types.includes(event.type)) return false;
  if (
    filter?.streamPrefixes?.length &&
    !filter.streamPrefixes.some((prefix) => event.streamId.startsWith(prefix))
  )
    return false;
  return true;
}
