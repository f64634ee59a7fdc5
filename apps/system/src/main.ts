import 'reflect-metadata';

import { jsonLogger, stopOnSignals } from '@focal/service';

import { DEVELOPMENT_SECRET, signToken } from '../../gateway/src/auth/authenticator.js';
import { loadGatewayConfig } from '../../gateway/src/gateway.config.js';
import { startFocal } from './system.js';

/**
 * `npm start`: the whole system in this one process, on the embedded store under ./data (FOCAL_STORE=postgres
 * with DATABASE_URL for a server), NATS at NATS_URL or a local nats-server started for the purpose.
 */
const logger = jsonLogger('focal');

async function main(): Promise<void> {
  const startedAt = performance.now();
  const config = loadGatewayConfig();
  const system = await startFocal(config, {
    startLocalNats: true,
    onGiveUp: () => process.exit(1),
  });
  stopOnSignals(() => system.stop(), config.limits.shutdownGraceMs, logger);

  const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
  const token =
    config.jwtSecret === DEVELOPMENT_SECRET
      ? await signToken(DEVELOPMENT_SECRET, { sub: 'secretariat-dev', role: 'secretariat' })
      : undefined;
  // One write, so that a reader of the output never sees the URL without the token.
  const lines = [
    '',
    `Focal is running on ${system.url} (ready in ${seconds} s; store: ${config.store.kind})`,
    `  API docs:   ${system.url}/docs`,
    ...(token
      ? [
          '  a secretariat token (development secret, valid 8 h):',
          `  export TOKEN=${token}`,
          `  curl -H "Authorization: Bearer $TOKEN" ${system.url}/v1/states`,
        ]
      : []),
    '  load the reference directory: npm run seed',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  logger.error((error as Error).message);
  process.exit(1);
});
