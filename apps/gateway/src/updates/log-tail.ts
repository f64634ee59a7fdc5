import { Wakeup, type EventStore, type Position, type RecordedEvent } from '@focal/events';

export interface LogTailOptions {
  /** Recent events kept in memory for live subscribers. */
  capacity?: number;
  /** How often to look at the log without a wake-up (a lost NATS notification costs at most this). */
  pollMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * One tail of the log per gateway, shared by every live subscriber: it reads each new page of the log once
 * and keeps the most recent events in a ring. A subscriber whose position is inside the ring is served from
 * memory; one further behind reads the store from its own position. Either way it resumes exactly after the
 * last event it was sent: the ring is a cache, the store the truth.
 */
export class LogTail {
  /** Subscribers wait on this for events newer than what they have. */
  readonly arrivals = new Wakeup();
  private readonly wakeups = new Wakeup();
  private ring: RecordedEvent[] = [];
  /** The ring holds every event after this position; null: from the beginning of the log. */
  private floor: Position | null = null;
  private last: Position | null = null;
  private readonly stopping = new AbortController();
  private loop?: Promise<void>;
  private readonly capacity: number;
  private readonly pollMs: number;

  constructor(
    private readonly store: EventStore,
    private readonly options: LogTailOptions = {},
  ) {
    this.capacity = options.capacity ?? 10_000;
    this.pollMs = options.pollMs ?? 1_000;
  }

  async start(): Promise<void> {
    this.last = (await this.store.headPosition()) ?? null;
    this.floor = this.last;
    this.loop = this.follow();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
  }

  /** A notification arrived: look now. */
  wake(): void {
    this.wakeups.notify();
  }

  /** The newest position the tail has seen: where a subscriber without a resume position starts. */
  get head(): Position | null {
    return this.last;
  }

  /**
   * Up to `limit` events after `cursor` from memory, or undefined when `cursor` lies before what the ring
   * holds (the caller then reads the store).
   */
  after(cursor: Position | null, limit: number): RecordedEvent[] | undefined {
    const compare = (a: Position, b: Position) => this.store.comparePositions(a, b);
    if (this.floor !== null && (cursor === null || compare(cursor, this.floor) < 0)) return undefined;
    let low = 0;
    let high = this.ring.length;
    if (cursor !== null) {
      while (low < high) {
        const middle = (low + high) >> 1;
        if (compare(this.ring[middle]!.globalPosition, cursor) <= 0) low = middle + 1;
        else high = middle;
      }
    }
    return this.ring.slice(low, low + limit);
  }

  private async follow(): Promise<void> {
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      const seen = this.wakeups.current;
      try {
        const page = await this.store.readAll({ ...(this.last ? { after: this.last } : {}), limit: 1_000 });
        failures = 0;
        if (page.length > 0) {
          this.ring.push(...page);
          if (this.ring.length > this.capacity) {
            const evicted = this.ring.splice(0, this.ring.length - this.capacity);
            this.floor = evicted.at(-1)!.globalPosition;
          }
          this.last = page.at(-1)!.globalPosition;
          this.arrivals.notify();
          continue;
        }
        await this.wakeups.wait(seen, this.pollMs, this.stopping.signal);
      } catch (error) {
        this.options.onError?.(error);
        failures++;
        await this.wakeups.wait(-1, Math.min(this.pollMs * 2 ** failures, 30_000), this.stopping.signal);
      }
    }
  }
}
