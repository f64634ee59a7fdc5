import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
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
 * Where a pristine data directory is kept once made (initdb takes seconds; unpacking a copy, one): per PGlite
 * version and settings, in the user's cache directory. It holds what initdb made in an empty directory of its
 * own: no data, no secret, nothing a start wrote into the data directory before its database existed.
 */
function templatePath(module: string): string {
  const { version } = createRequire(module)('../package.json') as { version: string };
  const settings = createHash('sha256').update(EMBEDDED_SETTINGS.join('\n')).digest('hex').slice(0, 8);
  return join(cacheDirectory(), `initdb-pglite-${version}-${settings}.tar.gz`);
}

function cacheDirectory(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'focal');
}

/**
 * Copies kept by earlier versions (`pglite-*.tar.gz`) were dumps of the data directory being created, which
 * by then held the secrets and NATS namespace `npm start` had written there: every later directory unpacked
 * from one got another deployment's secrets. They are deleted, never used.
 */
function deleteUnsafeCopies(): void {
  const directory = cacheDirectory();
  if (!existsSync(directory)) return;
  for (const name of readdirSync(directory)) {
    if (/^pglite-.*\.tar\.gz$/.test(name)) rmSync(join(directory, name), { force: true });
  }
}

/**
 * Creates a new data directory in a short-lived process: initdb's WebAssembly instance stays in the memory of
 * the process that ran it (about 450 MB, never given back), so the long-lived one only opens the directory.
 * The first one on a machine runs initdb, in an empty scratch directory, and keeps a copy of the result;
 * every new data directory, the first included, is unpacked from that copy.
 */
async function initialiseApart(dataDir: string): Promise<void> {
  const modulePath = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const template = templatePath(modulePath);
  deleteUnsafeCopies();
  const code = `
    const { PGlite } = await import(${JSON.stringify(pathToFileURL(modulePath).href)});
    const fs = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const settings = { postgresqlconf: ${JSON.stringify(EMBEDDED_SETTINGS)} };
    const template = ${JSON.stringify(template)};
    let copy;
    if (fs.existsSync(template)) {
      copy = fs.readFileSync(template);
    } else {
      const scratch = fs.mkdtempSync(join(tmpdir(), 'focal-initdb-'));
      try {
        const db = await PGlite.create(scratch, settings);
        copy = Buffer.from(await (await db.dumpDataDir('gzip')).arrayBuffer());
        await db.close();
      } finally {
        fs.rmSync(scratch, { recursive: true, force: true });
      }
      try {
        fs.mkdirSync(${JSON.stringify(dirname(template))}, { recursive: true });
        fs.writeFileSync(template + '.' + process.pid, copy);
        fs.renameSync(template + '.' + process.pid, template);
      } catch (error) {
        console.error('the copy of a new data directory was not kept (' + error.message + '): initdb runs again next time');
      }
    }
    await (await PGlite.create(${JSON.stringify(dataDir)}, { ...settings, loadDataDir: new Blob([copy]) })).close();`;
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
        `${stderr.trim().split('\n').slice(-3).join(' ')}; check that the directory is writable and empty ` +
        `(if this keeps happening, delete the kept copy ${template})`,
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
