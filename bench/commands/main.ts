/**
 * Focal's command path against a bare pipeline, in one run, the two taking turns, on PostgreSQL and on the
 * embedded store (PGlite).
 *
 *   npm run bench:commands [-- --seconds 5 --warmup 1 --connections 8,32 --stores postgres,pglite
 *                              --rate 500 --open-seconds 5 --profile DIR --json]
 *
 * - bare (bench/commands/bare.ts): Fastify `POST` → NATS request → responder → one autocommit
 *   `INSERT … RETURNING` → reply, one process;
 * - Focal, `--layouts one-process,processes`: `one-process` is bench/commands/focal.ts, the whole system in
 *   one process as `npm start` runs it (directory, messaging and gateway, commands over NATS between them);
 *   `processes` (PostgreSQL only: the embedded store belongs to one process) is the built JavaScript
 *   (`npm run build`, run first if dist/ is missing) as a deployment runs it, `start:prod:directory`,
 *   `:messaging` and `:gateway` in three processes over both cores. `NODE_ENV=production`, sealing on.
 *
 * Closed loop (autocannon), for each store and connection count, bare then each command: register a contact
 * point (member-state token, no idempotency key), change its details (`PATCH` with `If-Match`, a contact
 * point per connection), post a message to a thread (a thread per connection). Then open loop: requests sent
 * at a fixed `--rate` whatever the answers, latency measured from when each was due (no coordinated
 * omission), for bare and for registration. Each store gets a database (or data directory) and NATS
 * namespace of its own, dropped at the end. DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 * must be a role that may create databases; NATS_URL.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import autocannon from 'autocannon';
import pg from 'pg';

import { signToken } from '../../apps/gateway/src/index.js';
import { startBuiltProcesses, startChild, stopChild } from './children.js';
import { contactPoint, focalEnvironment } from './setup.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    connections: { type: 'string', default: '8,32' },
    stores: { type: 'string', default: 'postgres,pglite' },
    commands: { type: 'string', default: 'register,change,post' },
    rate: { type: 'string', default: '500' },
    'open-seconds': { type: 'string', default: '5' },
    layouts: { type: 'string', default: 'one-process,processes' },
    /** A directory: Focal runs with `--cpu-prof` and writes its profile there when it stops. */
    profile: { type: 'string' },
  },
});
const seconds = Number(args.seconds);
const warmup = Number(args.warmup);
const rate = Number(args.rate);
const openSeconds = Number(args['open-seconds']);
const connectionCounts = args.connections.split(',').map(Number);
const stores = args.stores.split(',') as ('postgres' | 'pglite')[];
const commands = args.commands.split(',') as Command[];
const layouts = args.layouts.split(',') as Layout[];
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const log = (line: string) => (args.json ? process.stderr : process.stdout).write(`${line}\n`);

type Command = 'register' | 'change' | 'post';
type Layout = 'one-process' | 'processes';

interface Cell {
  store: string;
  layout: Layout | 'bare';
  connections: number;
  command: Command | 'bare';
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  ratioToBare?: number;
}

