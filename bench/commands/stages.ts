/**
 * Where one command's time goes: contact-point registrations sent one after another to Focal in this process
 * (as `npm start` runs it, PostgreSQL store, a fresh database), each stage timed by wrapping the methods that
 * do it, and the read-your-writes wait after each.
 *
 *   npm run bench:commands:stages [-- --commands 300 --warmup 50 --json]
 *
 * Stages (milliseconds per command; a stage's calls made while no command is in flight, such as the
 * projections' own work between commands, are not counted):
 * - gateway: the HTTP answer's time minus the NATS round trip (parse, validation, authentication, the caller's
 *   standing, keyed ids, the reply);
 * - gateway reads: stream reads the gateway makes (the caller's standing is read from the log);
 * - NATS round trip (CommandClient.send) and inside it the service's handling (CommandHost.handle) and its
 *   stream read, encryption (its data key included, also shown alone) and append; the rest of the service's time is checking the envelope,
 *   deciding and the reply;
 * - read your writes: after the answer, the wait for `GET` with `Focal-Read-After` (read models caught up).
 * DATABASE_URL must be a role that may create databases; NATS_URL.
 */
import 'reflect-metadata';

import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

import { CommandClient } from '@focal/contracts';
import { PersonalDataCodec, ProjectionRunner, SqlEventStore, SqlKeyStore } from '@focal/events';
import { CommandHost, jsonLogger } from '@focal/service';
import pg from 'pg';

import { loadGatewayConfig, signToken } from '../../apps/gateway/src/index.js';
import { startFocal } from '../../apps/system/src/system.js';
import { contactPoint, focalEnvironment } from './setup.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    commands: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '50' },
    /** Commands in flight at once; above 1, each stage's calls are counted and timed whoever made them. */
    concurrency: { type: 'string', default: '1' },
  },
});
const commands = Number(args.commands);
const warmup = Number(args.warmup);
const concurrency = Number(args.concurrency);
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const log = (line: string) => (args.json ? process.stderr : process.stdout).write(`${line}\n`);

/** The spans of the command in flight (commands are sent one at a time, so every span is this one's). */
interface Spans {
  spans: { stage: string; ms: number }[];
  inNats: number;
}
let current: Spans | undefined;
/** With commands in flight at once, every call of a timed method, whoever made it: stage → [calls, ms]. */
let everyCall: Map<string, [number, number]> | undefined;
const startSpans = (): Spans => (current = { spans: [], inNats: 0 });

function timed(target: object, method: string, stage: string | ((inNats: boolean) => string)) {
  const prototype = target as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = prototype[method]!;
  prototype[method] = async function (this: unknown, ...args: unknown[]) {
    const command = current;
    const name = typeof stage === 'string' ? stage : stage((command?.inNats ?? 0) > 0);
    const started = performance.now();
    if (command && method === 'send') command.inNats++;
    try {
      return await original.apply(this, args);
    } finally {
      if (command && method === 'send') command.inNats--;
      const ms = performance.now() - started;
      command?.spans.push({ stage: name, ms });
      if (everyCall) {
        const [calls, total] = everyCall.get(name) ?? [0, 0];
        everyCall.set(name, [calls + 1, total + ms]);
      }
    }
  };
}

timed(CommandClient.prototype, 'send', 'NATS round trip');
timed(CommandHost.prototype, 'handle', 'service: handle');
timed(SqlEventStore.prototype, 'readStream', (inNats) => (inNats ? 'service: read stream' : 'gateway reads'));
timed(SqlEventStore.prototype, 'append', 'service: append');
timed(SqlKeyStore.prototype, 'keyFor', 'service: data key');
timed(PersonalDataCodec.prototype, 'encode', 'service: encrypt'); // its data key included
timed(ProjectionRunner.prototype, 'catchUp', 'projection catch-up');
timed(SqlKeyStore.prototype, 'findMany', 'keys findMany');
timed(SqlKeyStore.prototype, 'find', 'keys find');
timed(SqlEventStore.prototype, 'headPosition', 'head position');
timed(SqlEventStore.prototype, 'lastCommittedPosition', 'last committed position');
timed(SqlEventStore.prototype, 'readAllPage', 'read log page');

