import { randomUUID } from 'node:crypto';

import { createTestDatabase, proxiedDatabase, type TestDatabase } from '../../../test/support/postgres.js';
import {
  PgDriver,
  PGliteDriver,
  ProjectionRunner,
  SqlEventStore,
  type EventStore,
  type RecordedEvent,
  type SqlDriver,
  type SqlProjection,
  type SqlQueryable,
} from '../src/index.js';
import { newEvent } from './contract.js';

/** Records every event it sees under a primary key: applying one twice fails the batch. */
class LedgerProjection implements SqlProjection {
  readonly filter = { streamPrefixes: [] as string[] };
  failOnce = new Set<string>();

  constructor(
    readonly name: string,
    prefix: string,
  ) {
    this.filter.streamPrefixes.push(prefix);
  }

  async setUp(sql: SqlQueryable) {
    await sql.exec('CREATE TABLE IF NOT EXISTS ledger (event_id uuid PRIMARY KEY, position text NOT NULL)');
  }

  async apply(tx: SqlQueryable, event: RecordedEvent) {
    if (this.failOnce.delete(event.eventId)) throw new Error('crash in the middle of a batch');
    await tx.query('INSERT INTO ledger (event_id, position) VALUES ($1, $2)', [
      event.eventId,
      event.globalPosition,
    ]);
  }
}

/** The ledger written a batch at a time, as the read models are: records each batch it is given. */
class BatchLedgerProjection extends LedgerProjection {
  readonly batches: string[][] = [];

  async applyBatch(tx: SqlQueryable, events: readonly RecordedEvent[]) {
    if (events.some((event) => this.failOnce.delete(event.eventId))) throw new Error('crash in a batch');
    this.batches.push(events.map((event) => event.globalPosition));
    await tx.query('INSERT INTO ledger (event_id, position) SELECT * FROM unnest($1::uuid[], $2::text[])', [
      events.map((event) => event.eventId),
      events.map((event) => event.globalPosition),
    ]);
  }
}

