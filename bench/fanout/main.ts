/**
 * Fan-out of live updates: p50/p99 latency from an append to its arrival at 1,000 Server-Sent Events
 * subscribers, and the gateway's peak resident memory meanwhile.
 *
 *   npm run bench:fanout [-- --subscribers 1000 --events 200 --rate 50 --personal --store pglite --json]
 *
 * The gateway runs in this process on a fresh PostgreSQL database (DATABASE_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres, a role that may create databases), or with `--store pglite` on
 * the embedded store in a fresh temporary directory, and the NATS at NATS_URL; the subscribers run in a child
 * process. Events are appended to the store at `--rate` per second and announced on NATS as the services do;
 * latency = arrival at a subscriber − the moment before the append. The events are messages read (nothing
 * personal), or with `--personal` contact-point registrations whose personal field is encrypted under the
 * contact point's own key, as the directory stores them: a frame the gateway must decrypt before it sends it.
 */
import 'reflect-metadata';

import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { CONTACT_POINT_PERSONAL_FIELDS, eventSubject, inNamespace } from '@focal/contracts';
import { LocalKeyring, PersonalDataCodec, type JsonObject } from '@focal/events';
import { DEFAULT_LIMITS, jsonLogger, openPersistence } from '@focal/service';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';

import { GATEWAY_DEFAULTS, signToken, startGateway } from '../../apps/gateway/src/index.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    subscribers: { type: 'string', default: '1000' },
    events: { type: 'string', default: '200' },
    rate: { type: 'string', default: '50' },
    personal: { type: 'boolean', default: false },
    store: { type: 'string', default: 'postgres' },
  },
});
const subscribers = Number(args.subscribers);
const events = Number(args.events);
const rate = Number(args.rate);
if (![subscribers, events, rate].every((n) => Number.isInteger(n) && n > 0)) {
  console.error('--subscribers, --events and --rate take whole numbers above 0');
  process.exit(2);
}
if (args.store !== 'postgres' && args.store !== 'pglite') {
  console.error(`--store ${args.store} is not a store here: use postgres or pglite`);
  process.exit(2);
}
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function main() {
  const database = `focal_bench_fanout_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const namespace = `bench_${randomUUID().slice(0, 8)}`;
  // Secrets of this run only.
  const jwtSecret = randomBytes(32).toString('base64url');
  const dataDir = args.store === 'pglite' ? mkdtempSync(join(tmpdir(), 'focal-bench-fanout-')) : undefined;
  const settings = {
    store: dataDir
      ? { kind: 'pglite' as const, dataDir }
      : { kind: 'postgres' as const, databaseUrl: url.toString() },
    limits: DEFAULT_LIMITS,
    masterKey: LocalKeyring.newLine('bench'),
  };
  const persistence = await openPersistence(settings);
  const gateway = await startGateway({
    config: {
      ...GATEWAY_DEFAULTS,
      natsUrl,
      natsNamespace: namespace,
      ...settings,
      port: 0,
      host: '127.0.0.1',
      jwtSecret,
      commandTimeoutMs: 5_000,
      // One principal opens every subscriber's stream: no limit on stream openings here.
      abuseLimits: { writesPerMinute: 0, streamOpensPerMinute: 0 },
    },
    persistence,
    logger: jsonLogger('gateway', ['error', 'fatal']),
  });
  const nats = await connect({ servers: natsUrl });
  const codec = new PersonalDataCodec(persistence.keys, CONTACT_POINT_PERSONAL_FIELDS);
  /** A message read, or a contact point's registration with its personal field encrypted. */
  const nextEvent = async (): Promise<{ streamId: string; type: string; data: JsonObject }> => {
    if (!args.personal) {
      const data = { sentAt: Date.now(), messageId: randomUUID(), reader: 'secretariat' };
      return { streamId: `thread-${randomUUID()}`, type: 'MessageRead', data };
    }
    const streamId = `contact-point-${randomUUID()}`;
    const type = 'ContactPointRegistered';
    const data = {
      sentAt: Date.now(),
      state: 'BE',
      organisation: 'Federal Prosecutor',
      personal: { name: 'Bench Contact', email: 'bench.contact@example.org' },
    };
    const [encoded] = await codec.encode(streamId, [{ type, data, visibility: { level: 'open' } }] as never);
    return { streamId, type, data: encoded! };
  };
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const baselineRss = process.memoryUsage().rss;

  try {
    const token = await signToken(jwtSecret, { sub: 'bench', role: 'secretariat' });
    const child = fork(join(import.meta.dirname, 'clients.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        FANOUT_URL: `${gateway.url}/v1/updates`,
        FANOUT_TOKEN: token,
        FANOUT_SUBSCRIBERS: String(subscribers),
        FANOUT_EVENTS: String(events),
      },
    });
    let connected = 0;
    const result = new Promise<{ latencies: number[]; cpu: NodeJS.CpuUsage }>((resolve, reject) => {
      child.on(
        'message',
        (message: {
          connected?: boolean;
          done?: boolean;
          latencies?: number[];
          cpu?: NodeJS.CpuUsage;
          error?: string;
        }) => {
          if (message.connected) connected++;
          if (message.done) resolve({ latencies: message.latencies!, cpu: message.cpu! });
          if (message.error) reject(new Error(message.error));
        },
      );
      child.once('exit', (code) => reject(new Error(`the subscribers' process exited (${code})`)));
    });
    while (connected < subscribers) await new Promise((resolve) => setTimeout(resolve, 20));
    const connectedRss = process.memoryUsage().rss;

    const started = performance.now();
    const gatewayCpuAtStart = process.cpuUsage();
    child.send({ start: true });
    for (let i = 0; i < events; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const { streamId, type, data } = await nextEvent();
      const appended = await persistence.store.append(
        streamId,
        [
          {
            eventId: randomUUID(),
            type,
            data,
            metadata: { actor: { principal: 'bench', role: 'secretariat' }, correlationId: 'bench' },
            visibility: { level: 'open' },
          },
        ],
        { expectedVersion: 'no-stream' },
      );
      nats.publish(
        inNamespace(namespace, eventSubject(streamId, type)),
        JSON.stringify({ streamId, position: appended.lastPosition, type }),
      );
    }
    const done = await result;
    const seconds = (performance.now() - started) / 1000;
    const gatewayCpu = process.cpuUsage(gatewayCpuAtStart);
    const latencies = done.latencies.sort((a, b) => a - b);
    child.kill();
    // CPU time over the run's wall time: the cores each side kept busy (the machine has two).
    const cores = (usage: NodeJS.CpuUsage) =>
      Math.round(((usage.user + usage.system) / 1e6 / seconds) * 100) / 100;
    const figures = {
      store: args.store,
      kind: args.personal ? 'ContactPointRegistered, personal field encrypted' : 'MessageRead',
      subscribers,
      events,
      rate,
      deliveries: latencies.length,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies.at(-1)!,
      gatewayRssMiB: {
        beforeSubscribers: Math.round(baselineRss / 2 ** 20),
        withSubscribers: Math.round(connectedRss / 2 ** 20),
        peak: Math.round(peakRss / 2 ** 20),
      },
      targetP99Ms: 100,
      coresBusy: { gatewayAndAppends: cores(gatewayCpu), subscribers: cores(done.cpu) },
    };
    console.log(
      `fan-out to ${subscribers} SSE subscribers, ${events} events (${figures.kind}) at ${rate}/s on ${args.store}:`,
    );
    console.log(
      `  deliveries ${figures.deliveries}, latency p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms, max ${figures.maxMs} ms`,
    );
    console.log(
      `  gateway RSS: ${figures.gatewayRssMiB.beforeSubscribers} MiB before, ${figures.gatewayRssMiB.withSubscribers} MiB with subscribers, peak ${figures.gatewayRssMiB.peak} MiB`,
    );
    console.log(
      `  cores busy: gateway (and the appends) ${figures.coresBusy.gatewayAndAppends}, subscribers ${figures.coresBusy.subscribers}`,
    );
    console.log(`  target p99 <= 100 ms: ${figures.p99Ms <= 100 ? 'met' : 'NOT met'}`);
    if (args.json) console.log(JSON.stringify(figures));
  } finally {
    clearInterval(sampler);
    await nats.close();
    await gateway.stop();
    await persistence.close();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    await admin.end();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error((error as Error).message);
    process.exit(1);
  },
);
