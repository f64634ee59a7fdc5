import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createFocalClient, type FocalClient } from '@focal/client';
import type { Actor } from '@focal/domain';
import type { Position } from '@focal/events';
import {
  DEFAULT_LIMITS,
  jsonLogger,
  openPersistence,
  type Persistence,
  type RunningService,
} from '@focal/service';
import pg from 'pg';

import { signToken } from '../../apps/gateway/src/auth/authenticator.js';
import { startGateway, type RunningGateway } from '../../apps/gateway/src/gateway-app.js';
import { GATEWAY_DEFAULTS, type GatewayConfig } from '../../apps/gateway/src/gateway.config.js';
import { PositionCursors } from '../../apps/gateway/src/http/position-cursors.js';
import { startFocal, type RunningSystem } from '../../apps/system/src/system.js';
import { assertDocumented } from './openapi-conformance.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { testSecrets } from './secrets.js';
import { readAnswer } from './problems.js';
import { natsUrl, startDirectory, startMessaging, testConfig, testNamespace } from './services.js';

export type StoreKind = 'pglite' | 'postgres';

/**
 * The stores every system test runs on: the embedded default, started through the very code `npm start` runs
 * (one process, one PGlite under a fresh data directory), and PostgreSQL with each service on connections
 * of its own, as separate processes would be.
 */
export const STORES: readonly StoreKind[] = ['pglite', 'postgres'];

