/**
 * Focal's command path against a bare pipeline, in one run, the two taking turns, on PostgreSQL and on the
 * embedded store (PGlite).
 *
 *   npm run bench:commands [-- --seconds 5 --warmup 1 --connections 8,32 --stores postgres,pglite
 *                              --rate 500 --open-seconds 5 --profile DIR --json]
 *
 * - bare (bench/commands/bare.ts): Fastify `POST` → NATS request → responder → one autocommit
 *   `INSERT … RETURNING` → reply, one process;
 * - Focal (bench/commands/focal.ts): the whole system in one process, as `npm start` runs it (directory,
 *   messaging and gateway, commands over NATS between them), `NODE_ENV=production`, checkpoint sealing on.
 *
 * Closed loop (autocannon), for each store and connection count, bare then each command: register a contact
 * point (member-state token, no idempotency key), change its details (`PATCH` with `If-Match`, a contact
 * point per connection), post a message to a thread (a thread per connection). Then open loop: requests sent
 * at a fixed `--rate` whatever the answers, latency measured from when each was due (no coordinated
 * omission), for bare and for registration. Each store gets a database (or data directory) and NATS
 * namespace of its own, dropped at the end. DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)
 * must be a role that may create databases; NATS_URL.
 */
import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { LocalKeyring } from '@focal/events';
import autocannon from 'autocannon';
import pg from 'pg';

import { signToken } from '../../apps/gateway/src/index.js';
import { startChild, stopChild } from './children.js';

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
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const log = (line: string) => (args.json ? process.stderr : process.stdout).write(`${line}\n`);

type Command = 'register' | 'change' | 'post';

interface Cell {
  store: string;
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
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

const contactPoint = (n: number) => ({
  state: 'FR',
  fullName: `Claire Martin ${n}`,
  email: `claire.martin.${n}@justice.example`,
  role: 'prosecutor',
  authority: 'Parquet national antiterroriste',
  languages: ['fr', 'en'],
  primary: false,
});

/** What each command needs before it is measured: tokens, a contact point and a thread per connection. */
async function prepare(url: string, jwtSecret: string, connections: number) {
  const secretariat = await signToken(jwtSecret, { sub: 'bench-secretariat', role: 'secretariat' });
  for (const [code, name] of [
    ['FR', 'France'],
    ['DE', 'Germany'],
  ]) {
    await call(url, 'PUT', `/v1/states/${code}`, secretariat, {
      name,
      status: 'member',
      effectiveFrom: '2002-06-13',
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
    connections,
    command,
    requestsPerSecond: Math.round(result.requests.total / seconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
  log(
    `  ${store} c=${connections} ${command.padEnd(8)} ${String(cell.requestsPerSecond).padStart(6)} req/s  ` +
      `p50 ${cell.p50} ms  p99 ${cell.p99} ms${cell.non2xx || cell.errors ? `  non-2xx ${cell.non2xx}, errors ${cell.errors}` : ''}`,
  );
  return cell;
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
      const focal = await startChild(
        'focal.ts',
        {
          ...focalStore,
          NODE_ENV: 'production',
          NATS_URL: natsUrl,
          FOCAL_NATS_NAMESPACE: `bench_cmd_${label}`,
          PORT: '0',
          FOCAL_JWT_SECRET: jwtSecret,
          FOCAL_MASTER_KEY: LocalKeyring.newLine('bench'),
          FOCAL_CHECKPOINT_SIGNING_KEY: generateKeyPairSync('ed25519')
            .privateKey.export({ format: 'pem', type: 'pkcs8' })
            .toString(),
          FOCAL_RATE_LIMIT_WRITES_PER_MINUTE: '0',
        },
        args.profile ? ['--cpu-prof', '--cpu-prof-dir', args.profile] : [],
      );
      cleanups.unshift(() => stopChild(focal.child));
      const bare = await startChild('bare.ts', {
        ...bareStore,
        NODE_ENV: 'production',
        NATS_URL: natsUrl,
        BARE_NAMESPACE: `bench_bare_${label}`,
      });
      cleanups.unshift(() => stopChild(bare.child));
      const prepared = await prepare(focal.url, jwtSecret, Math.max(...connectionCounts));
      const bareRequest: autocannon.Request = {
        method: 'POST',
        path: '/commands',
        setupRequest: (request) => ({ ...request, body: JSON.stringify(contactPoint(0)) }),
      };
      log(`${store}: Focal ${focal.url}, bare ${bare.url}`);
      for (const connections of connectionCounts) {
        for (const command of commands) {
          // Bare and Focal take turns, cell by cell: each ratio compares two runs seconds apart.
          const baseline = await measure(
            store,
            connections,
            'bare',
            `${bare.url}/commands`,
            undefined,
            bareRequest,
          );
          const cell = await measure(
            store,
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
        const bareOpen = await openLoop(bare.url, '/commands', undefined, () => contactPoint(0));
        let n = 1_000_000;
        const focalOpen = await openLoop(focal.url, '/v1/contact-points', prepared.france, () =>
          contactPoint(n++),
        );
        log(
          `  ${store} open loop ${rate}/s: bare p50 ${bareOpen.p50} p99 ${bareOpen.p99} ms; register p50 ${focalOpen.p50} p99 ${focalOpen.p99} ms (failed ${focalOpen.failed})`,
        );
        openLoops.push({ store, bare: bareOpen, register: focalOpen });
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
