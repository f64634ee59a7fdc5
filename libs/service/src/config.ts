import { NAMESPACE_PATTERN } from '@focal/contracts';
import { LocalKeyring } from '@focal/events';

import { readSecret } from './secrets.js';

/** The configuration of a directory or messaging process, read from the environment and checked at start. */
export type StoreConfig =
  | { kind: 'postgres'; databaseUrl: string }
  | { kind: 'pglite'; dataDir: string }
  | { kind: 'eventstoredb'; eventStoreDbUrl: string; databaseUrl: string };

export interface ServiceConfig {
  /** NATS_URL: one server, or a comma-separated list of a cluster's servers (see `natsServers`). */
  natsUrl: string;
  /** Prefix of every subject (FOCAL_NATS_NAMESPACE), for deployments that share a NATS cluster. */
  natsNamespace?: string;
  store: StoreConfig;
  limits: ProcessLimits;
  /**
   * FOCAL_MASTER_KEY_FILE (or FOCAL_MASTER_KEY): the keyring of key-encryption keys that wrap every data key,
   * kept outside the database. Required: no process starts without it.
   */
  masterKey: string;
}

/** Bounds on every wait of a process, so that a stuck store or a stuck command never holds it for good. */
export interface ProcessLimits {
  /** FOCAL_STORE_TIMEOUT_MS: the store not answering a probe for this long is taken as lost. */
  storeTimeoutMs: number;
  /** FOCAL_STORE_GIVE_UP_MS: lost for this long, the process exits non-zero for its supervisor to restart. */
  storeGiveUpMs: number;
  /** FOCAL_SHUTDOWN_GRACE_MS: on SIGTERM or SIGINT, how long work in flight may finish before the exit. */
  shutdownGraceMs: number;
}

export const DEFAULT_LIMITS: ProcessLimits = {
  storeTimeoutMs: 5_000,
  storeGiveUpMs: 30_000,
  shutdownGraceMs: 10_000,
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const STORES = ['pglite', 'postgres', 'eventstoredb'] as const;
const isStore = (value: string): value is (typeof STORES)[number] =>
  (STORES as readonly string[]).includes(value);

function checkUrl(name: string, value: string | undefined, protocols: string[], problems: string[]) {
  if (value === undefined || value === '') {
    problems.push(`${name} is not set: give a ${protocols[0]}//… URL`);
    return undefined;
  }
  try {
    const url = new URL(value);
    if (!protocols.includes(url.protocol)) {
      problems.push(`${name}=${value} must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
      return undefined;
    }
    return value;
  } catch {
    problems.push(`${name}=${value} is not a URL: give e.g. ${protocols[0]}//host:port`);
    return undefined;
  }
}

/**
 * The servers NATS_URL names: one URL, or several separated by commas (a cluster's seed list). A process
 * connects to whichever answers first, so one started while a node is down still starts, and learns the
 * rest of the cluster from the server it reaches.
 */
export function natsServers(natsUrl: string): string[] {
  return natsUrl
    .split(',')
    .map((server) => server.trim())
    .filter((server) => server !== '');
}

function checkNatsUrl(value: string, problems: string[]): string | undefined {
  const servers = natsServers(value);
  if (servers.length === 0) {
    problems.push('NATS_URL is empty: give a nats://host:port URL, or several separated by commas');
    return undefined;
  }
  const checked = servers.map((server) => checkUrl('NATS_URL', server, ['nats:', 'tls:'], problems));
  return checked.every((server) => server !== undefined) ? servers.join(',') : undefined;
}

/**
 * Reads NATS_URL, FOCAL_NATS_NAMESPACE (default nats://127.0.0.1:4222), FOCAL_STORE (pglite, default; postgres; eventstoredb),
 * DATABASE_URL (postgres, and for eventstoredb the keys and projections), EVENTSTOREDB_URL and
 * FOCAL_DATA_DIR (pglite; default ./data). Every problem is reported at once, each with its fix.
 */
export function loadServiceConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const problems: string[] = [];
  const natsUrl = checkNatsUrl(env.NATS_URL ?? 'nats://127.0.0.1:4222', problems);
  const kind = env.FOCAL_STORE ?? 'pglite';
  let store: StoreConfig | undefined;
  if (!isStore(kind)) {
    problems.push(`FOCAL_STORE=${kind} is not a store: use one of ${STORES.join(', ')}`);
  } else if (kind === 'pglite') {
    const dataDir = env.FOCAL_DATA_DIR ?? './data';
    if (dataDir.trim() === '') problems.push('FOCAL_DATA_DIR is empty: give a directory, e.g. ./data');
    else store = { kind: 'pglite', dataDir };
  } else {
    const databaseUrl = checkUrl(
      kind === 'postgres' ? 'DATABASE_URL' : 'DATABASE_URL (keys and projections beside EventStoreDB)',
      env.DATABASE_URL,
      ['postgres:', 'postgresql:'],
      problems,
    );
    if (kind === 'postgres') {
      if (databaseUrl) store = { kind, databaseUrl };
    } else {
      const eventStoreDbUrl = checkUrl(
        'EVENTSTOREDB_URL',
        env.EVENTSTOREDB_URL,
        ['esdb:', 'kurrentdb:'],
        problems,
      );
      if (databaseUrl && eventStoreDbUrl) store = { kind, eventStoreDbUrl, databaseUrl };
    }
  }
  const natsNamespace = env.FOCAL_NATS_NAMESPACE || undefined;
  if (natsNamespace && !NAMESPACE_PATTERN.test(natsNamespace)) {
    problems.push(`FOCAL_NATS_NAMESPACE=${natsNamespace} may hold only letters, digits, _ and -`);
  }
  const milliseconds = (name: string, fallback: number) => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value < 100) {
      problems.push(`${name}=${env[name]} must be a whole number of milliseconds, at least 100`);
    }
    return value;
  };
  const limits: ProcessLimits = {
    storeTimeoutMs: milliseconds('FOCAL_STORE_TIMEOUT_MS', DEFAULT_LIMITS.storeTimeoutMs),
    storeGiveUpMs: milliseconds('FOCAL_STORE_GIVE_UP_MS', DEFAULT_LIMITS.storeGiveUpMs),
    shutdownGraceMs: milliseconds('FOCAL_SHUTDOWN_GRACE_MS', DEFAULT_LIMITS.shutdownGraceMs),
  };
  const masterKey = readSecret(env, 'FOCAL_MASTER_KEY', problems);
  if (masterKey === undefined) {
    if (!problems.some((problem) => problem.startsWith('FOCAL_MASTER_KEY'))) {
      problems.push(
        'FOCAL_MASTER_KEY_FILE is not set: every process needs the key that wraps the data keys, kept outside ' +
          'the database (npm start makes one in <data directory>/secrets/master.key; otherwise ' +
          'npm run audit -- keys new > master.key, readable by this user only)',
      );
    }
  } else {
    try {
      LocalKeyring.parse(masterKey, 'FOCAL_MASTER_KEY');
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0 || !natsUrl || !store || !masterKey) throw new ConfigError(problems);
  return { natsUrl, store, limits, masterKey, ...(natsNamespace ? { natsNamespace } : {}) };
}
