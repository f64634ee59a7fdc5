import { SqlEventStore, type RecordedEvent, type SqlDriver } from '../src/index.js';
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
});
