import {
  EventStoreDbEventStore,
  PgDriver,
  PGliteDriver,
  SqlEventStore,
  SqlKeyStore,
  type EventStore,
  type KeyStore,
  type SqlDriver,
} from '@focal/events';

import type { StoreConfig } from './config.js';

/** What a service stands on: the event log, and a SQL database for its keys and projections. */
export interface Persistence {
  store: EventStore;
  sql: SqlDriver;
  keys: KeyStore;
  close(): Promise<void>;
}

export async function openPersistence(config: StoreConfig): Promise<Persistence> {
  const sql: SqlDriver =
    config.kind === 'pglite'
      ? await PGliteDriver.open(config.dataDir)
      : new PgDriver({ connectionString: config.databaseUrl });
  try {
    const store: EventStore =
      config.kind === 'eventstoredb'
        ? EventStoreDbEventStore.open({ connectionString: config.eventStoreDbUrl })
        : await SqlEventStore.open(sql, { closeDriver: false });
    const keys = await SqlKeyStore.open(sql);
    return {
      store,
      sql,
      keys,
      async close() {
        await store.close();
        await sql.close();
      },
    };
  } catch (error) {
    await sql.close().catch(() => undefined);
    throw error;
  }
}
