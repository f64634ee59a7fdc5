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

async function main(): Promise<void> {
  const startedAt = performance.now();
  const dataDir = process.env.FOCAL_DATA_DIR || DEFAULT_DATA_DIR;
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
          `  a secretariat token (valid 8 h; npm run token makes others):`,
          `  export TOKEN=${token}`,
          `  curl -H "Authorization: Bearer $TOKEN" ${system.url}/v1/states`,
        ]
      : []),
    ...(noStateYet ? ['  load the reference directory: npm run seed'] : []),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  logger.error((error as Error).message);
  process.exit(1);
});
