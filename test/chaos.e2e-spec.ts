import {
  DEFAULT_OPTIONS,
  describeResult,
  runScenarios,
  startChaosSystem,
  type ChaosSystem,
} from '../bench/chaos/suite.js';
import { NATS_SERVER, postgresBin } from '../bench/chaos/servers.js';

const missing = [!NATS_SERVER && 'nats-server', !postgresBin() && 'the PostgreSQL server binaries'].filter(
  Boolean,
);
if (missing.length > 0) {
  console.warn(
    `chaos test skipped: ${missing.join(' and ')} not installed (apt-get install nats-server postgresql)`,
  );
}
const describeWithServers = missing.length === 0 ? describe : describe.skip;

/**
 * The short form of `npm run chaos`: the same system on private servers, three of its faults. The full
 * suite and its figures: bench/README.md.
 */
describeWithServers('faults under load (short form of npm run chaos)', () => {
  let system: ChaosSystem;
  afterAll(() => system?.stop());

  it('a directory instance, the PostgreSQL postmaster and every backend killed: nothing lost, nothing twice, no 500', async () => {
    system = await startChaosSystem();
    const results = await runScenarios(
      system,
      ['kill-directory-instance', 'kill-postgres-postmaster', 'terminate-every-backend'],
      { ...DEFAULT_OPTIONS, rate: 20, beforeMs: 2_000, afterMs: 3_000 },
    );
    for (const result of results) {
      const summary = describeResult(result);
      expect({ summary, ...result }).toMatchObject({
        summary,
        lost: 0,
        duplicated: 0,
        refused: {},
        converged: true,
        verified: true,
        unexpectedExits: 0,
      });
      expect({ summary, status500: result.serverErrors['500'] ?? 0 }).toEqual({ summary, status500: 0 });
      expect(result.acknowledged).toBeGreaterThan(0);
    }
    // Six processes to start on a loaded machine, then three scenarios of about 20 s each.
  }, 300_000);
});
