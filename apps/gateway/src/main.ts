import 'reflect-metadata';

import { jsonLogger, openPersistence, stopOnSignals } from '@focal/service';

import { loadGatewayConfig } from './gateway.config.js';
import { startGateway } from './gateway-app.js';

/** The HTTP gateway as its own process (several may run); configuration in the README. */
const logger = jsonLogger('gateway');
void (async () => {
  const config = loadGatewayConfig();
  const persistence = await openPersistence(config, {
    onKeyringError: (error) => logger.warn?.(`master key file: ${error.message}`),
  });
  const gateway = await startGateway({ config, persistence, logger, onGiveUp: () => process.exit(1) });
  stopOnSignals(
    async () => {
      await gateway.stop();
      await persistence.close();
    },
    config.limits.shutdownGraceMs,
    logger,
  );
})().catch((error: unknown) => {
  logger.error((error as Error).message);
  process.exit(1);
});
