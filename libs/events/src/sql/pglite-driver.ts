import { PGlite } from '@electric-sql/pglite';

import type { SqlDriver, SqlQueryable } from './driver.js';

/** Embedded PostgreSQL (PGlite): one connection in this process, file-backed or in memory. */
export class PGliteDriver implements SqlDriver {
  constructor(readonly db: PGlite) {}

  /** `dataDir` is a directory for a file-backed database; omit it for one in memory. */
  static async open(dataDir?: string): Promise<PGliteDriver> {
    return new PGliteDriver(await PGlite.create(dataDir));
  }

  async query<Row>(text: string, params: readonly unknown[] = []): Promise<Row[]> {
    return (await this.db.query<Row>(text, params as unknown[])).rows;
  }

  async exec(text: string): Promise<void> {
    await this.db.exec(text);
  }

  async transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
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
