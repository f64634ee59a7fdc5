/**
 * Append throughput and live lag on the local PostgreSQL server.
 *
 *   npm run bench:append [-- --seconds 3 --rounds 3 --lag-seconds 5 --json]
 *
 * For 1, 8 and 32 concurrent writers, each appending one event with a 1 KB JSON payload at a time to a
 * stream of its own, side by side in one run:
 *   - Focal's PostgreSQL event store;
 *   - raw INSERTs of the same rows into a plain table of the same shape (same columns, same unique keys:
 *     position, event id, stream and version), with the same client and concurrency: the practical limit;
 *   - the same raw INSERTs into a table with a primary key only, for reference;
 *   - Emmett's PostgreSQL event store (`appendToStream`).
 * Each figure is the median of `--rounds` runs, the three systems taking turns, so that a disturbance on
 * this shared machine hits all of them alike.
 * Then the live lag: p50/p99 from an append's commit to a subscriber, on a store instance of its own (so
 * the wake-up travels through PostgreSQL NOTIFY, as between processes), at 1,000 events/s.
 * With --json, the last line of output is one JSON object with every figure.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import pg from 'pg';

import { chainHash, openPostgresEventStore, type NewEvent, type Position } from '@focal/events';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    'lag-seconds': { type: 'string', default: '5' },
  },
});
const seconds = Number(args.seconds);
const lagSeconds = Number(args['lag-seconds']);
const rounds = Number(args.rounds);
if (!(seconds > 0) || !(lagSeconds > 0) || !Number.isInteger(rounds) || rounds < 1) {
  console.error(
    '--seconds and --lag-seconds take a positive number of seconds, --rounds a whole number from 1',
  );
  process.exit(2);
}
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const concurrencies = [1, 8, 32];

/** About 1 KB of JSON, shaped like a contact point's registration. */
const payload = {
  state: 'FR',
  fullName: 'Prénom Nom',
  role: 'prosecutor',
  authority:
    "Office central de lutte contre les crimes contre l'humanité, les génocides et les crimes de guerre",
  email: 'contact.point@example.org',
  phone: '+33123456789',
  languages: ['fr', 'en', 'de'],
  expertise: [
    'universal jurisdiction',
    'joint investigation teams',
    'mutual legal assistance',
    'witness protection',
  ],
  notes: 'x'.repeat(560),
  primary: true,
};
const metadata = { actor: { principal: 'bench', role: 'secretariat' as const }, correlationId: randomUUID() };
const newEvent = (): NewEvent => ({
  eventId: randomUUID(),
  type: 'ContactPointRegistered',
  data: payload,
  metadata,
  visibility: { level: 'open' },
});

interface Throughput {
  writers: number;
  focal: number;
  raw: number;
  rawPrimaryKeyOnly: number;
  emmett: number;
}

/** Runs `writers` loops of `appendOne(writer, index)` for `seconds`; returns appends per second. */
async function measure(writers: number, appendOne: (writer: number, index: number) => Promise<unknown>) {
  // A short warm-up so that connections and plans exist before the clock starts.
  await Promise.all(Array.from({ length: writers }, (_, writer) => appendOne(writer, 0)));
  let count = 0;
  const started = performance.now();
  const deadline = started + seconds * 1_000;
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      for (let index = 1; performance.now() < deadline; index++) {
        await appendOne(writer, index);
        count++;
      }
    }),
  );
  return count / ((performance.now() - started) / 1_000);
}

