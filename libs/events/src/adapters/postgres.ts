import { PgDriver, type PgDriverOptions } from '../sql/pg-driver.js';
import { SqlEventStore, type SqlEventStoreOptions } from '../sql/sql-event-store.js';

/** The event store on a PostgreSQL server; migrates the schema on open. */
export function openPostgresEventStore(
  options: PgDriverOptions & SqlEventStoreOptions,
): Promise<SqlEventStore> {
  return SqlEventStore.open(new PgDriver(options), options);
}
