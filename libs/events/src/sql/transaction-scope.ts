import { AsyncLocalStorage } from 'node:async_hooks';

import type { SqlDriver, SqlQueryable } from './driver.js';

interface OpenTransaction {
  handle: SqlQueryable;
  open: boolean;
  savepoints: number;
}

/** Using a transaction's handle after it ended: a bug in the caller, never something to wait for. */
export class TransactionEndedError extends Error {
  constructor() {
    super('this transaction has already ended: do the work inside the transaction callback');
  }
}

/**
 * A driver whose transactions reach everything done inside them. While `transaction(work)` runs, every query,
 * exec or nested transaction started from `work`'s async context (however deep: a key store, a codec, a helper
 * that was handed the driver rather than the handle) runs on that transaction; a nested transaction is a
 * savepoint. Without this, a query sent past the open transaction waits for it on a single connection
 * (PGlite), while the transaction waits for the query: the process hangs for good. The same rule on the
 * server keeps the two stores alike: what a projection reads inside its transaction, it reads in it.
 *
 * Subclasses say how to run one statement and one transaction on their connection(s).
 */
export abstract class ScopedSqlDriver implements SqlDriver {
  private readonly scope = new AsyncLocalStorage<OpenTransaction>();

  protected abstract queryOutside<Row>(text: string, params: readonly unknown[]): Promise<Row[]>;
  protected abstract execOutside(text: string): Promise<void>;
  /** Runs `work` in a new transaction: BEGIN, COMMIT on success, ROLLBACK on failure. */
  protected abstract transactionOutside<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  abstract close(): Promise<void>;

  /** Whether the caller runs inside one of this driver's transactions. */
  get inTransaction(): boolean {
    return this.scope.getStore()?.open === true;
  }

  query<Row = Record<string, unknown>>(text: string, params: readonly unknown[] = []): Promise<Row[]> {
    const open = this.openTransaction();
    return open ? open.handle.query<Row>(text, params) : this.queryOutside<Row>(text, params);
  }

  exec(text: string): Promise<void> {
    const open = this.openTransaction();
    return open ? open.handle.exec(text) : this.execOutside(text);
  }

  transaction<T>(work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    const open = this.openTransaction();
    if (open) return this.savepoint(open, work);
    return this.transactionOutside(async (raw) => {
      const entry: OpenTransaction = { handle: guarded(raw, () => entry.open), open: true, savepoints: 0 };
      try {
        return await this.scope.run(entry, () => work(entry.handle));
      } finally {
        entry.open = false;
      }
    });
  }

  private openTransaction(): OpenTransaction | undefined {
    const entry = this.scope.getStore();
    return entry?.open ? entry : undefined;
  }

  private async savepoint<T>(open: OpenTransaction, work: (tx: SqlQueryable) => Promise<T>): Promise<T> {
    const name = `focal_savepoint_${++open.savepoints}`;
    await open.handle.exec(`SAVEPOINT ${name}`);
    try {
      const result = await work(open.handle);
      await open.handle.exec(`RELEASE SAVEPOINT ${name}`);
      return result;
    } catch (error) {
      await open.handle.exec(`ROLLBACK TO SAVEPOINT ${name}`).catch(() => undefined);
      throw error;
    }
  }
}

/** A transaction's handle that refuses, loudly, to be used once the transaction is over. */
function guarded(raw: SqlQueryable, isOpen: () => boolean): SqlQueryable {
  return {
    query: <Row>(text: string, params: readonly unknown[] = []) =>
      isOpen() ? raw.query<Row>(text, params) : Promise.reject(new TransactionEndedError()),
    exec: (text: string) => (isOpen() ? raw.exec(text) : Promise.reject(new TransactionEndedError())),
  };
}
