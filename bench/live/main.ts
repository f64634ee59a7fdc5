/**
 * Live updates under saturation: writers send real commands over HTTP as fast as they go while `eventsource`
 * subscribers of three audiences follow `/v1/updates`; how long after each write's answer its frame arrives,
 * per audience, and whether each stream got exactly what it may see, once, in order.
 *
 *   npm run bench:live [-- --store pglite|postgres --writers 16 --seconds 45 --catch-up-seconds 60 --json]
 *
 * Focal runs as `npm start` does (one process, `NODE_ENV=production`, rate limits off) on a fresh PGlite data
 * directory or a fresh PostgreSQL database (DATABASE_URL, a role that may create databases), with the NATS at
 * NATS_URL. Each member-state writer registers contact points of its own state (one write in six) and changes
 * their details with If-Match, taking turns: the e-mail alone (an event only those who may see closed fields
 * receive), the authority, the authority and the phone. Ten secretariat, ten member-state and ten
 * liaison-organisation subscribers run in a child process.
 */
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import pg from 'pg';

import { signToken } from '../../apps/gateway/src/index.js';
import { startChild, stopChild } from '../commands/children.js';
import { focalEnvironment } from '../commands/setup.js';
import type { Received, Subscriber } from './subscribers.js';

const { values: args } = parseArgs({
  options: {
    store: { type: 'string', default: 'pglite' },
    writers: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '45' },
    'catch-up-seconds': { type: 'string', default: '60' },
    json: { type: 'boolean', default: false },
  },
});
const writers = Number(args.writers);
const seconds = Number(args.seconds);
const catchUpSeconds = Number(args['catch-up-seconds']);
if (![writers, seconds, catchUpSeconds].every((n) => Number.isInteger(n) && n > 0) || writers > 16) {
  console.error('--writers (1 to 16), --seconds and --catch-up-seconds take whole numbers above 0');
  process.exit(2);
}
if (args.store !== 'pglite' && args.store !== 'postgres') {
  console.error(`--store ${args.store} is not a store here: use pglite or postgres`);
  process.exit(2);
}
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

