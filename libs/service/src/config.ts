import { NAMESPACE_PATTERN } from '@focal/contracts';
import { LocalKeyring } from '@focal/events';

import { z } from 'zod';

import {
  envSchema,
  parseEnv,
  problem,
  reading,
  secretOf,
  secretVars,
  variable,
  whole,
  type Env,
  type Problems,
  type Vars,
} from './env.js';
import { DEFAULT_DATA_DIR } from './secrets.js';

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
  /** The file it was read from (FOCAL_MASTER_KEY_FILE), followed while running: a rotation needs no restart. */
  masterKeyFile?: string;
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

export { ConfigError } from './env.js';

const STORES = ['pglite', 'postgres', 'eventstoredb'] as const;
const isStore = (value: string): value is (typeof STORES)[number] =>
  (STORES as readonly string[]).includes(value);

/** A URL with one of `protocols`, or a problem named `name` (undefined then). */
function checkUrl(
  name: string,
  value: string | undefined,
  protocols: string[],
  ctx: Problems,
): string | undefined {
  if (value === undefined || value === '') {
    problem(ctx, `${name} is not set: give a ${protocols[0]}//… URL`);
    return undefined;
  }
  try {
    const url = new URL(value);
    if (!protocols.includes(url.protocol)) {
      problem(ctx, `${name}=${value} must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
      return undefined;
    }
    return value;
  } catch {
    problem(ctx, `${name}=${value} is not a URL: give e.g. ${protocols[0]}//host:port`);
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

/**
 * How to connect to the servers NATS_URL names, with its credentials when the URL carries them
 * (`nats://user:password@host:4222`, or `nats://token@host:4222`): the NATS client does not read them from a
 * URL, and a server that requires them refuses a connection without them. Anyone who may publish on Focal's
 * subjects is trusted as the caller its commands name: run NATS with authentication (README, Operations).
 */
export function natsConnection(natsUrl: string): {
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
} {
  let credentials: { user?: string; pass?: string; token?: string } = {};
  const servers = natsServers(natsUrl).map((server) => {
    const url = new URL(server);
    if (url.username && Object.keys(credentials).length === 0) {
      const user = decodeURIComponent(url.username);
      credentials = url.password ? { user, pass: decodeURIComponent(url.password) } : { token: user };
    }
    url.username = '';
    url.password = '';
    return url.toString().replace(/\/$/, '');
  });
  return { servers, ...credentials };
}

/** NATS_URL as logs may show it: without its credentials. */
export const natsUrlForLogs = (natsUrl: string) => natsConnection(natsUrl).servers.join(',');

const milliseconds = (name: string, fallback: number) => whole(name, fallback, 100, 'milliseconds');

/**
 * The settings every process reads (README, Configuration): NATS_URL (default nats://127.0.0.1:4222, or a
 * comma-separated seed list), FOCAL_STORE (pglite, default; postgres; eventstoredb) with DATABASE_URL (postgres,
 * and for eventstoredb the keys and projections), EVENTSTOREDB_URL or FOCAL_DATA_DIR (pglite; default ./data),
 * FOCAL_NATS_NAMESPACE, the limits on waits, and the master key. The gateway's schema extends these.
 */
export const serviceSettings = {
  NATS_URL: variable().transform((raw, ctx) => {
    const servers = natsServers(raw ?? 'nats://127.0.0.1:4222');
    if (servers.length === 0)
      return problem(ctx, 'NATS_URL is empty: give a nats://host:port URL, or several separated by commas');
    const checked = servers.map((server) => checkUrl('NATS_URL', server, ['nats:', 'tls:'], ctx));
    return checked.every((server) => server !== undefined) ? servers.join(',') : z.NEVER;
  }),
  store: reading(
    ['FOCAL_STORE', 'FOCAL_DATA_DIR', 'DATABASE_URL', 'EVENTSTOREDB_URL'],
    z.custom<Vars>().transform((vars, ctx): StoreConfig => {
      const kind = vars.FOCAL_STORE ?? 'pglite';
      if (!isStore(kind))
        return problem(ctx, `FOCAL_STORE=${kind} is not a store: use one of ${STORES.join(', ')}`);
      if (kind === 'pglite') {
        const dataDir = vars.FOCAL_DATA_DIR ?? DEFAULT_DATA_DIR;
        if (dataDir.trim() === '')
          return problem(ctx, 'FOCAL_DATA_DIR is empty: give a directory, e.g. ./data');
        return { kind, dataDir };
      }
      const databaseUrl = checkUrl(
        kind === 'postgres' ? 'DATABASE_URL' : 'DATABASE_URL (keys and projections beside EventStoreDB)',
        vars.DATABASE_URL,
        ['postgres:', 'postgresql:'],
        ctx,
      );
      if (kind === 'postgres') return databaseUrl ? { kind, databaseUrl } : z.NEVER;
      const eventStoreDbUrl = checkUrl(
        'EVENTSTOREDB_URL',
        vars.EVENTSTOREDB_URL,
        ['esdb:', 'kurrentdb:'],
        ctx,
      );
      return databaseUrl && eventStoreDbUrl ? { kind, eventStoreDbUrl, databaseUrl } : z.NEVER;
    }),
  ),
  FOCAL_NATS_NAMESPACE: variable().transform((raw, ctx) => {
    if (!raw) return undefined;
    if (!NAMESPACE_PATTERN.test(raw))
      return problem(ctx, `FOCAL_NATS_NAMESPACE=${raw} may hold only letters, digits, _ and -`);
    return raw;
  }),
  FOCAL_STORE_TIMEOUT_MS: milliseconds('FOCAL_STORE_TIMEOUT_MS', DEFAULT_LIMITS.storeTimeoutMs),
  FOCAL_STORE_GIVE_UP_MS: milliseconds('FOCAL_STORE_GIVE_UP_MS', DEFAULT_LIMITS.storeGiveUpMs),
  FOCAL_SHUTDOWN_GRACE_MS: milliseconds('FOCAL_SHUTDOWN_GRACE_MS', DEFAULT_LIMITS.shutdownGraceMs),
  masterKey: reading(
    secretVars('FOCAL_MASTER_KEY'),
    z.custom<Vars>().transform((vars, ctx) => {
      const masterKey = secretOf(
        vars,
        'FOCAL_MASTER_KEY',
        ctx,
        'FOCAL_MASTER_KEY_FILE is not set: every process needs the key that wraps the data keys, kept outside ' +
          'the database (npm start makes one in <data directory>/secrets/master.key; otherwise ' +
          'npm run audit -- keys new > master.key, readable by this user only)',
      );
      if (masterKey === undefined) return z.NEVER;
      try {
        LocalKeyring.parse(masterKey, 'FOCAL_MASTER_KEY');
      } catch (error) {
        return problem(ctx, (error as Error).message);
      }
      return masterKey;
    }),
  ),
  masterKeyFile: reading(
    secretVars('FOCAL_MASTER_KEY'),
    z
      .custom<Vars>()
      .transform((vars) => (vars.FOCAL_MASTER_KEY ? undefined : vars.FOCAL_MASTER_KEY_FILE || undefined)),
  ),
};

/** The service's settings as a ServiceConfig. */
export const toServiceConfig = (settings: z.output<z.ZodObject<typeof serviceSettings>>): ServiceConfig => ({
  natsUrl: settings.NATS_URL,
  store: settings.store,
  limits: {
    storeTimeoutMs: settings.FOCAL_STORE_TIMEOUT_MS,
    storeGiveUpMs: settings.FOCAL_STORE_GIVE_UP_MS,
    shutdownGraceMs: settings.FOCAL_SHUTDOWN_GRACE_MS,
  },
  masterKey: settings.masterKey,
  ...(settings.masterKeyFile ? { masterKeyFile: settings.masterKeyFile } : {}),
  ...(settings.FOCAL_NATS_NAMESPACE ? { natsNamespace: settings.FOCAL_NATS_NAMESPACE } : {}),
});

const serviceSchema = envSchema(serviceSettings).transform(toServiceConfig);

/** A directory or messaging process's configuration; every problem is reported at once, each with its fix. */
export function loadServiceConfig(env: Env = process.env): ServiceConfig {
  return parseEnv(serviceSchema, env);
}
