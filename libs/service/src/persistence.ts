import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import {
  EventStoreDbEventStore,
  KeyringFile,
  LocalKeyring,
  PgDriver,
  PGliteDriver,
  SqlEventStore,
  SqlKeyStore,
  type EventStore,
  type KeyStore,
  type SqlDriver,
} from '@focal/events';

import type { ServiceConfig } from './config.js';
import { StoreHealth } from './store-health.js';

/** What a service stands on: the event log, and a SQL database for its keys and projections. */
export interface Persistence {
  store: EventStore;
  sql: SqlDriver;
  keys: KeyStore;
  /** Whether both answer, within bounds; shared by everything in the process that uses this persistence. */
  health: StoreHealth;
  close(): Promise<void>;
}

/**
 * PGlite serves one process: a second one opening the same directory would corrupt it. A lock file beside
 * the directory, holding the owner's pid, refuses the second process with what to do instead; a lock left
 * by a process that died is taken over.
 */
function lockDataDir(dataDir: string): () => void {
  const lock = `${resolve(dataDir)}.lock`;
  mkdirSync(dirname(lock), { recursive: true });
  for (;;) {
    try {
      writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => rmSync(lock, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(readFileSync(lock, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new Error(
          `the embedded store in ${dataDir} is open in process ${owner}; PGlite serves one process: stop it first ` +
            '(npm start hosts every service in that one process), or set FOCAL_STORE=postgres and DATABASE_URL ' +
            'to share a server',
          { cause: error },
        );
      }
      rmSync(lock, { force: true });
    }
  }
}

/**
 * The embedded database's directory is its owner's alone. PGlite writes its files readable and writable by
 * anyone (0666), so a directory that already existed with the usual 0755 (a tester's FOCAL_DATA_DIR made by
 * mkdir) let every local user read the closed content and write the log's files.
 */
function ownerOnly(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function openPersistence(
  settings: Pick<ServiceConfig, 'store' | 'limits' | 'masterKey' | 'masterKeyFile'>,
  options: { onKeyringError?: (error: Error) => void } = {},
): Promise<Persistence> {
  const { store: config, limits } = settings;
  const keyring = settings.masterKeyFile
    ? await KeyringFile.follow(settings.masterKeyFile, settings.masterKey, {
        onError: (error) => options.onKeyringError?.(error),
      })
    : LocalKeyring.parse(settings.masterKey, 'FOCAL_MASTER_KEY');
  // Before the lock: a directory that cannot be made its owner's leaves no lock behind.
  if (config.kind === 'pglite') ownerOnly(config.dataDir);
  const unlock = config.kind === 'pglite' ? lockDataDir(config.dataDir) : () => undefined;
  let sql: SqlDriver;
  try {
    sql =
      config.kind === 'pglite'
        ? await PGliteDriver.open(config.dataDir)
        : new PgDriver({ connectionString: config.databaseUrl });
  } catch (error) {
    unlock();
    throw error;
  }
  try {
    const store: EventStore =
      config.kind === 'eventstoredb'
        ? EventStoreDbEventStore.open({ connectionString: config.eventStoreDbUrl })
        : await SqlEventStore.open(sql, { closeDriver: false });
    const keys = await SqlKeyStore.open(sql, keyring, { logInSameDatabase: config.kind !== 'eventstoredb' });
    const health = new StoreHealth(() => Promise.all([sql.query('SELECT 1'), store.headPosition()]), {
      timeoutMs: limits.storeTimeoutMs,
      giveUpAfterMs: limits.storeGiveUpMs,
      everyMs: Math.min(2_000, limits.storeTimeoutMs),
    });
    return {
      store,
      sql,
      keys,
      health,
      async close() {
        health.stop();
        await store.close();
        await sql.close();
        unlock();
      },
    };
  } catch (error) {
    await sql.close().catch(() => undefined);
    unlock();
    throw config.kind === 'pglite' ? error : explained(error, config.databaseUrl);
  }
}

/**
 * PostgreSQL's refusals at start, with what to do: the server's own message names the database or the
 * user, not that it must exist first. The URL is not repeated (it may hold a password).
 */
function explained(error: unknown, databaseUrl: string): unknown {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  let where = 'the PostgreSQL server';
  let database = 'the database';
  try {
    const url = new URL(databaseUrl);
    where = `PostgreSQL at ${url.hostname}:${url.port || '5432'}`;
    database = decodeURIComponent(url.pathname.slice(1)) || database;
  } catch {
    // A connection string that is not a URL: said as PostgreSQL says it.
  }
  const hint =
    code === '3D000'
      ? `create it first (createdb ${database}, or CREATE DATABASE ${database}), or set DATABASE_URL to one that exists`
      : code === '28P01' || code === '28000'
        ? 'check the user and password in DATABASE_URL, and pg_hba.conf on the server'
        : code === 'ECONNREFUSED'
          ? 'nothing answers there: start the server, or set DATABASE_URL to where it runs'
          : undefined;
  return hint ? new Error(`${where}: ${message || code}: ${hint}`, { cause: error }) : error;
}