const until = async (condition: () => Promise<boolean>, what: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

interface Harness {
  sql: SqlDriver;
  store: EventStore;
  /** Another connection to the same database, as a second process would have; PGlite has only one. */
  second?: () => Promise<{ sql: SqlDriver; store: EventStore }>;
  close(): Promise<void>;
}

const harnesses: [string, () => Promise<Harness>][] = [
  [
    'PostgreSQL',
    async () => {
      const db: TestDatabase = await createTestDatabase('projection');
      const open = async () => {
        const sql = new PgDriver({ connectionString: db.url });
        return { sql, store: await SqlEventStore.open(sql, { closeDriver: false, safetyPollMs: 3_600_000 }) };
      };
      const opened: { sql: SqlDriver; store: EventStore }[] = [await open()];
      return {
        ...opened[0]!,
        second: async () => {
          const another = await open();
          opened.push(another);
          return another;
        },
        close: async () => {
          for (const { store, sql } of opened) {
            await store.close();
            await sql.close();
          }
          await db.drop();
        },
      };
    },
  ],
  [
    'PGlite',
    async () => {
      const sql = await PGliteDriver.open();
      const store = await SqlEventStore.open(sql, { closeDriver: false });
      return { sql, store, close: async () => (await store.close(), await sql.close()) };
    },
  ],
];

describe.each(harnesses)('ProjectionRunner on %s', (_name, open) => {
  let harness: Harness;
  const prefix = () => `ledger${randomUUID().slice(0, 8)}-`;
  const count = async (sql: SqlQueryable) =>
    Number((await sql.query<{ n: string }>('SELECT count(*) AS n FROM ledger'))[0]!.n);

  beforeEach(async () => {
    harness = await open();
  });
  afterEach(async () => {
    await harness.close();
  });

  const appendMany = async (streamPrefix: string, streams: number, perStream: number) => {
    for (let s = 0; s < streams; s++) {
      await harness.store.append(
        `${streamPrefix}${s}`,
        Array.from({ length: perStream }, () => newEvent()),
        { expectedVersion: 'any' },
      );
    }
  };

  it('restarted from its checkpoint, applies every event once', async () => {
    const streamPrefix = prefix();
    await appendMany(streamPrefix, 10, 30);
    const projection = new LedgerProjection('ledger', streamPrefix);
    const first = new ProjectionRunner(harness.store, harness.sql, projection, { batchSize: 50, pollMs: 50 });
    await first.start();
    await first.catchUp();
    await first.stop();
    expect(await count(harness.sql)).toBe(300);

    // More events while it is down, one batch that crashes halfway, then a restart.
    await appendMany(`${streamPrefix}late-`, 5, 20);
    const late = await harness.store.readAll({ filter: { streamPrefixes: [`${streamPrefix}late-`] } });
    projection.failOnce.add(late[30]!.eventId);
    const errors: unknown[] = [];
    const second = new ProjectionRunner(harness.store, harness.sql, projection, {
      batchSize: 50,
      pollMs: 20,
      onError: (error) => errors.push(error),
    });
    await second.start();
    await until(async () => (await count(harness.sql)) === 400, '400 events');
    await second.catchUp();
    await second.stop();
    expect(errors.length).toBeGreaterThan(0);
    const rows = await harness.sql.query<{ event_id: string }>('SELECT event_id FROM ledger');
    const all = await harness.store.readAll({ filter: { streamPrefixes: [streamPrefix] } });
    expect(new Set(rows.map((row) => row.event_id))).toEqual(new Set(all.map((event) => event.eventId)));
    expect(await second.checkpoint()).toBe(all.at(-1)!.globalPosition);
  });

  it('a batching projection gets every event once, in log order, and a failed batch is retried whole', async () => {
    const streamPrefix = prefix();
    await appendMany(streamPrefix, 10, 30);
    const all = await harness.store.readAll({ filter: { streamPrefixes: [streamPrefix] } });
    const projection = new BatchLedgerProjection('batch-ledger', streamPrefix);
    projection.failOnce.add(all[120]!.eventId);
    const runner = new ProjectionRunner(harness.store, harness.sql, projection, {
      batchSize: 50,
      pollMs: 3_600_000,
    });
    await runner.start();
    // Catching up reads the next batch while applying one: the failure must not let it skip ahead. The
    // runner's own loop retries the failed batch as soon as the catch-up gives up (it needs a read and a
    // transaction first, so the batches seen here are the catch-up's); the rows in the table may already
    // include that retry, so they are not counted here.
    await expect(runner.catchUp()).rejects.toThrow('crash in a batch');
    expect(projection.batches.flat()).toEqual(all.slice(0, 100).map((event) => event.globalPosition));
    await runner.catchUp();
    await runner.stop();
    expect(projection.batches.flat()).toEqual(all.map((event) => event.globalPosition));
    expect(projection.batches.every((batch) => batch.length <= 50)).toBe(true);
    expect(await count(harness.sql)).toBe(300);
  });

  it('an event stored without a notification (its writer died) is applied at the next poll', async () => {
    const streamPrefix = prefix();
    const runner = new ProjectionRunner(
      harness.store,
      harness.sql,
      new LedgerProjection('ledger', streamPrefix),
      {
        pollMs: 100,
      },
    );
    await runner.start();
    try {
      await harness.store.append(`${streamPrefix}1`, [newEvent()], { expectedVersion: 'no-stream' });
      // Nobody calls wake(): only the poll can find it.
      await until(async () => (await count(harness.sql)) === 1, 'the event, by polling');
    } finally {
      await runner.stop();
    }
  });

  it('a wake-up applies new events at once, long before the poll', async () => {
    const streamPrefix = prefix();
    const runner = new ProjectionRunner(
      harness.store,
      harness.sql,
      new LedgerProjection('ledger', streamPrefix),
      {
        pollMs: 3_600_000,
      },
    );
    await runner.start();
    try {
      await harness.store.append(`${streamPrefix}1`, [newEvent()], { expectedVersion: 'no-stream' });
      runner.wake();
      await until(async () => (await count(harness.sql)) === 1, 'the event, after wake()', 5_000);
    } finally {
      await runner.stop();
    }
  });

  it('gathers wake-ups for longer after a large batch, and serves them at once after a small one', async () => {
    const streamPrefix = prefix();
    await appendMany(streamPrefix, 1, 300);
    const runner = new ProjectionRunner(
      harness.store,
      harness.sql,
      new BatchLedgerProjection('ledger', streamPrefix),
      // A wide range, so that the test tells a gate of 4 ms an event from one at either end.
      { pollMs: 3_600_000, wakeIntervalMs: { min: 10, max: 60_000 } },
    );
    await runner.start();
    try {
      await until(async () => (await count(harness.sql)) === 300, 'the first batch');
      // 300 events in the last step: the next one starts 1.2 s after it did.
      await harness.store.append(`${streamPrefix}1`, [newEvent()], { expectedVersion: 'no-stream' });
      runner.wake();
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await count(harness.sql)).toBe(300);
      await until(async () => (await count(harness.sql)) === 301, 'the gathered event', 5_000);
      // One event in the last step: the next wake-up is served within the shortest gate, not the longest.
      await harness.store.append(`${streamPrefix}2`, [newEvent()], { expectedVersion: 'no-stream' });
      runner.wake();
      await until(async () => (await count(harness.sql)) === 302, 'the next event', 5_000);
    } finally {
      await runner.stop();
    }
  });

  it('a filtered projection moves past the events it skips: the next read starts after them', async () => {
    const streamPrefix = prefix();
    const elsewhere = prefix();
    await appendMany(streamPrefix, 1, 1);
    await appendMany(elsewhere, 4, 50);
    const reads: (string | undefined)[] = [];
    const store: EventStore = Object.assign(Object.create(harness.store) as EventStore, {
      readAllPage: (options: Parameters<EventStore['readAllPage']>[0]) => {
        reads.push(options?.after);
        return harness.store.readAllPage(options);
      },
    });
    const projection = new LedgerProjection('ledger', streamPrefix);
    const runner = new ProjectionRunner(store, harness.sql, projection, {
      batchSize: 50,
      pollMs: 3_600_000,
      skipCheckpointMs: 0,
    });
    await runner.start();
    try {
      await runner.catchUp();
      const head = await harness.store.headPosition();
      // The checkpoint stands at the last event examined, not at the one event the filter kept.
      expect(await runner.checkpoint()).toBe(head);

      // 200 more events it does not want: the next catch-up reads from where the last one ended.
      await appendMany(`${elsewhere}late-`, 4, 50);
      reads.length = 0;
      await runner.catchUp();
      expect(reads).toEqual([head]);
      const next = await harness.store.headPosition();
      expect(await runner.checkpoint()).toBe(next);
      expect(await count(harness.sql)).toBe(1);
    } finally {
      await runner.stop();
    }
  });

  it('two runners of one projection on one database apply each event once', async () => {
    if (!harness.second) return; // PGlite: one process, one runner
    const streamPrefix = prefix();
    const other = await harness.second();
    const runners = [
      new ProjectionRunner(harness.store, harness.sql, new LedgerProjection('ledger', streamPrefix), {
        batchSize: 7,
        pollMs: 10,
      }),
      new ProjectionRunner(other.store, other.sql, new LedgerProjection('ledger', streamPrefix), {
        batchSize: 11,
        pollMs: 10,
      }),
    ];
    await Promise.all(runners.map((runner) => runner.start()));
    try {
      await Promise.all(
        Array.from({ length: 20 }, (_, s) =>
          harness.store.append(`${streamPrefix}${s}`, [newEvent(), newEvent()], {
            expectedVersion: 'no-stream',
          }),
        ),
      );
      await until(async () => (await count(harness.sql)) === 40, 'all 40 events');
      await Promise.all(runners.map((runner) => runner.catchUp()));
      expect(await count(harness.sql)).toBe(40);
    } finally {
      await Promise.all(runners.map((runner) => runner.stop()));
    }
  });
});

