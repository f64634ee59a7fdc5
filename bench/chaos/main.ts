/**
 * Faults under load: starts private servers (a PostgreSQL cluster under a temporary directory, a three-node
 * NATS cluster) and the system on them as separate processes (two of each service, two gateways), drives a
 * client that retries every command under its Idempotency-Key, injects one fault per scenario, and checks
 * what the store and the read models hold afterwards.
 *
 *   npm run chaos [-- --json] [-- --scenarios kill-gateway,kill-nats-node] [-- --rate 30]
 *
 * Everything it starts is its child and is stopped, by pid, when it ends (also on Ctrl-C).
 */
import { parseArgs } from 'node:util';

import { DEFAULT_OPTIONS, describeResult, runScenarios, SCENARIOS, startChaosSystem } from './suite.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    scenarios: { type: 'string', default: Object.keys(SCENARIOS).join(',') },
    rate: { type: 'string', default: String(DEFAULT_OPTIONS.rate) },
  },
});
const scenarios = args.scenarios.split(',').filter(Boolean);
const unknown = scenarios.filter((scenario) => !(scenario in SCENARIOS));
const rate = Number(args.rate);
if (unknown.length > 0 || !(rate > 0)) {
  console.error(
    unknown.length > 0
      ? `unknown scenario ${unknown.join(', ')}: choose among ${Object.keys(SCENARIOS).join(', ')}`
      : '--rate takes a number of commands a second above 0',
  );
  process.exit(2);
}

const say = (line: string) => console.error(line);
const system = await startChaosSystem(say);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await system.stop();
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void stop().finally(() => process.exit(130)));
}
let failed = false;
try {
  await runScenarios(system, scenarios, { ...DEFAULT_OPTIONS, rate }, (result) => {
    say(describeResult(result));
    if (args.json) console.log(JSON.stringify(result));
    failed ||=
      result.lost > 0 ||
      result.duplicated > 0 ||
      (result.serverErrors['500'] ?? 0) > 0 ||
      result.unexpectedExits > 0 ||
      !result.converged ||
      !result.verified;
  });
} finally {
  await stop();
}
process.exit(failed ? 1 : 0);
