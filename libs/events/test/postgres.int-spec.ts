import pg from 'pg';

import { openPostgresEventStore, type NewEvent, type SqlEventStoreOptions } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.js';
import { eventStoreContract, newEvent, type HeldAppend, type OpenedStore } from './contract.js';
import { sqlTampering } from './sql-tampering.js';

const databases: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
});

async function openOnFreshDatabase(options?: SqlEventStoreOptions): Promise<OpenedStore> {
  const database = await createTestDatabase('events');
  databases.push(database);
  const store = await openPostgresEventStore({ ...options, connectionString: database.url });
  const query = async (text: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return (await client.query(text, params)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    store,
    tampering: sqlTampering(query),
    holdAppend: async (streamId: string, events: NewEvent[]): Promise<HeldAppend> => {
      // The append's own SQL, in a transaction this test keeps open.
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      await client.query('BEGIN');
      await client.query(`SELECT * FROM focal_append($1, 'any', $2::uuid[], $3::jsonb)`, [
        streamId,
        events.map((event) => event.eventId),
        JSON.stringify(events.map((event) => ({ ...event, schemaVersion: 1 }))),
      ]);
      const finish = (command: string) => async () => {
        await client.query(command);
        await client.end();
      };
      return { commit: finish('COMMIT'), rollback: finish('ROLLBACK') };
    },
  };
}

eventStoreContract('PostgreSQL', { open: (options) => openOnFreshDatabase(options) });

/** The promise's value, or a failure naming what did not arrive: without NOTIFY the reader would sleep an hour. */
function within<T>(promise: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not arrive within ${ms} ms: NOTIFY did not wake the reader`)),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('PostgreSQL event store across processes', () => {
  it('wakes a subscriber of another store instance through NOTIFY, not through its safety poll', async () => {
    const database = await createTestDatabase('events');
    databases.push(database);
    const writer = await openPostgresEventStore({ connectionString: database.url });
    // An hour-long safety poll: the event can only arrive in time if the notification wakes the reader.
    const reader = await openPostgresEventStore({ connectionString: database.url, safetyPollMs: 3_600_000 });
    try {
      const abort = new AbortController();
      const events = reader.subscribe({ signal: abort.signal })[Symbol.asyncIterator]();
      // Once the first event has arrived, the reader is live: the next one must be announced to it.
      const first = events.next();
      await writer.append('thread-1', [newEvent('ThreadOpened')], { expectedVersion: 'no-stream' });
      expect((await within(first, 'the first event')).value).toMatchObject({ type: 'ThreadOpened' });
      const second = events.next();
      const appended = await writer.append('thread-1', [newEvent('MessagePosted')], { expectedVersion: 1 });
      const { value } = await within(second, 'the second event');
      expect(value).toMatchObject({ type: 'MessagePosted', globalPosition: appended.firstPosition });
      abort.abort();
    } finally {
      await Promise.all([writer.close(), reader.close()]);
    }
  });
});
