import { performance } from 'node:perf_hooks';

/**
 * Wakes waiting subscribers when new events may be readable. A waiter passes the generation it saw before
 * reading, so a wake-up that lands between its read and its wait is never lost.
 */
export class Wakeup {
  private generation = 0;
  private readonly waiters = new Set<() => void>();

  get current(): number {
    return this.generation;
  }

  notify(): void {
    this.generation++;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /**
   * Resolves on a wake-up after generation `since`, after `timeoutMs` (when given), or when `signal` aborts.
   * Without a timeout no timer is made: many waiters (one per live subscriber) cost no timers at all. A
   * waiter that waits again and again (a live stream, once per event) passes a `WaitCancel` instead of a
   * signal: the wait puts its ending there, for the waiter's own close to call, which costs no listener per wait.
   */
  wait(since: number, timeoutMs?: number, signal?: AbortSignal | WaitCancel): Promise<void> {
    const abortSignal = signal instanceof AbortSignal ? signal : undefined;
    const cancel = signal instanceof AbortSignal ? undefined : signal;
    if (this.generation !== since || abortSignal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (timer) clearTimeout(timer);
        this.waiters.delete(done);
        if (abortSignal) abortSignal.removeEventListener('abort', done);
        else if (cancel) cancel.cancel = undefined;
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(done, timeoutMs);
      this.waiters.add(done);
      if (abortSignal) abortSignal.addEventListener('abort', done, { once: true });
      else if (cancel) cancel.cancel = done;
    });
  }
}

/** Where a `Wakeup.wait` puts its ending while it waits: calling `cancel` ends the wait at once. */
export interface WaitCancel {
  cancel?: () => void;
}

/**
 * Sends a cross-process signal after commits: at most one in flight and at most one per `intervalMs`;
 * commits that land meanwhile are covered by the next one. NOTIFY is kept out of the append transaction on
 * purpose: PostgreSQL serialises the commits of notifying transactions on one global lock, which would
 * serialise all appends. Measured with 32 writers, one NOTIFY per append cost a fifth of the throughput;
 * one per 2 ms costs next to nothing and adds at most 2 ms to other processes' lag.
 */
export class CoalescingSignal {
  private inFlight = false;
  private pending = false;
  private lastSent = -Infinity;

  constructor(
    private readonly send: () => Promise<void>,
    private readonly intervalMs = 2,
  ) {}

  signal(): void {
    if (this.inFlight) {
      this.pending = true;
      return;
    }
    this.inFlight = true;
    const wait = this.lastSent + this.intervalMs - performance.now();
    const fire = () => {
      this.lastSent = performance.now();
      this.send()
        // A lost signal only delays other processes until their safety poll; the log itself is intact.
        .catch(() => undefined)
        .finally(() => {
          this.inFlight = false;
          if (this.pending) {
            this.pending = false;
            this.signal();
          }
        });
    };
    if (wait > 0) setTimeout(fire, wait);
    else fire();
  }
}
