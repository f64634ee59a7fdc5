import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import {
  CommandMetrics,
  DEFAULT_DATA_DIR,
  jsonLogger,
  natsConnection,
  natsServers,
  openPersistence,
  startService,
  type Persistence,
  type ProcessLogger,
  type RunningService,
} from '@focal/service';
import { connect } from '@nats-io/transport-node';
import type { LoggerService } from '@nestjs/common';

import { DirectoryModule } from '../../directory/src/index.js';
import { startGateway, type GatewayConfig, type RunningGateway } from '../../gateway/src/index.js';
import { MessagingModule } from '../../messaging/src/index.js';

/**
 * The whole system in one process, as `npm start` runs it: directory, messaging and gateway, each still its
 * own NATS microservice or HTTP app (commands travel over NATS as in a distributed deployment), sharing one
 * persistence, which is what lets them share the embedded store: PGlite serves one process. This is the
 * composition root; the tests start the embedded system through it too, so that what they exercise is what
 * users start.
 */
export interface RunningSystem {
  url: string;
  gateway: RunningGateway;
  services: RunningService[];
  persistence: Persistence;
  /** A nats-server started because none answered, stopped with the system. */
  localNats?: ChildProcess;
  /** Stops the gateway, then the services (each draining its work in flight), the store and a local NATS. */
  stop(): Promise<void>;
}

export interface SystemOptions {
  /** A logger per part (directory, messaging, gateway); JSON logs by default. */
  logger?: (part: string) => ProcessLogger;
  /** Called when the store has not answered for the configured bound: `npm start` exits for a restart. */
  onGiveUp?: (problem: string) => void;
  /** Start a local nats-server when none answers at NATS_URL (what `npm start` does). */
  startLocalNats?: boolean;
}

export async function startFocal(config: GatewayConfig, options: SystemOptions = {}): Promise<RunningSystem> {
  const logger = options.logger ?? ((part: string) => jsonLogger(part));
  const localNats =
    options.startLocalNats && !(await natsAnswers(config.natsUrl))
      ? await startLocalNats(
          config.natsUrl,
          config.store.kind === 'pglite' ? config.store.dataDir : DEFAULT_DATA_DIR,
          logger('focal'),
        )
      : undefined;
  const started: { stop(): Promise<void> }[] = [];
  const persistence = await openPersistence(config, {
    onKeyringError: (error) => logger('focal').warn?.(`master key file: ${error.message}`),
  }).catch((error: unknown) => {
    localNats?.kill('SIGTERM');
    throw error;
  });
  try {
    const shared = { config, persistence, ...(options.onGiveUp ? { onGiveUp: options.onGiveUp } : {}) };
    // One process, one place for its operations: the gateway's /health and /metrics, which also report the
    // services' commands (one CommandMetrics for both, so each metric is registered once) and projections.
    // The services open no operations listener of their own here.
    const commands = new CommandMetrics();
    const services: RunningService[] = [];
    for (const [service, module] of [
      ['directory', DirectoryModule],
      ['messaging', MessagingModule],
    ] as const) {
      const running = await startService({
        ...shared,
        service,
        module,
        logger: logger(service),
        metrics: commands,
      });
      services.push(running);
      started.push(running);
    }
    const gateway = await startGateway({
      ...shared,
      logger: logger('gateway'),
      alongside: {
        metrics: [commands.registry],
        projections: services.flatMap((service) => service.projections),
      },
    });
    let stopping: Promise<void> | undefined;
    return {
      url: gateway.url,
      gateway,
      services,
      persistence,
      ...(localNats ? { localNats } : {}),
      stop: () =>
        (stopping ??= (async () => {
          await gateway.stop();
          for (const service of services) await service.stop();
          await persistence.close();
          localNats?.kill('SIGTERM');
        })()),
    };
  } catch (error) {
    for (const part of started.reverse()) await part.stop().catch(() => undefined);
    await persistence.close().catch(() => undefined);
    localNats?.kill('SIGTERM');
    throw error;
  }
}

const NATS_BINARIES = [
  '/usr/sbin/nats-server',
  '/usr/bin/nats-server',
  '/usr/local/bin/nats-server',
  '/opt/homebrew/bin/nats-server',
];

async function natsAnswers(url: string): Promise<boolean> {
  try {
    const connection = await connect({ ...natsConnection(url), timeout: 1_000, reconnect: false });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

async function startLocalNats(url: string, dataDir: string, logger: LoggerService): Promise<ChildProcess> {
  const binary = NATS_BINARIES.find(existsSync);
  if (!binary) {
    throw new Error(
      `no NATS answers at ${url} and nats-server is not installed: apt-get install nats-server (or brew install nats-server), or set NATS_URL`,
    );
  }
  // Only the first of a list: a local server stands in for a cluster that is not there at all.
  const { hostname, port } = new URL(natsServers(url)[0]!);
  const storeDir = join(dataDir, 'nats');
  mkdirSync(storeDir, { recursive: true });
  const child = spawn(binary, ['-js', '-a', hostname || '127.0.0.1', '-p', port || '4222', '-sd', storeDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let output = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Server is ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`nats-server exited (${code}): ${output.trim()}`)));
  });
  logger.log(`started a local nats-server (${binary}) on ${url}, storing under ${storeDir}`);
  return child;
}
