/**
 * Focal for the command benchmark: the whole system in this one process, as `npm start` runs it (directory,
 * messaging and gateway, commands over NATS), configured from the environment the benchmark passes, with
 * `NODE_ENV=production`. Prints `ready <url>` once it serves.
 */
import 'reflect-metadata';

import { jsonLogger } from '@focal/service';

import { loadGatewayConfig } from '../../apps/gateway/src/index.js';
import { startFocal } from '../../apps/system/src/system.js';

const system = await startFocal(loadGatewayConfig(), {
  logger: (part) => jsonLogger(part, ['error', 'fatal']),
});
process.stdout.write(`ready ${system.url}\n`);
process.once('SIGTERM', () => {
  void system.stop().finally(() => process.exit(0));
});
