import { LogNotReadableError } from './errors.js';
import type { EventStore } from './event-store.js';

/**
 * Waits until readers of `store` see every event committed before the call, and says whether they do. An
 * event committed just before may still be hidden behind an older transaction that is open (readers never
 * skip one, see EventStore.headPosition); that lasts as long as the transaction, bounded here by `maxWaitMs`.
 */
export async function untilReadable(store: EventStore, maxWaitMs = 5_000): Promise<boolean> {
  const target = await store.lastCommittedPosition();
  if (target === undefined) return true;
  const deadline = Date.now() + maxWaitMs;
  for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
    const head = await store.headPosition();
    if (head !== undefined && store.comparePositions(head, target) >= 0) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/** `untilReadable`, or LogNotReadableError: for reads that must not answer with part of what was committed. */
export async function readableOrRefuse(store: EventStore, maxWaitMs = 5_000): Promise<void> {
  if (!(await untilReadable(store, maxWaitMs))) throw new LogNotReadableError(maxWaitMs);
}
