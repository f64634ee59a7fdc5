import { until } from '../../../test/support/until.js';
import {
  ProjectionRunner,
  SqlEventStore,
  type RecordedEvent,
  type SqlDriver,
  type SqlProjection,
} from '../src/index.js';
import { collect, newEvent, prefix } from './contract.js';
import { drivers } from './drivers.js';

/** A driver that counts the reads of the log's pages (the store's own query), and otherwise is the driver. */
function counting(driver: SqlDriver): { driver: SqlDriver; pageReads: () => number } {
  let reads = 0;
  const wrapper = Object.create(driver) as SqlDriver;
  wrapper.query = (text, params) => {
    if (text.includes('LEFT JOIN LATERAL')) reads++;
    return driver.query(text, params);
  };
  return { driver: wrapper, pageReads: () => reads };
}

describe.each(drivers)('readers of the head of the log share its reads (%s)', (name, open) => {
  it('ten live subscribers woken by one commit share its read, and each gets its own events', async () => {
    const { driver, done } = await open();
    const { driver: counted, pageReads } = counting(driver);
    const store = await SqlEventStore.open(counted, { closeDriver: false, safetyPollMs: 3_600_000 });
    try {
      const base = prefix();
      await store.append(`${base}seed`, [newEvent()], { expectedVersion: 'no-stream' });
      const head = (await store.headPosition())!;
      const stop = new AbortController();
      const subscribers = Array.from({ length: 10 }, (_, i) =>
        collect(store.subscribe({ after: head, filter: { types: [`T${i}`] }, signal: stop.signal }), 1),
      );
      // Every subscriber has read once and waits: from here on, count.
      await new Promise((resolve) => setImmediate(resolve));
      const before = pageReads();
      // One commit, one wake-up for all ten.
      await store.append(
        `${base}1`,
        Array.from({ length: 10 }, (_, i) => newEvent(`T${i}`)),
        { expectedVersion: 'no-stream' },
      );
      const received: RecordedEvent[][] = await Promise.all(subscribers);
      const reads = pageReads() - before;
      stop.abort();
      received.forEach((events, i) => expect(events.map((event) => event.type)).toEqual([`T${i}`]));
      // Each subscriber reading for itself would make ten reads; shared, the wake-up costs about one. Not on
      // a shared server: another database's open transaction holds the horizon back there, and subscribers
      // that see committed events waiting behind it poll on timers of their own.
      if (name === 'PGlite') expect(reads).toBeLessThan(10);
    } finally {
      await store.close();
      await done();
    }
  });

  it('projection runners woken with the position notified ride on a read made for another reader', async () => {
    const { driver, done } = await open();
    const { driver: counted, pageReads } = counting(driver);
    const store = await SqlEventStore.open(counted, { closeDriver: false, safetyPollMs: 3_600_000 });
    const base = prefix();
    const seen = Array.from({ length: 5 }, () => [] as string[]);
    const runners = seen.map(
      (events, i) =>
        new ProjectionRunner(store, driver, remembering(`shared-tail-${base}${i}`, base, events), {
          pollMs: 3_600_000,
        }),
    );
    const stop = new AbortController();
    try {
      await store.append(`${base}seed`, [newEvent()], { expectedVersion: 'no-stream' });
      for (const runner of runners) await runner.start();
      await until(async () => seen.every((events) => events.length === 1), 'the runners to apply the seed');
      // A live subscriber, as the gateway's tail is: woken by each append, it reads the log first.
      const live = collect(
        store.subscribe({ after: (await store.headPosition())!, signal: stop.signal }),
        10,
      );
      const before = pageReads();
      for (let n = 1; n <= 10; n++) {
        const { lastPosition: position } = await store.append(`${base}${n}`, [newEvent()], {
          expectedVersion: 'no-stream',
        });
        // The notification each service publishes after its append, as the runners receive it over NATS.
        for (const runner of runners) runner.wake(position);
        await until(async () => seen.every((events) => events.length === n + 1), `event ${n} applied`);
      }
      await live;
      const reads = pageReads() - before;
      // One read per append, made for the subscriber (11 measured); the runners stepping together share
      // reads among themselves without the position, but not the subscriber's (20 measured). PGlite only,
      // as above: on a shared server other databases' transactions hold the horizon back.
      if (name === 'PGlite') expect(reads).toBeLessThanOrEqual(15);
    } finally {
      stop.abort();
      for (const runner of runners) await runner.stop();
      await store.close();
      await done();
    }
  });

  it('a runner woken with a position the shared read has not reached reads the log for it', async () => {
    const { driver, done } = await open();
    // Two stores on one database, as two processes are: the second one's commits reach the first's readers
    // only through the notification, never through the first store's own wake-up or shared read.
    const reader = await SqlEventStore.open(driver, { closeDriver: false, safetyPollMs: 3_600_000 });
    const writer = await SqlEventStore.open(driver, { closeDriver: false, safetyPollMs: 3_600_000 });
    const base = prefix();
    const applied: string[] = [];
    const runner = new ProjectionRunner(reader, driver, remembering(`shared-tail-${base}`, base, applied), {
      pollMs: 3_600_000,
    });
    try {
      await runner.start();
      await reader.append(`${base}local`, [newEvent()], { expectedVersion: 'no-stream' });
      await until(async () => applied.length === 1, 'the local event applied');
      const { lastPosition: position } = await writer.append(`${base}remote`, [newEvent()], {
        expectedVersion: 'no-stream',
      });
      runner.wake(position);
      await until(async () => applied.length === 2, 'the other store’s event applied', 3_000);
      expect(applied[1]).toBe(position);
    } finally {
      await runner.stop();
      await writer.close();
      await reader.close();
      await done();
    }
  });
});

/** A projection that remembers the positions it applied, in memory. */
function remembering(name: string, streamPrefix: string, applied: string[]): SqlProjection {
  return {
    name,
    filter: { streamPrefixes: [streamPrefix] },
    setUp: async () => undefined,
    apply: async (_tx, event) => {
      applied.push(event.globalPosition);
    },
  };
}