async function call(url: string, method: string, path: string, token: string, body?: unknown) {
  // Services started beside the gateway may not have joined their queue groups yet: 503 until they have.
  const deadline = Date.now() + 30_000;
  let response: Response;
  for (;;) {
    response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (response.status !== 503 || Date.now() > deadline) break;
    await response.text();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/** What each command needs before it is measured: tokens, a contact point and a thread per connection. */
async function prepare(url: string, jwtSecret: string, connections: number) {
  const secretariat = await signToken(jwtSecret, { sub: 'bench-secretariat', role: 'secretariat' });
  for (const [code, name] of [
    ['FR', 'France'],
    ['DE', 'Germany'],
  ]) {
    // The second layout runs on the same database: the states are admitted already.
    await call(url, 'PUT', `/v1/states/${code}`, secretariat, {
      name,
      status: 'member',
      effectiveFrom: '2002-06-13',
    }).catch((error: unknown) => {
      if (!String(error).includes('state/same-status')) throw error;
    });
  }
  const france = await signToken(jwtSecret, { sub: 'bench-fr', role: 'member-state', state: 'FR' });
  const contactPoints: string[] = [];
  const threads: string[] = [];
  for (let i = 0; i < connections; i++) {
    contactPoints.push(
      (await call(url, 'POST', '/v1/contact-points', france, contactPoint(-i - 1))).id as string,
    );
    const thread = await call(url, 'POST', '/v1/threads', france, {
      subject: `Benchmark thread ${i}`,
      visibility: 'restricted',
      participants: ['state:DE'],
    });
    threads.push(thread.id as string);
  }
  return { france, contactPoints, threads };
}

type Prepared = Awaited<ReturnType<typeof prepare>>;

/** The autocannon request for a command; `context` is per connection, so each keeps its own aggregate. */
function requestFor(command: Command, prepared: Prepared): autocannon.Request {
  let next = 0;
  let sequence = 0;
  if (command === 'register') {
    return {
      method: 'POST',
      path: '/v1/contact-points',
      setupRequest: (request) => ({ ...request, body: JSON.stringify(contactPoint(sequence++)) }),
    };
  }
  if (command === 'change') {
    return {
      method: 'PATCH',
      setupRequest: (request, context: Record<string, unknown>) => {
        context.id ??= prepared.contactPoints[next++ % prepared.contactPoints.length];
        return {
          ...request,
          path: `/v1/contact-points/${context.id as string}`,
          headers: { ...request.headers, ...(context.etag ? { 'if-match': context.etag as string } : {}) },
          body: JSON.stringify({ authority: `Parquet national ${sequence++}` }),
        };
      },
      onResponse: (_status, _body, context: Record<string, unknown>, headers: Record<string, string>) => {
        if (headers.etag) context.etag = headers.etag;
      },
    };
  }
  return {
    method: 'POST',
    setupRequest: (request, context: Record<string, unknown>) => {
      context.thread ??= prepared.threads[next++ % prepared.threads.length];
      return {
        ...request,
        path: `/v1/threads/${context.thread as string}/messages`,
        body: JSON.stringify({ body: `Message ${sequence++}`, handlingCode: 'H0' }),
      };
    },
  };
}

async function closedLoop(
  url: string,
  connections: number,
  duration: number,
  token: string | undefined,
  request: autocannon.Request,
) {
  const result = await autocannon({
    url,
    connections,
    duration,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    requests: [request],
  });
  return result;
}

async function measure(
  store: string,
  layout: Cell['layout'],
  connections: number,
  command: Cell['command'],
  url: string,
  token: string | undefined,
  request: autocannon.Request,
): Promise<Cell> {
  if (warmup > 0) await closedLoop(url, connections, warmup, token, request);
  const result = await closedLoop(url, connections, seconds, token, request);
  const cell: Cell = {
    store,
    layout,
    connections,
    command,
    requestsPerSecond: Math.round(result.requests.total / seconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
  log(
    `  ${store} ${layout.padEnd(11)} c=${connections} ${command.padEnd(8)} ${String(cell.requestsPerSecond).padStart(6)} req/s  ` +
      `p50 ${cell.p50} ms  p99 ${cell.p99} ms${cell.non2xx || cell.errors ? `  non-2xx ${cell.non2xx}, errors ${cell.errors}` : ''}`,
  );
  return cell;
}

/** The whole machine's busy CPU time so far, in ms (/proc/stat: all but idle and iowait; USER_HZ is 100). */
async function machineBusyMs(): Promise<number> {
  const [, ...fields] = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) * 10;
}

/**
 * The machine's CPU per request of an open loop: busy time from its first request until a second after its
 * last answer (what the request caused after it was answered — projections, the live tail — included), less
 * the machine's idle-time rate measured just before. Everything on the machine counts, the load generator too:
 * compare it with the bare pipeline's, taken the same way.
 */
async function cpuPerRequest<T extends { requests: number }>(run: () => Promise<T>) {
  const quiet = await machineBusyMs();
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const quietRate = ((await machineBusyMs()) - quiet) / 2_000;
  const startedAt = performance.now();
  const before = await machineBusyMs();
  const result = await run();
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const busy = (await machineBusyMs()) - before - quietRate * (performance.now() - startedAt);
  return { ...result, machineCpuMsPerRequest: Math.round((busy / result.requests) * 100) / 100 };
}

/**
 * Open loop: one request due every 1/rate s whatever the answers; latency from when it was due. Keep-alive
 * sockets, as many as needed.
 */
async function openLoop(url: string, path: string, token: string | undefined, body: (n: number) => unknown) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1_024 });
  const target = new URL(url);
  const total = Math.round(rate * openSeconds);
  const latencies: number[] = [];
  let failed = 0;
  const send = (n: number, due: number) =>
    new Promise<void>((resolve) => {
      const payload = JSON.stringify(body(n));
      const request = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
        },
        (response) => {
          response.resume();
          response.on('end', () => {
            if ((response.statusCode ?? 500) >= 300) failed++;
            latencies.push(performance.now() - due);
            resolve();
          });
        },
      );
      request.on('error', () => (failed++, resolve()));
      request.end(payload);
    });
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let n = 0; n < total; n++) {
    const due = started + (n * 1_000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(send(n, due));
  }
  await Promise.all(inFlight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]! * 10) / 10;
  return { rate, seconds: openSeconds, requests: total, failed, p50: at(0.5), p99: at(0.99), max: at(1) };
}