async function withDatabase<T>(work: (url: string) => Promise<T>): Promise<T> {
  const name = `focal_bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  try {
    return await work(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

async function focalThroughput(writers: number): Promise<number> {
  return withDatabase(async (url) => {
    const store = await openPostgresEventStore({ connectionString: url, max: writers });
    try {
      const run = randomUUID().slice(0, 8);
      return await measure(writers, (writer, index) =>
        store.append(`contact-point-${run}-${writer}`, [newEvent()], { expectedVersion: index }),
      );
    } finally {
      await store.close();
    }
  });
}

async function rawThroughput(writers: number, uniqueKeys: boolean): Promise<number> {
  return withDatabase(async (url) => {
    const pool = new pg.Pool({ connectionString: url, max: writers });
    pool.on('error', () => undefined); // connections closed by DROP DATABASE at the end
    await pool.query(`CREATE TABLE raw_events (
      position bigserial PRIMARY KEY, stream_id text NOT NULL, stream_version bigint NOT NULL,
      event_id uuid NOT NULL, type text NOT NULL, schema_version integer NOT NULL, data jsonb NOT NULL,
      metadata jsonb NOT NULL, visibility jsonb NOT NULL, recorded_at timestamptz NOT NULL,
      previous_hash bytea NOT NULL, hash bytea NOT NULL
      ${uniqueKeys ? ', UNIQUE (event_id), UNIQUE (stream_id, stream_version)' : ''})`);
    const data = JSON.stringify(payload);
    const meta = JSON.stringify(metadata);
    try {
      const run = randomUUID().slice(0, 8);
      const previous = new Map<number, string>();
      return await measure(writers, async (writer, index) => {
        const event = newEvent();
        const streamId = `contact-point-${run}-${writer}`;
        const recordedAt = new Date().toISOString();
        const content = {
          eventId: event.eventId,
          type: event.type,
          schemaVersion: 1,
          streamId,
          streamVersion: index + 1,
          recordedAt,
          visibility: '{"level": "open"}',
          data,
          metadata: meta,
        };
        const hash = chainHash(previous.get(writer) ?? '', content);
        await pool.query(
          `INSERT INTO raw_events (stream_id, stream_version, event_id, type, schema_version, data, metadata,
             visibility, recorded_at, previous_hash, hash)
           VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, decode($9, 'hex'), decode($10, 'hex'))`,
          [
            streamId,
            index + 1,
            event.eventId,
            event.type,
            data,
            meta,
            content.visibility,
            recordedAt,
            previous.get(writer) ?? '',
            hash,
          ],
        );
        previous.set(writer, hash);
      });
    } finally {
      await pool.end();
    }
  });
}

async function emmettThroughput(writers: number): Promise<number> {
  return withDatabase(async (url) => {
    const pool = new pg.Pool({ connectionString: url, max: writers });
    pool.on('error', () => undefined);
    const store = getPostgreSQLEventStore(url, { connectionOptions: { pool } });
    try {
      const run = randomUUID().slice(0, 8);
      return await measure(writers, (writer, index) =>
        store.appendToStream(
          `contact-point-${run}-${writer}`,
          [{ type: 'ContactPointRegistered', data: payload, metadata: { correlationId: randomUUID() } }],
          { expectedStreamVersion: BigInt(index) },
        ),
      );
    } finally {
      await store.close();
      await pool.end().catch(() => undefined);
    }
  });
}

/** Appends at 1,000 events/s from 4 writers; a subscriber on another store instance notes each arrival. */
async function liveLag(): Promise<{ p50: number; p99: number; max: number; events: number }> {
  return withDatabase(async (url) => {
    const writer = await openPostgresEventStore({ connectionString: url, max: 8 });
    const reader = await openPostgresEventStore({ connectionString: url, max: 2 });
    const committedAt = new Map<Position, number>();
    const lags: number[] = [];
    const total = Math.round(lagSeconds * 1_000);
    const abort = new AbortController();
    const received = (async () => {
      for await (const event of reader.subscribe({ signal: abort.signal })) {
        const arrived = performance.now();
        const committed = committedAt.get(event.globalPosition);
        // The append's promise may resolve a moment after the subscriber sees the event; count that as 0.
        lags.push(committed === undefined ? 0 : Math.max(0, arrived - committed));
        if (lags.length === total) return;
      }
    })();
    const started = performance.now();
    const streams = 4;
    await Promise.all(
      Array.from({ length: streams }, async (_, stream) => {
        for (let i = stream; i < total; i += streams) {
          const due = started + i; // one event per millisecond across all writers
          const wait = due - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          const result = await writer.append(`thread-lag-${stream}`, [newEvent()], {
            expectedVersion: 'any',
          });
          committedAt.set(result.firstPosition, performance.now());
        }
      }),
    );
    await Promise.race([received, new Promise((resolve) => setTimeout(resolve, 30_000))]);
    abort.abort();
    await Promise.all([writer.close(), reader.close()]);
    if (lags.length < total) throw new Error(`the subscriber received ${lags.length} of ${total} events`);
    lags.sort((a, b) => a - b);
    const at = (q: number) => round(lags[Math.min(lags.length - 1, Math.floor(q * lags.length))]!);
    return { p50: at(0.5), p99: at(0.99), max: round(lags[lags.length - 1]!), events: lags.length };
  });
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

async function main() {
  const log = (line: string) => console.log(line);
  const server = new pg.Client({ connectionString: adminUrl });
  await server.connect();
  const version = (await server.query<{ server_version: string }>('SHOW server_version')).rows[0]!
    .server_version;
  const fsync = (await server.query<{ fsync: string }>('SHOW fsync')).rows[0]!.fsync;
  const syncCommit = (await server.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]!
    .synchronous_commit;
  await server.end();
  log(
    `PostgreSQL ${version} (fsync ${fsync}, synchronous_commit ${syncCommit}); ` +
      `median of ${rounds} runs of ${seconds} s per figure`,
  );

  const throughput: Throughput[] = [];
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  for (const writers of concurrencies) {
    const runs = {
      focal: [] as number[],
      raw: [] as number[],
      rawPrimaryKeyOnly: [] as number[],
      emmett: [] as number[],
    };
    process.stdout.write(`${writers} writer(s):`);
    for (let round = 1; round <= rounds; round++) {
      runs.focal.push(await focalThroughput(writers));
      runs.raw.push(await rawThroughput(writers, true));
      runs.rawPrimaryKeyOnly.push(await rawThroughput(writers, false));
      runs.emmett.push(await emmettThroughput(writers));
      process.stdout.write(` round ${round}/${rounds}`);
    }
    process.stdout.write(' done\n');
    throughput.push({
      writers,
      focal: round(median(runs.focal), 0),
      raw: round(median(runs.raw), 0),
      rawPrimaryKeyOnly: round(median(runs.rawPrimaryKeyOnly), 0),
      emmett: round(median(runs.emmett), 0),
    });
  }
  process.stdout.write('live lag at 1,000 events/s…');
  const lag = await liveLag();
  process.stdout.write(' done\n\n');

  log('writers | focal ev/s | raw INSERT ev/s | raw, PK only | emmett ev/s | focal/raw | focal/emmett');
  log('------- | ---------- | --------------- | ------------ | ----------- | --------- | ------------');
  for (const row of throughput) {
    log(
      [
        String(row.writers).padStart(7),
        String(row.focal).padStart(10),
        String(row.raw).padStart(15),
        String(row.rawPrimaryKeyOnly).padStart(12),
        String(row.emmett).padStart(11),
        round(row.focal / row.raw)
          .toFixed(2)
          .padStart(9),
        round(row.focal / row.emmett)
          .toFixed(2)
          .padStart(12),
      ].join(' | '),
    );
  }
  log(
    `\nlive lag (append commit → subscriber on another store instance): p50 ${lag.p50} ms, p99 ${lag.p99} ms, max ${lag.max} ms over ${lag.events} events`,
  );
  const targets = throughput
    .filter((row) => row.writers >= 8)
    .every((row) => row.focal >= 0.7 * row.raw && row.focal > row.emmett);
  log(
    `targets (≥ 0.7× raw and ahead of Emmett at 8 and 32 writers; p99 lag ≤ 10 ms): ${targets && lag.p99 <= 10 ? 'met' : 'NOT met'}`,
  );
  if (args.json) {
    console.log(
      JSON.stringify({
        postgres: version,
        fsync,
        synchronousCommit: syncCommit,
        secondsPerRun: seconds,
        rounds,
        throughput: throughput.map((row) => ({
          ...row,
          focalToRaw: round(row.focal / row.raw),
          focalToRawPrimaryKeyOnly: round(row.focal / row.rawPrimaryKeyOnly),
          focalToEmmett: round(row.focal / row.emmett),
        })),
        lagMs: lag,
      }),
    );
  }
}

main().catch((error: unknown) => {
  console.error(`bench:append failed: ${(error as Error).message}`);
  process.exit(1);
});
