import { Backoff, pause, Wakeup, type EventStore, type Position, type RecordedEvent } from '@focal/events';

export interface LogTailOptions {
  /** Recent events kept in memory for live subscribers. */
  capacity?: number;
  /** First pause before following the log again after a failure (the store down); doubles up to 5 s, jittered. */
  retryMs?: number;
  onError?: (error: unknown) => void;
  /**
   * Made ready for the events of an announcement before its listeners and waiters hear of them, and let go
   * once they have (frames that must be decrypted, once for all subscribers): returns how to let it go.
   * Called only when someone listens (`onNextArrival`).
   */
  prepare?: (events: readonly RecordedEvent[]) => Promise<() => void>;
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
  /** Called once, in the tail's own turn, when events next arrive: see `onNextArrival`. */
  private readonly listeners = new Set<() => void>();
  private ring: RecordedEvent[] = [];
  /** The sequence number of ring[0]: every event the tail took in has one, counting up. */
  private firstSeq = 0;
  /** The ring holds every event after this position; null: from the beginning of the log. */
  private floor: Position | null = null;
  private last: Position | null = null;
  /** The sequence number of the first event not taken into an announcement yet. */
  private unannounced = 0;
  private announced = 0;
  private announcing = false;
  private readonly stopping = new AbortController();
  private loop?: Promise<void>;
  private readonly capacity: number;
  private readonly retryMs: number;

  constructor(
    private readonly store: EventStore,
    private readonly options: LogTailOptions = {},
  ) {
    this.capacity = options.capacity ?? 10_000;
    this.retryMs = options.retryMs ?? 1_000;
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

  /**
   * The sequence number after the last event announced: a listener takes events up to here; those after it
   * arrived while an announcement was being prepared, and come, prepared, with the next one.
   */
  get announcedUpTo(): number {
    return this.announced;
  }

  /** The newest position the tail has seen: where a subscriber without a resume position starts. */
  get head(): Position | null {
    return this.last;
  }

  /**
   * Up to `limit` events after `cursor` from memory, with the sequence number to continue from, or undefined
   * when `cursor` lies before what the ring holds (the caller then reads the store).
   */
  after(cursor: Position | null, limit: number): { events: RecordedEvent[]; nextSeq: number } | undefined {
    const compare = (a: Position, b: Position) => this.store.comparePositions(a, b);
    if (this.floor !== null && (cursor === null || compare(cursor, this.floor) < 0)) return undefined;
    // A cursor the tail has not reached yet (the subscriber resumes after an event the tail is still to take
    // in) is not the ring's to serve: continuing from the ring's end would send the events up to the cursor,
    // which the subscriber already has, when the tail takes them in.
    if (cursor !== null && (this.last === null || compare(cursor, this.last) > 0)) return undefined;
    let low = 0;
    let high = this.ring.length;
    if (cursor !== null) {
      while (low < high) {
        const middle = (low + high) >> 1;
        if (compare(this.ring[middle]!.globalPosition, cursor) <= 0) low = middle + 1;
        else high = middle;
      }
    }
    return this.fromSeq(this.firstSeq + low, limit);
  }

  /**
   * Up to `limit` events from sequence number `seq` on: how a live subscriber keeps its place without
   * comparing positions (1,000 subscribers, each comparing on each event, cost more than the writes).
   * Undefined when those events have left the ring.
   */
  fromSeq(seq: number, limit: number): { events: RecordedEvent[]; nextSeq: number } | undefined {
    if (seq < this.firstSeq) return undefined;
    const events = this.ring.slice(seq - this.firstSeq, seq - this.firstSeq + limit);
    return { events, nextSeq: seq + events.length };
  }

  /**
   * Calls `listener` once, synchronously, when the tail next takes events in, before `arrivals` wakes its
   * waiters: a subscriber that is caught up takes the new events there and then, without a promise, a wake-up
   * and a resumption of its own (a thousand of them, for every event). Returns how to stop listening.
   */
  onNextArrival(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Announces what arrived since the last announcement, once what it needs is ready: one at a time. */
  private async announceArrivals(): Promise<void> {
    const events = this.ring.slice(Math.max(this.unannounced, this.firstSeq) - this.firstSeq);
    const upTo = this.firstSeq + this.ring.length;
    this.unannounced = upTo;
    let letGo = () => undefined as void;
    // Only for listeners: nobody caught up, nothing to prepare (a stream in its own loop prepares its page).
    if (this.options.prepare && events.length > 0 && this.listeners.size > 0) {
      try {
        letGo = await this.options.prepare(events);
      } catch (error) {
        // Announced unprepared: each subscriber then looks up what it needs on its own, and meets the failure.
        this.options.onError?.(error);
      }
    }
    this.announced = upTo;
    this.announce();
    letGo();
    this.announcing = false;
    if (this.unannounced < this.firstSeq + this.ring.length) this.scheduleAnnouncement();
  }

  /** One announcement per turn of the event loop, however many events arrived in it. */
  private scheduleAnnouncement(): void {
    if (this.announcing || this.stopping.signal.aborted) return;
    this.announcing = true;
    setImmediate(() => void this.announceArrivals());
  }

  private announce(): void {
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) {
      try {
        listener();
      } catch (error) {
        this.options.onError?.(error);
      }
    }
    this.arrivals.notify();
  }

  /**
   * Follows the log through the store's own subscription, which knows when committed events are still
   * hidden behind an older open transaction and looks again at once (a NATS notification cannot know that).
   */
  private async follow(): Promise<void> {
    // Notifications do not cut a retry short: under load they arrive many times a second, store or no store.
    const backoff = new Backoff(this.retryMs, 5_000);
    while (!this.stopping.signal.aborted) {
      try {
        for await (const event of this.store.subscribe({
          ...(this.last ? { after: this.last } : {}),
          signal: this.stopping.signal,
        })) {
          backoff.succeeded();
          this.ring.push(event);
          if (this.ring.length > this.capacity) {
            this.floor = this.ring.shift()!.globalPosition;
            this.firstSeq++;
          }
          this.last = event.globalPosition;
          this.scheduleAnnouncement();
        }
      } catch (error) {
        this.options.onError?.(error);
        await pause(backoff.next(), this.stopping.signal);
      }
    }
  }
}