async function main() {
  const jwtSecret = randomBytes(32).toString('base64url');
  const cells: Cell[] = [];
  const openLoops: Record<string, unknown>[] = [];
  for (const store of stores) {
    const label = randomUUID().replaceAll('-', '').slice(0, 12);
    const cleanups: (() => Promise<unknown>)[] = [];
    try {
      let focalStore: Record<string, string>;
      let bareStore: Record<string, string>;
      if (store === 'postgres') {
        const admin = new pg.Client({ connectionString: adminUrl });
        await admin.connect();
        const databases = [`focal_bench_cmd_${label}`, `focal_bench_bare_${label}`];
        for (const database of databases) await admin.query(`CREATE DATABASE ${database}`);
        cleanups.push(async () => {
          for (const database of databases)
            await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
          await admin.end();
        });
        const urlOf = (database: string) =>
          Object.assign(new URL(adminUrl), { pathname: `/${database}` }).toString();
        focalStore = { FOCAL_STORE: 'postgres', DATABASE_URL: urlOf(databases[0]!) };
        bareStore = { BARE_DATABASE_URL: urlOf(databases[1]!) };
      } else {
        const dir = await mkdtemp(join(tmpdir(), 'focal-bench-commands-'));
        cleanups.push(() => rm(dir, { recursive: true, force: true }));
        focalStore = { FOCAL_STORE: 'pglite', FOCAL_DATA_DIR: join(dir, 'focal') };
        bareStore = { BARE_PGLITE_DIR: join(dir, 'bare') };
      }
      const focalEnv = focalEnvironment({
        store: focalStore,
        namespace: `bench_cmd_${label}`,
        jwtSecret,
        natsUrl,
      });

      const bare = await startChild('bare.ts', {
        ...bareStore,
        NODE_ENV: 'production',
        NATS_URL: natsUrl,
        BARE_NAMESPACE: `bench_bare_${label}`,
      });
      cleanups.unshift(() => stopChild(bare.child));
      const bareRequest: autocannon.Request = {
        method: 'POST',
        path: '/commands',
        setupRequest: (request) => ({ ...request, body: JSON.stringify(contactPoint(0)) }),
      };
      // The embedded store belongs to one process: only PostgreSQL can be shared by three.
      for (const layout of layouts.filter((layout) => store === 'postgres' || layout === 'one-process')) {
        const profile = args.profile ? ['--cpu-prof', '--cpu-prof-dir', args.profile] : [];
        const focal =
          layout === 'one-process'
            ? await startChild('focal.ts', { ...focalEnv, PORT: '0' }, profile)
            : await startBuiltProcesses(focalEnv, profile);
        const stopFocal = () => Promise.all(focal.children.map((child) => stopChild(child)));
        cleanups.unshift(stopFocal);
        // Each layout writes to the same log: the second one's catch-up is part of its warm-up.
        const prepared = await prepare(focal.url, jwtSecret, Math.max(...connectionCounts));
        log(`${store}, ${layout}: Focal ${focal.url}, bare ${bare.url}`);
        for (const connections of connectionCounts) {
          for (const command of commands) {
            // Bare and Focal take turns, cell by cell: each ratio compares two runs seconds apart.
            const baseline = await measure(
              store,
              'bare',
              connections,
              'bare',
              `${bare.url}/commands`,
              undefined,
              bareRequest,
            );
            const cell = await measure(
              store,
              layout,
              connections,
              command,
              focal.url,
              prepared.france,
              requestFor(command, prepared),
            );
            cell.ratioToBare = Math.round((cell.requestsPerSecond / baseline.requestsPerSecond) * 100) / 100;
            log(`    ratio to bare: ${cell.ratioToBare}`);
            cells.push(baseline, cell);
          }
        }
        if (rate > 0 && openSeconds > 0) {
          const bareOpen = await cpuPerRequest(() =>
            openLoop(bare.url, '/commands', undefined, () => contactPoint(0)),
          );
          let n = 1_000_000;
          const focalOpen = await cpuPerRequest(() =>
            openLoop(focal.url, '/v1/contact-points', prepared.france, () => contactPoint(n++)),
          );
          log(
            `  ${store}, ${layout}, open loop ${rate}/s: bare p50 ${bareOpen.p50} p99 ${bareOpen.p99} ms; register p50 ${focalOpen.p50} p99 ${focalOpen.p99} ms (failed ${focalOpen.failed})`,
          );
          log(
            `    machine CPU per request: bare ${bareOpen.machineCpuMsPerRequest} ms, register ${focalOpen.machineCpuMsPerRequest} ms`,
          );
          openLoops.push({ store, layout, bare: bareOpen, register: focalOpen });
        }
        await stopFocal();
        cleanups.splice(cleanups.indexOf(stopFocal), 1);
      }
    } finally {
      for (const cleanup of cleanups)
        await cleanup().catch((error: unknown) => log(`cleanup: ${String(error)}`));
    }
  }
  const summary = { seconds, warmup, cells, openLoop: openLoops };
  if (args.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
