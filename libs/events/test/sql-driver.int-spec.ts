import pg from 'pg';

import { testKeyring } from '../../../test/support/secrets.js';
import { createTestDatabase } from '../../../test/support/postgres.js';
import { until } from '../../../test/support/until.js';
import { PgDriver, SqlEventStore, SqlKeyStore, type SqlDriver } from '../src/index.js';
import { newEvent } from './contract.js';
import { countingStatements, drivers } from './drivers.js';

/**
 * What a transaction reaches, on both drivers alike. On PGlite every case below used to be a hang: the one
 * connection waits for the transaction, and the transaction for the query sent past it.
 */

/** Fails instead of hanging: the defect under test is a wait that never ends. */
function within<T>(work: Promise<T>, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`still waiting after ${ms} ms: the driver waits on itself`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
}

describe.each(drivers)('%s driver: a transaction reaches everything done inside it', (_name, open) => {
  let driver: SqlDriver;
  let done: () => Promise<void>;
  beforeEach(async () => {
    ({ driver, done } = await open());
    await driver.exec('CREATE TABLE items (id int PRIMARY KEY, note text)');
  });
  afterEach(() => done());

  it('a query through the driver, not the handle, runs in the open transaction and sees its rows', async () => {
    const seen = await within(
      driver.transaction(async (tx) => {
        await tx.query('INSERT INTO items VALUES (1, $1)', ['inside']);
        // As a helper handed the driver would do (the key store in a projection did).
        return driver.query<{ note: string }>('SELECT note FROM items WHERE id = 1');
      }),
    );
    expect(seen).toEqual([{ note: 'inside' }]);
  });

  it('the key store, used inside a transaction, answers from it', async () => {
    const keys = await SqlKeyStore.open(driver, testKeyring);
    const created = await keys.keyFor('contact-point-1');
    const found = await within(driver.transaction(() => keys.findMany(['contact-point-1'])));
    expect(found.get('contact-point-1')).toEqual(created);
  });

  it('a nested transaction is a savepoint: its failure undoes only its own work', async () => {
    await within(
      driver.transaction(async (tx) => {
        await tx.query('INSERT INTO items VALUES (1, $1)', ['outer']);
        await expect(
          driver.transaction(async (inner) => {
            await inner.query('INSERT INTO items VALUES (2, $1)', ['inner']);
            throw new Error('inner failed');
          }),
        ).rejects.toThrow('inner failed');
        await driver.transaction((inner) => inner.query('INSERT INTO items VALUES (3, $1)', ['kept']));
      }),
    );
    expect(await driver.query('SELECT id FROM items ORDER BY id')).toEqual([{ id: 1 }, { id: 3 }]);
  });

  it('a failed transaction leaves nothing, also of what was done through the driver inside it', async () => {
    await expect(
      driver.transaction(async () => {
        await driver.query('INSERT INTO items VALUES (1, $1)', ['lost']);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await driver.query('SELECT * FROM items')).toEqual([]);
  });

  it('work started elsewhere while a transaction is open waits for it, and is not drawn into it', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const transaction = driver.transaction(async (tx) => {
      await tx.query('INSERT INTO items VALUES (1, $1)', ['held']);
      await held;
      throw new Error('rolled back');
    });
    // Outside the transaction's async context: on PGlite it queues behind it; on a server, another connection.
    const outside = driver.query('INSERT INTO items VALUES (2, $1)', ['outside']);
    release();
    await expect(transaction).rejects.toThrow('rolled back');
    await within(outside);
    expect(await driver.query('SELECT id FROM items')).toEqual([{ id: 2 }]);
  });

  it('refuses, loudly, a handle used after its transaction ended', async () => {
    let leaked: { query(text: string): Promise<unknown> } | undefined;
    await driver.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked!.query('SELECT 1')).rejects.toThrow(/transaction has already ended/);
    expect(driver.inTransaction).toBe(false);
  });

  it('refuses an append to the event store from inside a transaction, instead of waiting on it', async () => {
    const store = await SqlEventStore.open(driver, { closeDriver: false });
    try {
      await expect(
        within(driver.transaction(() => store.append('thread-1', [newEvent()], { expectedVersion: 'any' }))),
      ).rejects.toThrow(/inside a database transaction/);
      await store.append('thread-1', [newEvent()], { expectedVersion: 'no-stream' });
      expect(await store.readStream('thread-1')).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});

describe.each(drivers)('%s store: whole streams asked for at once', (_name, open) => {
  it('are read together, one or two statements for many callers, each its own stream in order', async () => {
    const { driver, done } = await open();
    const { driver: counting, seen: reads } = countingStatements(
      driver,
      /FROM focal_events\s+WHERE stream_id = ANY/,
    );
    const store = await SqlEventStore.open(counting, { closeDriver: false });
    try {
      const streams = Array.from({ length: 12 }, (_, i) => `thread-${i}`);
      for (const [i, streamId] of streams.entries()) {
        await store.append(
          streamId,
          Array.from({ length: (i % 3) + 1 }, () => newEvent()),
          {
            expectedVersion: 'no-stream',
          },
        );
      }
      reads.length = 0;
      const read = await Promise.all(
        [...streams, 'thread-never', 'thread-0'].map((id) => store.readStream(id)),
      );
      expect(reads.length).toBeLessThanOrEqual(2);
      for (const [i, streamId] of streams.entries()) {
        expect(read[i]!.map((event) => [event.streamId, event.streamVersion])).toEqual(
          Array.from({ length: (i % 3) + 1 }, (_, v) => [streamId, v + 1]),
        );
      }
      expect(read[12]).toEqual([]);
      expect(read[13]).toEqual(read[0]);
      // Each caller has its own array: one changing it changes nothing for another.
      expect(read[13]).not.toBe(read[0]);
    } finally {
      await store.close();
      await done();
    }
  });
});

describe('PostgreSQL driver when the server ends a connection', () => {
  it('a transaction whose backend is terminated between two statements fails, and the process carries on', async () => {
    const database = await createTestDatabase('driver');
    const driver = new PgDriver({ connectionString: database.url });
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const failed = driver.transaction(async (tx) => {
        const [{ pid }] = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')) as [
          { pid: number },
        ];
        await admin.query('SELECT pg_terminate_backend($1)', [pid]);
        // The client learns of it as an 'error' event; without a listener, that event ends the process.
        await new Promise((resolve) => setTimeout(resolve, 200));
        await tx.query('SELECT 1');
      });
      await expect(failed).rejects.toThrow(/terminat|Connection/i);
      // The broken connection was not handed back: the next transaction gets a working one.
      await expect(driver.transaction((tx) => tx.query('SELECT 1 AS one'))).resolves.toEqual([{ one: 1 }]);
    } finally {
      await admin.end();
      await driver.close();
      await database.drop();
    }
  });
});

describe("PostgreSQL driver's notification channel", () => {
  it("wakes a listener for another process's NOTIFY, not for its own (its readers were woken when it appended)", async () => {
    const database = await createTestDatabase('channel');
    const first = new PgDriver({ connectionString: database.url });
    const second = new PgDriver({ connectionString: database.url });
    const heard = { first: 0, second: 0 };
    const heardBy = (who: keyof typeof heard) => () => void heard[who]++;
    const firstChannel = await first.listen('focal_test_channel', heardBy('first'));
    const secondChannel = await second.listen('focal_test_channel', heardBy('second'));
    try {
      await firstChannel.notify();
      await until(() => heard.second === 1, "the other process's notification");
      // Delivered to every listener at the same commit: the echo would have come by now.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(heard).toEqual({ first: 0, second: 1 });
      await secondChannel.notify();
      await until(() => heard.first === 1, "the other process's notification");
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(heard).toEqual({ first: 1, second: 1 });
    } finally {
      await firstChannel.stop();
      await secondChannel.stop();
      await first.close();
      await second.close();
      await database.drop();
    }
  });
});
