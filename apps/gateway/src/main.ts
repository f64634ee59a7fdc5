import 'reflect-metadata';

import { jsonLogger, openPersistence } from '@focal/service';

import { loadGatewayConfig } from './gateway.config.js';
import { startGateway } from './gateway-app.js';

/** The HTTP gateway as its own process (several may run); configuration in the README. */
const logger = jsonLogger('gateway');
void (async () => {
  const config = loadGatewayConfig();
  const persistence = await openPersistence(config.store);
  const gateway = await startGateway({ config, persistence, logger });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      void gateway
        .stop()
        .then(() => persistence.close())
        .then(() => process.exit(0));
    });
  }
})().catch((error: unknown) => {
  logger.error((error as Error).message);
  process.exit(1);
});