describe('ProjectionRunner while PostgreSQL is unreachable', () => {
  it('retries with a growing delay, however often it is woken, and catches up once the server is back', async () => {
    const db = await createTestDatabase('outage');
    const { proxy, url } = await proxiedDatabase(db);
    const sql = new PgDriver({ connectionString: url });
    const store = await SqlEventStore.open(sql, { closeDriver: false });
    const streamPrefix = `outage${randomUUID().slice(0, 8)}-`;
    let failures = 0;
    const runner = new ProjectionRunner(store, sql, new LedgerProjection('ledger', streamPrefix), {
      pollMs: 50,
      onError: () => failures++,
    });
    const count = async () =>
      Number((await sql.query<{ n: string }>('SELECT count(*) AS n FROM ledger'))[0]!.n);
    await runner.start();
    try {
      await store.append(`${streamPrefix}1`, [newEvent()], { expectedVersion: 'no-stream' });
      runner.wake();
      await until(async () => (await count()) === 1, 'the first event');

      proxy.cut();
      // A gateway under load is woken by every event another process notifies: 150 wake-ups in 1.5 s here.
      for (let i = 0; i < 150; i++) {
        runner.wake();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      // Delays of at least 25, 50, 100, 200, 400 and 800 ms fit at most seven attempts in that time; a loop
      // that retried on each wake-up (or without waiting) failed hundreds of times, once per warning logged.
      expect(failures).toBeGreaterThan(0);
      expect(failures).toBeLessThanOrEqual(8);

      proxy.restore();
      await until(
        async () => (await count().catch(() => 0)) === 1,
        'the database through the restored proxy',
      );
      await store.append(`${streamPrefix}2`, [newEvent()], { expectedVersion: 'no-stream' });
      await until(async () => (await count()) === 2, 'the event appended after the outage');
    } finally {
      await runner.stop();
      await store.close();
      await sql.close();
      await proxy.close();
      await db.drop();
    }
  });
});
