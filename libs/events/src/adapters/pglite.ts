import { PGliteDriver } from '../sql/pglite-driver.js';
import { SqlEventStore, type SqlEventStoreOptions } from '../sql/sql-event-store.js';

/**
 * The event store embedded in this process (PGlite): file-backed under `dataDir`, or in memory when it is
 * omitted. One process owns the database; see the README for how `npm start` shares it.
 */
export async function openPGliteEventStore(
  options: { dataDir?: string } & SqlEventStoreOptions = {},
): Promise<SqlEventStore> {
  return SqlEventStore.open(await PGliteDriver.open(options.dataDir), options);
}
