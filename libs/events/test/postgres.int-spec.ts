import pg from 'pg';

import { openPostgresEventStore, type NewEvent, type SqlEventStoreOptions } from '../src/index.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.js';
import { eventStoreContract, type HeldAppend, type OpenedStore } from './contract.js';
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
