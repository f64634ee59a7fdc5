import 'reflect-metadata';

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { jsonLogger, openPersistence, startService } from '@focal/service';
import { connect } from '@nats-io/transport-node';

import { DirectoryModule } from '../apps/directory/src/directory.module.js';
import { DEVELOPMENT_SECRET, signToken } from '../apps/gateway/src/auth/authenticator.js';
import { startGateway } from '../apps/gateway/src/gateway-app.js';
import { loadGatewayConfig } from '../apps/gateway/src/gateway.config.js';
import { MessagingModule } from '../apps/messaging/src/messaging.module.js';

/**
 * `npm start`: directory, messaging and gateway in this one process, each still its own NATS microservice or
 * HTTP app, on the embedded store under ./data (FOCAL_STORE=postgres with DATABASE_URL for a server). PGlite
 * serves one process, so the three share it here rather than through a socket. NATS at NATS_URL, or a local
 * nats-server started for the purpose when none answers.
 */
const logger = jsonLogger('focal');
const NATS_BINARIES = [
  '/usr/sbin/nats-server',
  '/usr/bin/nats-server',
  '/usr/local/bin/nats-server',
  '/opt/homebrew/bin/nats-server',
];

async function natsAnswers(url: string): Promise<boolean> {
  try {
    const connection = await connect({ servers: url, timeout: 1_000, reconnect: false });
    await connection.close();
    return true;
  } catch {
    return false;
  }
}

async function startLocalNats(url: string, dataDir: string): Promise<ChildProcess> {
  const binary = NATS_BINARIES.find(existsSync);
  if (!binary) {
    throw new Error(
      `no NATS answers at ${url} and nats-server is not installed: apt-get install nats-server (or brew install nats-server), or set NATS_URL`,
    );
  }
  const { hostname, port } = new URL(url);
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

async function main(): Promise<void> {
  const startedAt = performance.now();
  const config = loadGatewayConfig();
  const dataDir = config.store.kind === 'pglite' ? config.store.dataDir : './data';
  const nats = (await natsAnswers(config.natsUrl))
    ? undefined
    : await startLocalNats(config.natsUrl, dataDir);
  const persistence = await openPersistence(config.store);
  const services = [
    await startService({
      service: 'directory',
      module: DirectoryModule,
      config,
      logger: jsonLogger('directory'),
      persistence,
    }),
    await startService({
      service: 'messaging',
      module: MessagingModule,
      config,
      logger: jsonLogger('messaging'),
      persistence,
    }),
  ];
  const gateway = await startGateway({ config, persistence, logger: jsonLogger('gateway') });

  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  const token =
    config.jwtSecret === DEVELOPMENT_SECRET
      ? await signToken(DEVELOPMENT_SECRET, { sub: 'secretariat-dev', role: 'secretariat' })
      : undefined;
  console.log(`\nFocal is running on ${gateway.url} (ready in ${seconds} s; store: ${config.store.kind})`);
  console.log(`  API docs:   ${gateway.url}/docs`);
  if (token) {
    console.log('  a secretariat token (development secret, valid 8 h):');
    console.log(`  export TOKEN=${token}`);
    console.log(`  curl -H "Authorization: Bearer $TOKEN" ${gateway.url}/v1/states`);
  }
  console.log('  load the reference directory: npm run seed\n');

  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      if (stopping) return;
      stopping = true;
      void (async () => {
        await gateway.stop();
        for (const service of services) await service.stop();
        await persistence.close();
        nats?.kill('SIGTERM');
        process.exit(0);
      })();
    });
  }
}

main().catch((error: unknown) => {
  logger.error((error as Error).message);
  process.exit(1);
});
