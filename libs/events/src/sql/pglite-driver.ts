import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { PGlite } from '@electric-sql/pglite';

import type { SqlQueryable } from './driver.js';
import { ScopedSqlDriver } from './transaction-scope.js';

/**
 * PGlite answers in the same thread, so its promises settle as microtasks: a loop of queries would never let
 * timers, sockets or HTTP requests run. Each statement outside a transaction first lets them have a turn.
 */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * An embedded database serves one process's own reads and writes; the operating system caches its files.
 * PGlite's default (160 MB of shared buffers, in the WebAssembly heap, resident) was most of `npm start`'s
 * footprint.
 */
const EMBEDDED_SETTINGS = ['shared_buffers=16MB', 'wal_buffers=1MB'];

/**
 * Creates a new data directory (initdb) in a short-lived process: initdb's WebAssembly instance stays in the
 * memory of the process that ran it (about 450 MB, never given back), so the long-lived one only opens it.
 */
async function initialiseApart(dataDir: string): Promise<void> {
  const module = pathToFileURL(createRequire(import.meta.url).resolve('@electric-sql/pglite')).href;
  const code =
    `const { PGlite } = await import(${JSON.stringify(module)});` +
    `const db = await PGlite.create(${JSON.stringify(dataDir)}, { postgresqlconf: ${JSON.stringify(EMBEDDED_SETTINGS)} });` +
    'await db.close();';
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
  });
  if (exitCode !== 0) {
    throw new Error(
      `could not create the embedded database in ${dataDir} (${signal ?? `exit ${exitCode}`}): ` +
        `${stderr.trim().split('\n').slice(-3).join(' ')}; check that the directory is writable and empty`,
    );
  }
}

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
    if (dataDir !== undefined && !existsSync(join(dataDir, 'PG_VERSION'))) await initialiseApart(dataDir);
    return new PGliteDriver(await PGlite.create(dataDir, { postgresqlconf: EMBEDDED_SETTINGS }));
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