async function main() {
  const label = randomUUID().replaceAll('-', '').slice(0, 12);
  const database = `focal_bench_stages_${label}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const jwtSecret = randomBytes(32).toString('base64url');
  const env = {
    ...process.env,
    ...focalEnvironment({
      store: {
        FOCAL_STORE: 'postgres',
        DATABASE_URL: Object.assign(new URL(adminUrl), { pathname: `/${database}` }).toString(),
      },
      namespace: `bench_stages_${label}`,
      jwtSecret,
      natsUrl: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
    }),
    PORT: '0',
  };
  const system = await startFocal(loadGatewayConfig(env), {
    logger: (part) => jsonLogger(part, ['error', 'fatal']),
  });
  try {
    const call = async (method: string, path: string, token: string, body?: unknown, headers = {}) => {
      const response = await fetch(`${system.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
      return { body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: response.headers };
    };
    const secretariat = await signToken(jwtSecret, { sub: 'bench-secretariat', role: 'secretariat' });
    await call('PUT', '/v1/states/FR', secretariat, {
      name: 'France',
      status: 'member',
      effectiveFrom: '2002-06-13',
    });
    const france = await signToken(jwtSecret, { sub: 'bench-fr', role: 'member-state', state: 'FR' });
    if (concurrency > 1) {
      let next = 0;
      const register = async (until: number) => {
        while (next < until) await call('POST', '/v1/contact-points', france, contactPoint(next++));
      };
      await Promise.all(Array.from({ length: concurrency }, () => register(warmup)));
      everyCall = new Map();
      const started = performance.now();
      await Promise.all(Array.from({ length: concurrency }, () => register(warmup + commands)));
      const seconds = (performance.now() - started) / 1000;
      const measured = everyCall;
      everyCall = undefined;
      const round = (x: number) => Math.round(x * 100) / 100;
      const stages = [...measured].map(([stage, [calls, ms]]) => ({
        stage,
        callsPerCommand: round(calls / commands),
        msPerCall: round(ms / calls),
        msPerCommand: round(ms / commands),
      }));
      log(`${commands} registrations, ${concurrency} at a time: ${round(commands / seconds)} per second`);
      for (const { stage, callsPerCommand, msPerCall, msPerCommand } of stages) {
        log(
          `${stage.padEnd(24)} ${String(callsPerCommand).padStart(5)} calls/command  ` +
            `${String(msPerCall).padStart(7)} ms/call  ${String(msPerCommand).padStart(7)} ms/command`,
        );
      }
      if (args.json) {
        process.stdout.write(
          `${JSON.stringify({ commands, concurrency, perSecond: round(commands / seconds), stages })}\n`,
        );
      }
      return;
    }
    const totals = new Map<string, number[]>();
    const add = (stage: string, ms: number) => totals.set(stage, [...(totals.get(stage) ?? []), ms]);
    for (let n = 0; n < warmup + commands; n++) {
      const command = startSpans();
      const started = performance.now();
      const written = await call('POST', '/v1/contact-points', france, contactPoint(n));
      const answered = performance.now();
      const reading = startSpans();
      await call('GET', `/v1/contact-points/${written.body.id as string}`, france, undefined, {
        'focal-read-after': written.headers.get('focal-position')!,
      });
      const caughtUp = performance.now();
      current = undefined;
      const again = startSpans();
      await call('GET', `/v1/contact-points/${written.body.id as string}`, france);
      const readAgain = performance.now();
      current = undefined;
      if (n < warmup) continue;
      const sums = new Map<string, number>();
      for (const span of command.spans) sums.set(span.stage, (sums.get(span.stage) ?? 0) + span.ms);
      const nats = sums.get('NATS round trip') ?? 0;
      const handle = sums.get('service: handle') ?? 0;
      add('HTTP answer (total)', answered - started);
      add('gateway (answer − NATS round trip)', answered - started - nats);
      for (const [stage, ms] of sums) add(stage, ms);
      add('NATS transport (round trip − handle)', nats - handle);
      add(
        'service: rest (envelope, decide, reply)',
        handle -
          ['service: read stream', 'service: encrypt', 'service: append']
            .map((stage) => sums.get(stage) ?? 0)
            .reduce((a, b) => a + b, 0),
      );
      add('read your writes (GET after the answer)', caughtUp - answered);
      add('the same GET again, no Focal-Read-After', readAgain - caughtUp);
      for (const span of again.spans) add(`again: ${span.stage}`, span.ms);
      const reads = new Map<string, number>();
      for (const span of reading.spans) reads.set(span.stage, (reads.get(span.stage) ?? 0) + span.ms);
      for (const [stage, ms] of reads) add(`read: ${stage}`, ms);
    }
    const stages = [...totals].map(([stage, values]) => {
      const sorted = [...values].sort((a, b) => a - b);
      const round = (x: number) => Math.round(x * 100) / 100;
      return {
        stage,
        meanMs: round(values.reduce((a, b) => a + b, 0) / commands),
        p50Ms: round(sorted[Math.floor(sorted.length / 2)]!),
        p99Ms: round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]!),
      };
    });
    for (const { stage, meanMs, p50Ms, p99Ms } of stages) {
      log(`${stage.padEnd(44)} mean ${String(meanMs).padStart(7)} ms  p50 ${p50Ms} ms  p99 ${p99Ms} ms`);
    }
    if (args.json) process.stdout.write(`${JSON.stringify({ commands, warmup, stages })}\n`);
  } finally {
    await system.stop();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
