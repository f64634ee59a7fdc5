import { randomUUID } from 'node:crypto';

import { CommandClient, type CommandFields, type CommandReply, type CommandSubject } from '@focal/contracts';
import type { Actor } from '@focal/domain';
import {
  DEFAULT_LIMITS,
  natsConnection,
  jsonLogger,
  startService,
  type Persistence,
  type RunningService,
  type ServiceConfig,
} from '@focal/service';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';

import { testSecrets } from './secrets.js';
import { DirectoryModule } from '../../apps/directory/src/directory.module.js';
import { MessagingModule } from '../../apps/messaging/src/messaging.module.js';

export const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/** A fresh subject namespace: services and clients of one test never meet another test's. */
export const testNamespace = (label: string) => `t_${label}_${randomUUID().slice(0, 8)}`;

export function testConfig(databaseUrl: string, namespace: string, url = natsUrl): ServiceConfig {
  return {
    natsUrl: url,
    natsNamespace: namespace,
    store: { kind: 'postgres', databaseUrl },
    limits: DEFAULT_LIMITS,
    masterKey: testSecrets.masterKey,
  };
}

/** Starts one instance of a service in this process, on its own store connections (like a separate process). */
export function startDirectory(config: ServiceConfig, persistence?: Persistence): Promise<RunningService> {
  return startService({
    service: 'directory',
    module: DirectoryModule,
    config,
    logger: jsonLogger('directory', ['error', 'fatal']),
    ...(persistence ? { persistence } : {}),
  });
}

export function startMessaging(config: ServiceConfig, persistence?: Persistence): Promise<RunningService> {
  return startService({
    service: 'messaging',
    module: MessagingModule,
    config,
    logger: jsonLogger('messaging', ['error', 'fatal']),
    ...(persistence ? { persistence } : {}),
  });
}

export interface TestClient {
  proxy: ClientProxy;
  commands: CommandClient;
  /** Sends a command as `actor`; a fresh idempotency key unless one is given. */
  send<S extends CommandSubject>(
    subject: S,
    actor: Actor,
    command: CommandFields<S>,
    options?: { idempotencyKey?: string; at?: string },
  ): Promise<CommandReply>;
  close(): Promise<void>;
}

export async function testClient(namespace: string, options: { url?: string; timeoutMs?: number } = {}) {
  const proxy = ClientProxyFactory.create({
    transport: Transport.NATS,
    options: { ...natsConnection(options.url ?? natsUrl), maxReconnectAttempts: -1, reconnectTimeWait: 250 },
  });
  await proxy.connect();
  const commands = new CommandClient(proxy, { namespace, timeoutMs: options.timeoutMs ?? 10_000 });
  const client: TestClient = {
    proxy,
    commands,
    send: (subject, actor, command, sendOptions = {}) =>
      commands.send(subject, {
        actor,
        idempotencyKey: sendOptions.idempotencyKey ?? randomUUID(),
        correlationId: randomUUID(),
        ...(sendOptions.at ? { at: sendOptions.at } : {}),
        command,
      }),
    close: () => proxy.close(),
  };
  return client;
}

/** Liaison organisations registered by the secretariat, those named in `suspended` then suspended. */
export async function registerOrganisations(
  client: TestClient,
  organisations: readonly (readonly [id: string, acronym: string])[],
  suspended: readonly string[] = [],
): Promise<void> {
  for (const [organisationId, acronym] of organisations) {
    await client.send('focal.directory.liaison-organisation.register', actors.secretariat, {
      organisationId,
      name: acronym,
      acronym,
      kind: 'international-court',
    });
  }
  for (const organisationId of suspended) {
    await client.send('focal.directory.liaison-organisation.suspend', actors.secretariat, {
      organisationId,
      reason: 'under review',
    });
  }
}

/** The error a promise rejects with, to assert on its fields. */
export async function failureOf(work: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await work;
  } catch (error) {
    return error as Record<string, unknown>;
  }
  throw new Error('expected the command to be refused, but it succeeded');
}

export const actors = {
  secretariat: { principal: 'secretariat-1', role: 'secretariat' },
  france: { principal: 'fr-1', role: 'member-state', state: 'FR' },
  germany: { principal: 'de-1', role: 'member-state', state: 'DE' },
  netherlands: { principal: 'nl-1', role: 'member-state', state: 'NL' },
  norway: { principal: 'no-1', role: 'observer-state', state: 'NO' },
  auditor: { principal: 'auditor-1', role: 'auditor' },
} satisfies Record<string, Actor>;
