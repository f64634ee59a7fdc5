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

  it('prepares the events of each announcement before anyone hears of them, and lets them go after', async () => {
    const ready = new Set<string>();
    const prepared: string[][] = [];
    const tail = new LogTail(store, {
      prepare: async (events) => {
        prepared.push(events.map((event) => event.eventId));
        // A look-up that takes a while (a key from the store): nobody may hear of the events meanwhile.
        await new Promise((resolve) => setTimeout(resolve, 20));
        events.forEach((event) => ready.add(event.eventId));
        return () => events.forEach((event) => ready.delete(event.eventId));
      },
    });
    await tail.start();
    try {
      const readyWhenHeard = new Promise<boolean[]>((resolve) =>
        tail.onNextArrival(() => resolve(tail.fromSeq(0, 10)!.events.map((e) => ready.has(e.eventId)))),
      );
      const first = [openEvent(), openEvent()];
      await store.append(`thread-${randomUUID()}`, first, { expectedVersion: 'no-stream' });
      expect(await readyWhenHeard).toEqual([true, true]);
      // Let go once the listeners have run: nothing stays prepared.
      expect(ready.size).toBe(0);
      const second = openEvent();
      const heardSecond = new Promise<void>((resolve) => tail.onNextArrival(resolve));
      await store.append(`thread-${randomUUID()}`, [second], { expectedVersion: 'no-stream' });
      await heardSecond;
      // Nobody listening: nothing to prepare (a subscriber in its own loop prepares what it reads).
      const before = tail.arrivals.current;
      await store.append(`thread-${randomUUID()}`, [openEvent()], { expectedVersion: 'no-stream' });
      await tail.arrivals.wait(before);
      // Each event is prepared once, with the announcement that first carries it.
      expect(prepared).toEqual([first.map((event) => event.eventId), [second.eventId]]);
      expect(ready.size).toBe(0);
    } finally {
      await tail.stop();
    }
  });

  it('announces events whose preparation failed: the subscribers then look up what they need themselves', async () => {
    const errors: unknown[] = [];
    const tail = new LogTail(store, {
      prepare: () => Promise.reject(new Error('the key store is unreachable')),
      onError: (error) => errors.push(error),
    });
    await tail.start();
    try {
      const heard = new Promise<number>((resolve) =>
        tail.onNextArrival(() => resolve(tail.fromSeq(0, 10)!.events.length)),
      );
      await store.append(`thread-${randomUUID()}`, [openEvent()], { expectedVersion: 'no-stream' });
      expect(await heard).toBe(1);
      expect(errors).toEqual([new Error('the key store is unreachable')]);
    } finally {
      await tail.stop();
    }
  });

  it('announces what it prepared: events arriving meanwhile wait for the next announcement', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const prepared: number[] = [];
    const tail = new LogTail(store, {
      prepare: async (events) => {
        prepared.push(events.length);
        if (prepared.length === 1) await held;
        return () => undefined;
      },
    });
    await tail.start();
    const soon = async (condition: () => boolean) => {
      for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(condition()).toBe(true);
    };
    try {
      // As a caught-up stream does: takes what was announced, and listens again.
      const heard: number[] = [];
      const listen = () =>
        tail.onNextArrival(() => {
          heard.push(tail.announcedUpTo);
          listen();
        });
      listen();
      await store.append(`thread-${randomUUID()}`, [openEvent()], { expectedVersion: 'no-stream' });
      await soon(() => prepared.length === 1);
      // Taken in while the first announcement is being prepared: in the ring, not announced.
      await store.append(`thread-${randomUUID()}`, [openEvent(), openEvent()], {
        expectedVersion: 'no-stream',
      });
      await soon(() => tail.fromSeq(0, 10)!.events.length === 3);
      expect(tail.announcedUpTo).toBe(0);
      release();
      // The first announcement gives the listener the one event prepared; the next, the two that waited.
      await soon(() => heard.length === 2);
      expect(heard).toEqual([1, 3]);
      expect(prepared).toEqual([1, 2]);
    } finally {
      await tail.stop();
    }
  });
});
