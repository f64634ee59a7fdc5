import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
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
 * version and settings, in the user's cache directory. It holds no data and no secret, only what initdb makes.
 */
function templatePath(module: string): string {
  const { version } = createRequire(module)('../package.json') as { version: string };
  const settings = createHash('sha256').update(EMBEDDED_SETTINGS.join('\n')).digest('hex').slice(0, 8);
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'focal', `pglite-${version}-${settings}.tar.gz`);
}

/**
 * Creates a new data directory in a short-lived process: initdb's WebAssembly instance stays in the memory of
 * the process that ran it (about 450 MB, never given back), so the long-lived one only opens the directory.
 * The first one on a machine runs initdb and keeps a copy of the result; later ones unpack that copy.
 */
async function initialiseApart(dataDir: string): Promise<void> {
  const modulePath = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const template = templatePath(modulePath);
  const code = `
    const { PGlite } = await import(${JSON.stringify(pathToFileURL(modulePath).href)});
    const fs = await import('node:fs');
    const settings = { postgresqlconf: ${JSON.stringify(EMBEDDED_SETTINGS)} };
    const template = ${JSON.stringify(template)};
    if (fs.existsSync(template)) {
      const copy = new Blob([fs.readFileSync(template)]);
      await (await PGlite.create(${JSON.stringify(dataDir)}, { ...settings, loadDataDir: copy })).close();
    } else {
      const db = await PGlite.create(${JSON.stringify(dataDir)}, settings);
      try {
        const copy = Buffer.from(await (await db.dumpDataDir('gzip')).arrayBuffer());
        fs.mkdirSync(${JSON.stringify(dirname(template))}, { recursive: true });
        fs.writeFileSync(template + '.' + process.pid, copy);
        fs.renameSync(template + '.' + process.pid, template);
      } catch (error) {
        console.error('the copy of a new data directory was not kept (' + error.message + '): initdb runs again next time');
      }
      await db.close();
    }`;
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
