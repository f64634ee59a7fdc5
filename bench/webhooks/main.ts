/**
 * `npm run bench:webhooks`: what many webhook subscriptions cost a gateway. Focal on PostgreSQL (one process,
 * as `npm start` runs it), a receiver on loopback answering 204, `--subscriptions` webhooks of the secretariat.
 * Writes `--events` events one after another, each once the last reached every subscription, and reports how
 * long each took to reach them all; then, with nothing written, how many rows of the subscription table the
 * deliverer updates per second (claims and hand-backs: what an idle gateway spends on its subscriptions).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

import pg from 'pg';

import { signToken } from '../../apps/gateway/src/index.js';
import { startChild, stopChild } from '../commands/children.js';
import { focalEnvironment } from '../commands/setup.js';

const { values: args } = parseArgs({
  options: {
    subscriptions: { type: 'string', default: '100' },
    events: { type: 'string', default: '5' },
    'idle-seconds': { type: 'string', default: '20' },
    json: { type: 'boolean', default: false },
  },
});
const subscriptions = Number(args.subscriptions);
const events = Number(args.events);
const idleSeconds = Number(args['idle-seconds']);
for (const [name, value] of Object.entries({ subscriptions, events, 'idle-seconds': idleSeconds })) {
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`--${name} must be a whole number of at least 1 (got ${String(value)})\n`);
    process.exit(2);
  }
}
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const STATES = ['FR', 'DE', 'NL', 'BE', 'ES', 'IT', 'PT', 'AT', 'SE', 'FI', 'DK', 'IE'];
const progress = (line: string) => process.stderr.write(`${line}\n`);

let delivered = 0;
let lastDeliveryAt = 0;
const receiver = createServer((request, response) => {
  request.resume();
  request.on('end', () => {
    delivered++;
    lastDeliveryAt = Date.now();
    response.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

const database = `focal_bench_webhooks_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${database}`);
const url = new URL(adminUrl);
url.pathname = `/${database}`;
const jwtSecret = randomBytes(32).toString('base64url');
const focal = await startChild('../commands/focal.ts', {
  ...focalEnvironment({
    store: { FOCAL_STORE: 'postgres', DATABASE_URL: url.toString() },
    namespace: `bench_webhooks_${randomUUID().slice(0, 8)}`,
    jwtSecret,
    natsUrl,
  }),
  // Deliveries to loopback are for development only.
  NODE_ENV: 'development',
  FOCAL_WEBHOOKS_ALLOW_LOOPBACK: 'true',
});
const database_ = new pg.Client({ connectionString: url.toString() });
try {
  await database_.connect();
  const token = await signToken(jwtSecret, { sub: 'bench-secretariat', role: 'secretariat' });
  const call = async (method: string, path: string, body: unknown) => {
    const response = await fetch(`${focal.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok)
      throw new Error(`${method} ${path} answered ${response.status}: ${await response.text()}`);
  };
  progress(`${subscriptions} subscriptions…`);
  for (let i = 0; i < subscriptions; i++) await call('POST', '/v1/webhooks', { url: hookUrl });
  const toAll: number[] = [];
  for (let i = 0; i < events; i++) {
    const before = delivered;
    const written = Date.now();
    await call('PUT', `/v1/states/${STATES[i % STATES.length]}`, {
      name: `State ${i}`,
      status: i % 2 ? 'observer' : 'member',
      effectiveFrom: '2002-06-13',
    });
    const deadline = Date.now() + 60_000;
    while (delivered < before + subscriptions) {
      if (Date.now() > deadline)
        throw new Error(`event ${i} reached ${delivered - before} subscriptions in 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    toAll.push(lastDeliveryAt - written);
    progress(`event ${i + 1}/${events} reached every subscription in ${toAll.at(-1)} ms`);
  }
  const updates = async () => {
    // A fresh snapshot of the statistics: within one transaction they would not move.
    await database_.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await database_.query<{ n: string }>(
      `SELECT n_tup_upd AS n FROM pg_stat_user_tables WHERE relname = 'focal_webhooks'`,
    );
    return Number(rows[0]!.n);
  };
  // A PostgreSQL 15 backend that goes idle reports its statistics within 10 s (PGSTAT_IDLE_INTERVAL): let the
  // last deliveries' reach the view before counting.
  await new Promise((resolve) => setTimeout(resolve, 12_000));
  const before = await updates();
  progress(`nothing written for ${idleSeconds} s…`);
  await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1_000));
  const idleUpdatesPerSecond = Math.round(((await updates()) - before) / idleSeconds);
  const sorted = [...toAll].sort((a, b) => a - b);
  const result = {
    subscriptions,
    events,
    eventToAllMs: { p50: sorted[Math.floor(sorted.length / 2)], max: sorted.at(-1) },
    idleSeconds,
    idleUpdatesPerSecond,
  };
  if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(
      `${subscriptions} subscriptions: an event reached them all in ${result.eventToAllMs.p50} ms (p50, max ` +
        `${result.eventToAllMs.max} ms over ${events}); idle, ${idleUpdatesPerSecond} subscription rows updated per second\n`,
    );
  }
} finally {
  await stopChild(focal.child);
  receiver.close();
  await database_.end();
  await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await admin.end();
}
