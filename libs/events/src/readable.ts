import type { EventStore } from './event-store.js';

/**
 * Waits until readers of `store` see every event committed before the call. An event committed just before
 * may still be hidden behind an older transaction that is open (readers never skip one, see
 * EventStore.headPosition); that lasts as long as the transaction, bounded here by `maxWaitMs`.
 */
export async function untilReadable(store: EventStore, maxWaitMs = 5_000): Promise<void> {
  const target = await store.lastCommittedPosition();
  if (target === undefined) return;
  const deadline = Date.now() + maxWaitMs;
  for (let pause = 1; Date.now() < deadline; pause = Math.min(pause * 2, 50)) {
    const head = await store.headPosition();
    if (head !== undefined && store.comparePositions(head, target) >= 0) return;
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
