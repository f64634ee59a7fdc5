import { loadServiceConfig, openPersistence, startSecrets } from '@focal/service';

import { rebuildReadModels } from '../apps/gateway/src/index.js';
import { progressBar } from './progress.js';

/**
 * `npm run projections:rebuild`: rebuilds the gateway's read models from the whole log into a new schema and
 * switches to it when caught up. Same configuration as the services (FOCAL_STORE, DATABASE_URL, …).
 */
try {
  // After npm start, its data directory's secrets, as `npm run audit`, `token` and `seed` find them.
  Object.assign(process.env, startSecrets());
  const persistence = await openPersistence(loadServiceConfig());
  const bar = progressBar('events');
  try {
    const report = await rebuildReadModels(persistence, (done, total) => bar.update(done, total));
    bar.end();
    console.log(
      `read models rebuilt from ${report.events} events in ${report.seconds.toFixed(1)} s into ${report.to}; ` +
        `gateways switch from ${report.from} within seconds (${report.from} is kept until the next rebuild)`,
    );
  } finally {
    await persistence.close();
  }
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
