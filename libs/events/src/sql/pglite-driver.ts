import { PGlite } from '@electric-sql/pglite';

import type { SqlQueryable } from './driver.js';
import { ScopedSqlDriver } from './transaction-scope.js';

/**
 * PGlite answers in the same thread, so its promises settle as microtasks: a loop of queries would never let
 * timers, sockets or HTTP requests run. Each statement outside a transaction first lets them have a turn.
 */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Embedded PostgreSQL (PGlite): one connection in this process, file-backed or in memory. PGlite runs one
 * statement at a time and holds every other caller while a transaction is open, so everything done inside a
 * transaction must run on it: `ScopedSqlDriver` sees to that.
 */
export class PGliteDriver extends ScopedSqlDriver {
  constructor(readonly db: PGlite) {
    super();
  }

  /** `dataDir` is a directory for a file-backed database; omit it for one in memory. */
  static async open(dataDir?: string): Promise<PGliteDriver> {
    return new PGliteDriver(await PGlite.create(dataDir));
  }

  protected async queryOutside<Row>(text: string, params: readonly unknown[]): Promise<Row[]> {
    await turn();
    return (await this.db.query<Row>(text, params as unknown[])).rows;
  }

  protected async execOutside(text: string): Promise<void> {
    await turn();
    await this.db.exec(text);
  }

  protected async transactionOutside<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    await turn();
    return this.db.transaction((tx) =>
      work({
        query: async <Row>(text: string, params: readonly unknown[] = []) =>
          (await tx.query<Row>(text, params as unknown[])).rows,
        exec: async (text: string) => {
          await tx.exec(text);
        },
      }),
    );
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