/** Directory, messaging and gateway on a fresh store and NATS namespace, over real HTTP. */
export interface TestSystem {
  store: StoreKind;
  /** The NATS namespace of its commands, for a test that speaks to the services as a NATS client would. */
  namespace: string;
  url: string;
  persistence: Persistence;
  gateway: RunningGateway;
  /** How a process outside the system (the audit CLI) reaches its store. */
  storeEnv: Record<string, string>;
  /** SQL on the system's database, as a person with a database client would run it (to tamper, to count). */
  sql<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  token(actor: Omit<Actor, 'principal'> & { principal?: string }): Promise<string>;
  /** The gateway's Prometheus text, from its operations listener (never the API's port). */
  metrics(): Promise<string>;
  /**
   * The position an event id names (an SSE or CloudEvent id, a Focal-Position): the id itself, or the position
   * sealed in a cursor, as a caller who may not see every event is given them (only the system can tell).
   */
  positionOf(id: string | undefined): string | undefined;
  /** The cursor of `position`: the id a caller who may not see every event is given for it. */
  cursorOf(position: string): string;
  /** A fetch against the gateway with a JSON body and the caller's token. */
  call(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
    // Responses are asserted on structurally, field by field.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ): Promise<{ status: number; headers: Headers; body: any }>;
  /**
   * The typed client (@focal/client) on this system as `token`, its every answer held to the document as
   * `call`'s are. Made for the gateway's URL of the moment: make another after a restart.
   */
  client(token?: string): FocalClient;
  /** A call that must succeed: anything but 2xx throws with the status and the problem, to read in a failure. */
  ok(
    method: string,
    path: string,
    token: string,
    body?: unknown,
    headers?: Record<string, string>,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ): Promise<{ status: number; headers: Headers; body: any }>;
  /**
   * A restart on the same data, as an operator would do it: on the embedded store the whole process (it is
   * one), on PostgreSQL the gateway; with `options`, the gateway's settings changed from then on.
   */
  restartGateway(options?: Partial<GatewayConfig>): Promise<void>;
  /** Stops everything, runs `meanwhile` (the system is down: the embedded store is free), starts it again. */
  restart(meanwhile?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

const quiet = (part: string) => jsonLogger(part, ['error', 'fatal']);

export async function startSystem(
  store: StoreKind,
  label: string,
  gatewayOptions: Partial<GatewayConfig> = {},
): Promise<TestSystem> {
  const namespace = testNamespace(label);
  const settings = (storeConfig: GatewayConfig['store']): GatewayConfig => ({
    ...GATEWAY_DEFAULTS,
    natsUrl,
    natsNamespace: namespace,
    store: storeConfig,
    limits: DEFAULT_LIMITS,
    port: 0,
    host: '127.0.0.1',
    operations: { host: '127.0.0.1', port: 0 },
    jwtSecret: testSecrets.jwtSecret,
    masterKey: testSecrets.masterKey,
    commandTimeoutMs: 10_000,
    ...gatewayOptions,
  });
  const parts = store === 'pglite' ? await embedded(settings) : await onPostgres(label, settings);
  // The deployment's secret outlives restarts: it is kept in the store.
  const cursors = await PositionCursors.of(parts.persistence().keys);
  const anyone: Actor = { principal: 'test', role: 'guest-state', state: 'GM' };
  const system: TestSystem = {
    store,
    namespace,
    url: parts.gateway().url,
    get persistence() {
      return parts.persistence();
    },
    get gateway() {
      return parts.gateway();
    },
    storeEnv: parts.storeEnv,
    sql: parts.sql,
    cursorOf: (position) => cursors.cursorOf(position),
    positionOf: (id) =>
      id === undefined || /^\d+$/.test(id)
        ? id
        : cursors.read(id, anyone, (position) => position as Position),
    async restartGateway(options) {
      if (options) parts.reconfigure(options);
      await parts.restartGateway();
      system.url = parts.gateway().url;
    },
    async restart(meanwhile) {
      await parts.restart(meanwhile);
      system.url = parts.gateway().url;
    },
    token: (actor) =>
      signToken(testSecrets.jwtSecret, {
        sub:
          actor.principal ??
          `${actor.role}-${actor.state ?? actor.organisation ?? 'x'}-${randomUUID().slice(0, 4)}`,
        role: actor.role,
        ...(actor.state ? { state: actor.state } : {}),
        ...(actor.organisation ? { organisation: actor.organisation } : {}),
      }),
    async metrics() {
      const response = await fetch(`${parts.gateway().operationsUrl}/metrics`);
      if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
      return response.text();
    },
    async call(method, path, options = {}) {
      const response = await fetch(`${system.url}${path}`, {
        method,
        headers: {
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...options.headers,
        },
        ...(options.body !== undefined
          ? { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }
          : {}),
      });
      const answer = await readAnswer(response);
      await assertDocumented(system.url, { method, path, ...answer });
      return answer;
    },
    client: (token) =>
      createFocalClient({
        baseUrl: system.url,
        ...(token ? { token } : {}),
        async fetch(request) {
          const response = await fetch(request);
          const url = new URL(request.url);
          const answer = await readAnswer(response.clone());
          await assertDocumented(system.url, {
            method: request.method,
            path: url.pathname + url.search,
            ...answer,
          });
          return response;
        },
      }),
    async ok(method, path, token, body, headers) {
      const response = await system.call(method, path, {
        token,
        ...(body !== undefined ? { body } : {}),
        ...(headers ? { headers } : {}),
      });
      if (response.status >= 300) {
        throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(response.body)}`);
      }
      return response;
    },
    stop: () => parts.stop(),
  };
  return system;
}

interface SystemParts {
  gateway(): RunningGateway;
  persistence(): Persistence;
  storeEnv: Record<string, string>;
  sql<Row>(text: string, params?: unknown[]): Promise<Row[]>;
  /** Settings for the next start. */
  reconfigure(options: Partial<GatewayConfig>): void;
  restartGateway(): Promise<void>;
  restart(meanwhile?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

/** `npm start`'s system on a fresh data directory. */
async function embedded(settings: (store: GatewayConfig['store']) => GatewayConfig): Promise<SystemParts> {
  const home = await mkdtemp(join(tmpdir(), 'focal-system-'));
  let config = settings({ kind: 'pglite', dataDir: join(home, 'data') });
  let focal: RunningSystem = await startFocal(config, { logger: quiet });
  const restart = async (meanwhile?: () => Promise<void>) => {
    await focal.stop();
    await meanwhile?.();
    focal = await startFocal(config, { logger: quiet });
  };
  return {
    gateway: () => focal.gateway,
    persistence: () => focal.persistence,
    storeEnv: { FOCAL_STORE: 'pglite', FOCAL_DATA_DIR: join(home, 'data') },
    // The one connection is this process's: SQL from outside goes through it.
    sql: (text, params) => focal.persistence.sql.query(text, params),
    reconfigure: (options) => (config = { ...config, ...options }),
    restartGateway: () => restart(),
    restart,
    async stop() {
      await focal.stop();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** The services and the gateway on one PostgreSQL database, each with connections of its own. */
async function onPostgres(
  label: string,
  settings: (store: GatewayConfig['store']) => GatewayConfig,
): Promise<SystemParts> {
  const db: TestDatabase = await createTestDatabase(label);
  let config = settings({ kind: 'postgres', databaseUrl: db.url });
  const serviceConfig = testConfig(db.url, config.natsNamespace!);
  // What started is stopped if a later part fails, and the database dropped if the first start does: a test
  // whose system fails to start leaves nothing behind.
  const start = async () => {
    const services: RunningService[] = [];
    let persistence: Persistence | undefined;
    try {
      services.push(await startDirectory(serviceConfig));
      services.push(await startMessaging(serviceConfig));
      persistence = await openPersistence(config);
      const gateway = await startGateway({ config, persistence, logger: quiet('gateway') });
      return { services, persistence, gateway };
    } catch (error) {
      await persistence?.close().catch(() => undefined);
      for (const service of services) await service.stop().catch(() => undefined);
      throw error;
    }
  };
  let running: Awaited<ReturnType<typeof start>>;
  try {
    running = await start();
  } catch (error) {
    await db.drop().catch(() => undefined);
    throw error;
  }
  const stop = async () => {
    await running.gateway.stop();
    await running.persistence.close();
    for (const service of running.services) await service.stop();
  };
  return {
    gateway: () => running.gateway,
    persistence: () => running.persistence,
    storeEnv: { FOCAL_STORE: 'postgres', DATABASE_URL: db.url },
    async sql<Row>(text: string, params: unknown[] = []) {
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        return (await client.query(text, params)).rows as Row[];
      } finally {
        await client.end();
      }
    },
    reconfigure: (options) => (config = { ...config, ...options }),
    async restartGateway() {
      await running.gateway.stop();
      running.gateway = await startGateway({
        config,
        persistence: running.persistence,
        logger: quiet('gateway'),
      });
    },
    async restart(meanwhile) {
      await stop();
      await meanwhile?.();
      running = await start();
    },
    async stop() {
      await stop();
      await db.drop();
    },
  };
}