const WRITER_STATES = [
  'AT',
  'BE',
  'BG',
  'HR',
  'CY',
  'CZ',
  'DK',
  'EE',
  'FI',
  'FR',
  'DE',
  'GR',
  'HU',
  'IE',
  'IT',
  'LV',
];
const SUBSCRIBER_STATES = ['LT', 'LU', 'MT', 'NL', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES'];
type Change = 'register' | 'email' | 'authority' | 'authority and phone';
interface Write {
  /** The write's tag (`<state>.<i>`), in a field of its event each audience that receives it is given. */
  tag: string;
  change: Change;
  answeredAt: number;
  ms: number;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : null;
};

async function main() {
  const jwtSecret = randomBytes(32).toString('base64url');
  const namespace = `bench_live_${randomUUID().slice(0, 8)}`;
  const database = `focal_bench_live_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const dataDir = args.store === 'pglite' ? mkdtempSync(join(tmpdir(), 'focal-bench-live-')) : undefined;
  const admin = dataDir ? undefined : new pg.Client({ connectionString: adminUrl });
  let store: Record<string, string>;
  if (admin) {
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    store = { FOCAL_STORE: 'postgres', DATABASE_URL: url.toString() };
  } else {
    store = { FOCAL_STORE: 'pglite', FOCAL_DATA_DIR: dataDir! };
  }
  const focal = await startChild('focal.ts', {
    ...focalEnvironment({ store, namespace, jwtSecret, natsUrl }),
    FOCAL_RATE_LIMIT_STREAMS_PER_MINUTE: '0',
  });
  const call = async (token: string, method: string, path: string, body?: unknown, headers = {}) => {
    const started = Date.now();
    const response = await fetch(`${focal.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const answer = (await response.json()) as Record<string, unknown>;
    if (!response.ok)
      throw new Error(`${method} ${path} answered ${response.status}: ${JSON.stringify(answer)}`);
    return { answer, answeredAt: Date.now(), started };
  };
  let subscribersProcess: ReturnType<typeof fork> | undefined;
  try {
    const secretariat = await signToken(jwtSecret, { sub: 'bench-secretariat', role: 'secretariat' });
    for (const code of [...WRITER_STATES, ...SUBSCRIBER_STATES]) {
      await call(secretariat, 'PUT', `/v1/states/${code}`, {
        name: code,
        status: 'member',
        effectiveFrom: '2002-06-13',
      });
    }
    const organisations: string[] = [];
    for (let i = 0; i < 10; i++) {
      const { answer } = await call(secretariat, 'POST', '/v1/liaison-organisations', {
        name: `Mechanism ${i}`,
        acronym: `M${i}`,
        kind: 'un-mechanism',
      });
      organisations.push(answer.id as string);
    }
    const subscribers: Subscriber[] = [
      ...(await Promise.all(
        Array.from({ length: 10 }, async (_, i) => ({
          name: `secretariat-${i}`,
          audience: 'secretariat' as const,
          token: await signToken(jwtSecret, { sub: `secretariat-${i}`, role: 'secretariat' }),
        })),
      )),
      ...(await Promise.all(
        SUBSCRIBER_STATES.map(async (state) => ({
          name: `member-${state}`,
          audience: 'member' as const,
          token: await signToken(jwtSecret, { sub: `member-${state}`, role: 'member-state', state }),
        })),
      )),
      ...(await Promise.all(
        organisations.map(async (organisation, i) => ({
          name: `liaison-${i}`,
          audience: 'liaison' as const,
          token: await signToken(jwtSecret, {
            sub: `liaison-${i}`,
            role: 'liaison-organisation',
            organisation,
          }),
        })),
      )),
    ];
    const child = fork(join(import.meta.dirname, 'subscribers.ts'), [], {
      execArgv: ['--import', 'tsx'],
      env: {
        ...process.env,
        LIVE_URL: focal.url,
        LIVE_SUBSCRIBERS: JSON.stringify(subscribers),
        LIVE_CATCH_UP_MS: String(catchUpSeconds * 1000),
      },
    });
    subscribersProcess = child;
    const messages = (wanted: 'connected' | 'received') =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const onMessage = (message: Record<string, unknown>) => {
          if (!(wanted in message)) return;
          child.off('message', onMessage);
          resolve(message);
        };
        child.on('message', onMessage);
        child.once('exit', (code) => reject(new Error(`the subscribers' process exited (${code})`)));
      });
    await messages('connected');
    console.error(`${subscribers.length} subscribers connected; ${writers} writers for ${seconds} s`);

    const writes: Write[] = [];
    const started = Date.now();
    const until = started + seconds * 1000;
    const progress = setInterval(() => console.error(`  ${writes.length} writes`), 10_000);
    await Promise.all(
      WRITER_STATES.slice(0, writers).map(async (state) => {
        const token = await signToken(jwtSecret, { sub: `writer-${state}`, role: 'member-state', state });
        const own: { id: string; version: number }[] = [];
        for (let i = 0; Date.now() < until; i++) {
          if (i % 6 === 0) {
            const done = await call(token, 'POST', '/v1/contact-points', {
              state,
              fullName: `Contact ${state} ${i}`,
              email: `contact.${state.toLowerCase()}.${i}@justice.example`,
              role: 'prosecutor',
              authority: `Authority ${state}`,
              languages: ['en'],
            });
            own.push({ id: done.answer.id as string, version: done.answer.version as number });
            writes.push({
              ...done,
              tag: `${state}.${i}`,
              change: 'register',
              ms: done.answeredAt - done.started,
            });
            continue;
          }
          const contact = own[i % own.length]!;
          const change = (['email', 'authority', 'authority and phone'] as const)[i % 3]!;
          const body =
            change === 'email'
              ? { email: `changed.${state.toLowerCase()}.${i}@justice.example` }
              : change === 'authority'
                ? { authority: `Authority ${state} ${i}` }
                : { authority: `Authority ${state} ${i}`, phone: `+3215550${String(i).padStart(4, '0')}` };
          const done = await call(token, 'PATCH', `/v1/contact-points/${contact.id}`, body, {
            'if-match': `"${contact.version}"`,
          });
          contact.version = done.answer.version as number;
          writes.push({ ...done, tag: `${state}.${i}`, change, ms: done.answeredAt - done.started });
        }
      }),
    );
    clearInterval(progress);
    const stoppedAt = Date.now();
    // Frames are told apart by the write's tag, not by their ids: only the secretariat's are positions (the
    // others' are cursors, which neither order nor count), so its streams give each write its place in the log.
    const byTag = new Map(writes.map((write) => [write.tag, write]));
    const everything = writes.map((write) => write.tag);
    const withoutClosed = writes.filter((write) => write.change !== 'email').map((write) => write.tag);
    const result = messages('received');
    child.send({ expected: { secretariat: everything, member: everything, liaison: withoutClosed } });
    const { received } = (await result) as { received: Received[] };
    const positionOf = new Map<string, bigint>();
    for (const stream of received.filter((r) => r.audience === 'secretariat')) {
      stream.tags.forEach((tag, i) => tag && positionOf.set(tag, BigInt(stream.ids[i]!)));
    }

    const audiences = Object.fromEntries(
      (['secretariat', 'member', 'liaison'] as const).map((audience) => {
        const lags: number[] = [];
        let lost = 0;
        let duplicated = 0;
        let misordered = 0;
        let notForThem = 0;
        let catchUpMs: number | null = 0;
        let withClosedFields = 0;
        let controlFramesAndErrors = 0;
        for (const stream of received.filter((r) => r.audience === audience)) {
          const seen = new Set<string>();
          let previous = -1n;
          stream.tags.forEach((tag, i) => {
            if (!tag) return;
            const position = positionOf.get(tag) ?? -1n;
            if (seen.has(tag)) duplicated++;
            else if (position <= previous) misordered++;
            seen.add(tag);
            if (position > previous) previous = position;
            const write = byTag.get(tag);
            if (!write) return;
            if (audience === 'liaison' && write.change === 'email') notForThem++;
            lags.push(stream.arrivals[i]! - write.answeredAt);
          });
          for (const write of writes) {
            if (!(audience === 'liaison' && write.change === 'email') && !seen.has(write.tag)) lost++;
          }
          withClosedFields += stream.withClosedFields;
          controlFramesAndErrors += stream.controlFrames + stream.errors;
          catchUpMs =
            stream.caughtUpAt === null || catchUpMs === null
              ? null
              : Math.max(catchUpMs, stream.caughtUpAt - stoppedAt);
        }
        return [
          audience,
          {
            frames: lags.length,
            lagP50Ms: percentile(lags, 50),
            lagP99Ms: percentile(lags, 99),
            lagMaxMs: lags.reduce((a, b) => Math.max(a, b), 0),
            catchUpMs,
            lost,
            duplicated,
            misordered,
            // For liaison organisations both must be 0: closed events and closed fields are not theirs.
            closedEventsReceived: audience === 'liaison' ? notForThem : undefined,
            framesWithClosedFields: withClosedFields,
            controlFramesAndErrors,
          },
        ];
      }),
    );
    const figures = {
      store: args.store,
      writers,
      seconds,
      writes: writes.length,
      writesPerSecond: Math.round(writes.length / ((stoppedAt - started) / 1000)),
      writeP50Ms: percentile(
        writes.map((write) => write.ms),
        50,
      ),
      writeP99Ms: percentile(
        writes.map((write) => write.ms),
        99,
      ),
      audiences,
    };
    console.log(
      `live updates on ${figures.store}: ${figures.writes} writes (${figures.writesPerSecond}/s, p50 ${figures.writeP50Ms} ms) by ${writers} writers in ${seconds} s`,
    );
    for (const [audience, a] of Object.entries(audiences)) {
      console.log(
        `  ${audience.padEnd(11)} lag p50 ${a.lagP50Ms} ms, p99 ${a.lagP99Ms} ms, max ${a.lagMaxMs} ms; caught up ${a.catchUpMs === null ? `NOT within ${catchUpSeconds} s` : `${a.catchUpMs} ms`} after the writes; lost ${a.lost}, duplicated ${a.duplicated}, misordered ${a.misordered}` +
          (audience === 'liaison'
            ? `, closed events ${a.closedEventsReceived}, frames with closed fields ${a.framesWithClosedFields}`
            : ''),
      );
    }
    if (args.json) console.log(JSON.stringify(figures));
    const liaison = audiences.liaison!;
    const wrong = Object.values(audiences).some(
      (a) => a.lost + a.duplicated + a.misordered + a.controlFramesAndErrors > 0,
    );
    if (wrong || liaison.closedEventsReceived! + liaison.framesWithClosedFields > 0) {
      console.error('FAILED: a stream lost, repeated, reordered or leaked frames (above)');
      process.exitCode = 1;
    }
  } finally {
    subscribersProcess?.kill();
    await stopChild(focal.child);
    if (admin) {
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (error: unknown) => {
    console.error((error as Error).message);
    process.exit(1);
  },
);
