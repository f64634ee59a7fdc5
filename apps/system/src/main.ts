import 'reflect-metadata';

import {
  DEFAULT_DATA_DIR,
  generatedNamespace,
  generatedSecrets,
  jsonLogger,
  stopOnSignals,
} from '@focal/service';

import { loadGatewayConfig, signToken } from '../../gateway/src/index.js';
import { startFocal } from './system.js';

/**
 * `npm start`: the whole system in this one process, on the embedded store under ./data (FOCAL_STORE=postgres
 * with DATABASE_URL for a server), NATS at NATS_URL or a local nats-server started for the purpose. Secrets not
 * configured are made in the data directory on first start and reused: the only start that makes any. So is
 * a NATS namespace of the data directory's own, unless FOCAL_NATS_NAMESPACE names one.
 */
const logger = jsonLogger('focal');
/** Where npm run seed goes when told nothing (scripts/seed.ts). */
const SEED_DEFAULT_URL = 'http://127.0.0.1:3000';

async function main(): Promise<void> {
  const startedAt = performance.now();
  const dataDir = process.env.FOCAL_DATA_DIR || DEFAULT_DATA_DIR;
  // What the tools (npm run token, npm run seed) need to be told to reach this start: the settings it was given
  // that differ from their defaults (a tester's seed, run as printed, missed the data directory and the port).
  const forTools = Object.entries({
    FOCAL_DATA_DIR: process.env.FOCAL_DATA_DIR,
    NATS_URL: process.env.NATS_URL,
    FOCAL_NATS_NAMESPACE: process.env.FOCAL_NATS_NAMESPACE,
  }).flatMap(([name, value]) => (value ? [`${name}=${value}`] : []));
  const generated = generatedSecrets(dataDir, process.env);
  Object.assign(process.env, generated, generatedNamespace(dataDir, process.env));
  const loaded = loadGatewayConfig();
  // Its default operations port, when taken (another checkout's npm start), gives way to any free one.
  const config =
    loaded.operations && !process.env.FOCAL_OPERATIONS_PORT?.trim()
      ? { ...loaded, operations: { ...loaded.operations, orAnyFreePort: true } }
      : loaded;
  const system = await startFocal(config, {
    startLocalNats: true,
    onGiveUp: () => process.exit(1),
  });
  stopOnSignals(() => system.stop(), config.limits.shutdownGraceMs, logger);

  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  // The token tool reads the data directory's secret alone; the seed also reaches the gateway and NATS.
  const tokenTool = [...forTools.filter((setting) => setting.startsWith('FOCAL_DATA_DIR=')), 'npm run token'];
  const seedTool = [
    ...forTools,
    ...(system.url === SEED_DEFAULT_URL ? [] : [`FOCAL_URL=${system.url}`]),
    'npm run seed',
  ];
  // A token to start with, when the secret is this data directory's own (never one an operator configured).
  const token =
    generated.FOCAL_JWT_SECRET_FILE && config.jwtSecret
      ? await signToken(config.jwtSecret, { sub: 'secretariat-dev', role: 'secretariat' })
      : undefined;
  // Suggested while no state was ever admitted: after a seed it would only send a newcomer to seed again.
  const noStateYet =
    (await system.persistence.store.readAll({ filter: { streamPrefixes: ['state-'] }, limit: 1 })).length ===
    0;
  // One write, so that a reader of the output never sees the URL without the token.
  const lines = [
    '',
    `Focal is running on ${system.url} (ready in ${seconds} s; store: ${config.store.kind})`,
    `  API docs:   ${system.url}/docs`,
    ...(system.gateway.operationsUrl ? [`  metrics:    ${system.gateway.operationsUrl}/metrics`] : []),
    ...(token
      ? [
          `  a secretariat token (valid 8 h; ${tokenTool.join(' ')} makes others):`,
          `  export TOKEN=${token}`,
          `  curl -H "Authorization: Bearer $TOKEN" ${system.url}/v1/states`,
        ]
      : []),
    ...(noStateYet ? [`  load the reference directory: ${seedTool.join(' ')}`] : []),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  logger.error((error as Error).message);
  process.exit(1);
});
