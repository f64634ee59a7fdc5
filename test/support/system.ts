import { randomUUID } from 'node:crypto';

import type { Actor } from '@focal/domain';
import { jsonLogger, openPersistence, type Persistence, type RunningService } from '@focal/service';

import { DEVELOPMENT_SECRET, signToken } from '../../apps/gateway/src/auth/authenticator.js';
import { startGateway, type RunningGateway } from '../../apps/gateway/src/gateway-app.js';
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
  stop(): Promise<void>;
}

export async function startSystem(
  label: string,
  gatewayOptions: { sseHeartbeatMs?: number; sseMaxBufferedBytes?: number; sseStallMs?: number } = {},
): Promise<TestSystem> {
  const db = await createTestDatabase(label);
  const config = testConfig(db.url, testNamespace(label));
  const services: RunningService[] = [await startDirectory(config), await startMessaging(config)];
  const persistence: Persistence = await openPersistence(config.store);
  const gateway = await startGateway({
    config: {
      ...config,
      port: 0,
      host: '127.0.0.1',
      jwtSecret: DEVELOPMENT_SECRET,
      commandTimeoutMs: 10_000,
      ...gatewayOptions,
    },
    persistence,
    logger: jsonLogger('gateway', ['error', 'fatal']),
  });
  return {
    url: gateway.url,
    db,
    persistence,
    gateway,
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
      const response = await fetch(`${gateway.url}${path}`, {
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
}
