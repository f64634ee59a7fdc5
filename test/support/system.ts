import { randomUUID } from 'node:crypto';

import type { Actor } from '@focal/domain';
import { jsonLogger, openPersistence, type Persistence, type RunningService } from '@focal/service';

import { DEVELOPMENT_SECRET, signToken } from '../../apps/gateway/src/auth/authenticator.js';
import { startGateway, type RunningGateway } from '../../apps/gateway/src/gateway-app.js';
import type { GatewayConfig } from '../../apps/gateway/src/gateway.config.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { startDirectory, startMessaging, testConfig, testNamespace } from './services.js';

/** Directory, messaging and gateway on one fresh PostgreSQL database and NATS namespace, over real HTTP. */
export interface TestSystem {
  url: string;
  db: TestDatabase;
  persistence: Persistence;
  gateway: RunningGateway;
  token(actor: Omit<Actor, 'principal'> & { principal?: string }): Promise<string>;
  /** A fetch against the gateway with a JSON body and the caller's token. */
  call(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
    // Responses are asserted on structurally, field by field.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ): Promise<{ status: number; headers: Headers; body: any }>;
  /** Stops the gateway and starts a new one on the same database, as a restart would. */
  restartGateway(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSystem(
  label: string,
  gatewayOptions: Partial<GatewayConfig> = {},
): Promise<TestSystem> {
  const db = await createTestDatabase(label);
  const config = testConfig(db.url, testNamespace(label));
  const services: RunningService[] = [await startDirectory(config), await startMessaging(config)];
  const persistence: Persistence = await openPersistence(config.store);
  const gatewayConfig = {
    ...config,
    port: 0,
    host: '127.0.0.1',
    jwtSecret: DEVELOPMENT_SECRET,
    commandTimeoutMs: 10_000,
    ...gatewayOptions,
  };
  const launch = () =>
    startGateway({ config: gatewayConfig, persistence, logger: jsonLogger('gateway', ['error', 'fatal']) });
  let gateway = await launch();
  const system: TestSystem = {
    url: gateway.url,
    db,
    persistence,
    gateway,
    async restartGateway() {
      await gateway.stop();
      gateway = await launch();
      system.gateway = gateway;
      system.url = gateway.url;
    },
    token: (actor) =>
      signToken(DEVELOPMENT_SECRET, {
        sub:
          actor.principal ??
          `${actor.role}-${actor.state ?? actor.organisation ?? 'x'}-${randomUUID().slice(0, 4)}`,
        role: actor.role,
        ...(actor.state ? { state: actor.state } : {}),
        ...(actor.organisation ? { organisation: actor.organisation } : {}),
      }),
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
      const text = await response.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, headers: response.headers, body };
    },
    async stop() {
      await gateway.stop();
      await persistence.close();
      for (const service of services) await service.stop();
      await db.drop();
    },
  };
  return system;
}
