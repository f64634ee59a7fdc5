import { randomUUID } from 'node:crypto';

import { openPGliteEventStore, type NewEvent, type SqlEventStore } from '@focal/events';

import { LogTail } from './log-tail.js';

const openEvent = (): NewEvent => ({
  eventId: randomUUID(),
  type: 'StateStatusChanged',
  data: { note: randomUUID() },
  metadata: { actor: { principal: 'test', role: 'secretariat' }, correlationId: 'log-tail' },
  visibility: { level: 'open' },
});

describe('LogTail', () => {
  let store: SqlEventStore;

  beforeAll(async () => {
    store = await openPGliteEventStore();
  });
  afterAll(() => store.close());

  it('does not serve from memory a resume position it has not reached: the store does', async () => {
    const tail = new LogTail(store);
    await tail.start();
    // Stopped, the tail takes in nothing more: it stands for one that lags the log (a loaded gateway).
    await tail.stop();
    const { lastPosition: first } = await store.append(`thread-${randomUUID()}`, [openEvent()], {
      expectedVersion: 'no-stream',
    });
    const { lastPosition: second } = await store.append(`thread-${randomUUID()}`, [openEvent()], {
      expectedVersion: 'no-stream',
    });
    expect(tail.head).not.toBe(second);
    // Served from the ring's end, this subscriber would receive `first` and `second` again once the tail
    // took them in; it reads the store after its position instead.
    expect(tail.after(store.parsePosition(second), 10)).toBeUndefined();
    expect(tail.after(store.parsePosition(first), 10)).toBeUndefined();
    // What the tail has reached it serves: from its head on, nothing yet.
    expect(tail.after(tail.head, 10)).toEqual({ events: [], nextSeq: 0 });
  });

  it('calls a listener once, in its own turn, when events next arrive, before its waiters wake', async () => {
    const tail = new LogTail(store);
    await tail.start();
    try {
      const order: string[] = [];
      const waited = tail.arrivals.wait(tail.arrivals.current).then(() => order.push('waiter'));
      const heard = new Promise<number>((resolve) =>
        tail.onNextArrival(() => {
          order.push('listener');
          resolve(tail.fromSeq(0, 10)!.events.length);
        }),
      );
      const stopped = tail.onNextArrival(() => order.push('stopped listener'));
      stopped();
      await store.append(`thread-${randomUUID()}`, [openEvent(), openEvent()], {
        expectedVersion: 'no-stream',
      });
      expect(await heard).toBe(2);
      await waited;
      const before = tail.arrivals.current;
      await store.append(`thread-${randomUUID()}`, [openEvent()], { expectedVersion: 'no-stream' });
      await tail.arrivals.wait(before);
      expect(order).toEqual(['listener', 'waiter']);
    } finally {
      await tail.stop();
    }
  });
});
