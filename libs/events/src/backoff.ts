/**
 * Delays between retries of a loop that failed: exponential from `baseMs`, capped at `maxMs`, each drawn
 * from the upper half of its ceiling ("equal jitter"). The jitter spreads the retries of many processes that
 * lost the same server at the same instant, so a restarting PostgreSQL is not met by all of them at once;
 * the lower half keeps every delay long enough that a long outage costs a handful of attempts (and log
 * lines), not thousands.
 */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs = 30_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** How many failures in a row since the last success. */
  get attempts(): number {
    return this.failures;
  }

  /** Counts a failure and returns how long to wait before the next attempt. */
  next(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return ceiling / 2 + (this.random() * ceiling) / 2;
  }

  succeeded(): void {
    this.failures = 0;
  }
}

/**
 * Waits `ms`, or less if `signal` aborts. The listener is removed when the timer fires: a loop that pauses
 * many times on one long-lived signal leaves nothing behind on it.
 */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
