import { LocalKeyring } from '@focal/events';

import {
  ConfigError,
  DEFAULT_LIMITS,
  loadServiceConfig,
  natsConnection,
  natsServers,
  natsUrlForLogs,
} from './config.js';

const masterKey = LocalKeyring.newLine('kek-1');

const problemsOf = (env: Record<string, string>) => {
  try {
    loadServiceConfig(env);
  } catch (error) {
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
};

describe('service configuration', () => {
  it('defaults to the embedded store under ./data and the local NATS', () => {
    expect(loadServiceConfig({ FOCAL_MASTER_KEY: masterKey })).toEqual({
      natsUrl: 'nats://127.0.0.1:4222',
      store: { kind: 'pglite', dataDir: './data' },
      limits: DEFAULT_LIMITS,
      masterKey,
    });
  });

  it('reads a PostgreSQL store and a namespace', () => {
    expect(
      loadServiceConfig({
        FOCAL_STORE: 'postgres',
        DATABASE_URL: 'postgres://db/focal',
        NATS_URL: 'nats://nats:4222',
        FOCAL_NATS_NAMESPACE: 'staging',
        FOCAL_MASTER_KEY: masterKey,
      }),
    ).toEqual({
      natsUrl: 'nats://nats:4222',
      natsNamespace: 'staging',
      store: { kind: 'postgres', databaseUrl: 'postgres://db/focal' },
      limits: DEFAULT_LIMITS,
      masterKey,
    });
  });

  it("takes a cluster's seed list in NATS_URL, comma-separated, and checks each URL in it", () => {
    const seeds = 'nats://n1:4222, nats://n2:4222,nats://n3:4222';
    expect(loadServiceConfig({ NATS_URL: seeds, FOCAL_MASTER_KEY: masterKey }).natsUrl).toBe(
      'nats://n1:4222,nats://n2:4222,nats://n3:4222',
    );
    expect(natsServers(seeds)).toEqual(['nats://n1:4222', 'nats://n2:4222', 'nats://n3:4222']);
    expect(problemsOf({ NATS_URL: 'nats://n1:4222,n2', FOCAL_MASTER_KEY: masterKey })).toEqual([
      'NATS_URL=n2 is not a URL: give e.g. nats://host:port',
    ]);
  });

  it('names every problem at once, each with its fix', () => {
    expect(problemsOf({ FOCAL_STORE: 'mysql', NATS_URL: 'localhost', FOCAL_MASTER_KEY: masterKey })).toEqual([
      'NATS_URL=localhost is not a URL: give e.g. nats://host:port',
      'FOCAL_STORE=mysql is not a store: use one of pglite, postgres, eventstoredb',
    ]);
    expect(
      problemsOf({ FOCAL_STORE: 'eventstoredb', FOCAL_NATS_NAMESPACE: 'a.b', FOCAL_MASTER_KEY: masterKey }),
    ).toEqual([
      'DATABASE_URL (keys and projections beside EventStoreDB) is not set: give a postgres://… URL',
      'EVENTSTOREDB_URL is not set: give a esdb://… URL',
      'FOCAL_NATS_NAMESPACE=a.b may hold only letters, digits, _ and -',
    ]);
    expect(problemsOf({ FOCAL_STORE_TIMEOUT_MS: '5s', FOCAL_SHUTDOWN_GRACE_MS: '10' })).toEqual([
      'FOCAL_STORE_TIMEOUT_MS=5s must be a whole number of milliseconds, at least 100',
      'FOCAL_SHUTDOWN_GRACE_MS=10 must be a whole number of milliseconds, at least 100',
      expect.stringMatching(/^FOCAL_MASTER_KEY_FILE is not set/),
    ]);
  });

  it('takes NATS credentials from NATS_URL, and never shows them in what it logs', () => {
    expect(natsConnection('nats://focal:p%40ss@n1:4222, nats://focal:p%40ss@n2:4222')).toEqual({
      servers: ['nats://n1:4222', 'nats://n2:4222'],
      user: 'focal',
      pass: 'p@ss',
    });
    expect(natsConnection('tls://s3cr3t-token@nats.example:4222')).toEqual({
      servers: ['tls://nats.example:4222'],
      token: 's3cr3t-token',
    });
    expect(natsConnection('nats://127.0.0.1:4222')).toEqual({ servers: ['nats://127.0.0.1:4222'] });
    expect(natsUrlForLogs('nats://focal:p%40ss@n1:4222')).toBe('nats://n1:4222');
  });
});
