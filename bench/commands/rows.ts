/**
 * Whether a command's cost depends on the log's size: rows of the log read per command, counted by PostgreSQL
 * itself (pg_stat_user_tables), with a small log and a long one.
 *
 *   npm run bench:commands:rows [-- --events 10000,1000000 --commands 300 --json]
 *
 * For each size: a fresh database gets a history of `--history` events generated through the domain's deciders
 * (bench/replay/history.ts: states, liaison organisations, contact points, threads with messages), then as
 * many more as the size asks, bulk-inserted (65,535 a transaction, positions made as the store makes them):
 * events of a type in streams no projection reads, which every filtered reader must get past. Then Focal
 * starts on it as `npm start` does (bench/commands/focal.ts, PostgreSQL store), catches up, and registers
 * `--commands` contact points one after another. Counters are reset after a warm-up and read after Focal has
 * stopped (a backend's counters reach the statistics when it goes idle or exits).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

import { LocalKeyring } from '@focal/events';
import { DEFAULT_LIMITS, openPersistence } from '@focal/service';
import pg from 'pg';

import { signToken } from '../../apps/gateway/src/index.js';
import { generateDirectoryHistory } from '../replay/history.js';
import { startChild, stopChild } from './children.js';
import { contactPoint, focalEnvironment } from './setup.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    events: { type: 'string', default: '10000,1000000' },
    history: { type: 'string', default: '10000' },
    /** Longest wait for the log's reads to settle: a reader that rescans while idle never lets them. */
    'settle-seconds': { type: 'string', default: '900' },
    commands: { type: 'string', default: '300' },
  },
});
const sizes = args.events.split(',').map(Number);
const commands = Number(args.commands);
const history = Number(args.history);
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const log = (line: string) => (args.json ? process.stderr : process.stdout).write(`${line}\n`);

interface TableReads {
  table: string;
  seq_tup_read: string;
  idx_tup_fetch: string;
  seq_scan: string;
  idx_scan: string;
}

async function measure(events: number) {
  const label = randomUUID().replaceAll('-', '').slice(0, 12);
  const database = `focal_bench_rows_${label}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const url = Object.assign(new URL(adminUrl), { pathname: `/${database}` }).toString();
  const masterKey = LocalKeyring.newLine('bench');
  const jwtSecret = randomBytes(32).toString('base64url');
  const db = new pg.Client({ connectionString: url });
  let focal: Awaited<ReturnType<typeof startChild>> | undefined;
  try {
    await db.connect();
    const generatedAt = performance.now();
    const persistence = await openPersistence({
      store: { kind: 'postgres', databaseUrl: url },
      limits: DEFAULT_LIMITS,
      masterKey,
    });
    await generateDirectoryHistory(
      persistence.store,
      persistence.keys,
      { events: Math.min(events, history), contactPoints: 100, threads: 50, perAppend: 25, concurrency: 8 },
      () => undefined,
    );
    await persistence.close();
    const [{ n: generated }] = (await db.query('SELECT count(*)::int AS n FROM focal_events')).rows;
    for (let written = generated as number; written < events;) {
      const batch = Math.min(65_535, events - written);
      await db.query(
        `INSERT INTO focal_events (position, stream_id, stream_version, event_id, type, schema_version, data,
                                   metadata, visibility, recorded_at, previous_hash, hash)
         SELECT (pg_current_xact_id()::text::bigint << 16) + g, 'bench-filler-' || (($1 + g) / 1000),
                ($1 + g) % 1000 + 1, gen_random_uuid(), 'BenchFillerRecorded', 1, jsonb_build_object('n', $1 + g),
                '{"actor":{"principal":"bench","role":"secretariat"},"correlationId":"bench"}', '{"level":"open"}',
                now(), '\\x00', sha256(($1 + g)::text::bytea)
           FROM generate_series(1, $2::int) g`,
        [written, batch],
      );
      written += batch;
    }
    await db.query('VACUUM ANALYZE focal_events');
    const stored = Number((await db.query('SELECT count(*) AS n FROM focal_events')).rows[0].n);
    const generateSeconds = (performance.now() - generatedAt) / 1000;
    log(`${stored} events generated in ${generateSeconds.toFixed(0)} s`);

    const startedAt = performance.now();
    focal = await startChild('focal.ts', {
      ...focalEnvironment({
        store: { FOCAL_STORE: 'postgres', DATABASE_URL: url },
        namespace: `bench_rows_${label}`,
        jwtSecret,
        natsUrl,
        masterKey,
      }),
      PORT: '0',
    });
    // A state the generated history does not hold (its states change status over time).
    const secretariat = await signToken(jwtSecret, { sub: 'bench', role: 'secretariat' });
    const admitted = await fetch(`${focal.url}/v1/states/IS`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${secretariat}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Iceland', status: 'member', effectiveFrom: '2002-06-13' }),
    });
    if (!admitted.ok) throw new Error(`admitting IS: ${admitted.status} ${await admitted.text()}`);
    const france = await signToken(jwtSecret, { sub: 'bench-is', role: 'member-state', state: 'IS' });
    let n = 0;
    const register = async () => {
      const response = await fetch(`${focal!.url}/v1/contact-points`, {
        method: 'POST',
        headers: { authorization: `Bearer ${france}`, 'content-type': 'application/json' },
        body: JSON.stringify(contactPoint(n++, 'IS')),
      });
      const text = await response.text();
      if (response.status !== 201) throw new Error(`registration: ${response.status} ${text}`);
      return response.headers.get('focal-position')!;
    };
    // Warm-up: every projection catches up with the generated log (the read models through Focal-Read-After).
    let position = '';
    for (let i = 0; i < 20; i++) position = await register();
    const read = await fetch(`${focal.url}/v1/contact-points?limit=1`, {
      headers: { authorization: `Bearer ${france}`, 'focal-read-after': position },
    });
    await read.text();
    const readySeconds = (performance.now() - startedAt) / 1000;
    for (let i = 0; i < 20; i++) await register();
    // Background readers that start from the beginning (the sealer hashing the whole log, the snapshots)
    // read it once after a start: wait until the log's reads settle, so that only the commands are counted.
    // Counters still pending in Focal's backends reach the statistics within a second of idleness.
    const logRowsRead = async () =>
      Number(
        (
          await db.query(
            `SELECT seq_tup_read + coalesce(idx_tup_fetch, 0) AS n FROM pg_stat_user_tables
              WHERE relname = 'focal_events'`,
          )
        ).rows[0].n,
      );
    let settled = await logRowsRead();
    for (let waited = 0; waited < Number(args['settle-seconds']); waited += 3) {
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const now = await logRowsRead();
      if (now - settled < 300) break;
      settled = now;
    }
    const quietSeconds = (performance.now() - startedAt) / 1000;
    await db.query('SELECT pg_stat_reset()');
    const [before] = (
      await db.query('SELECT xact_commit::text FROM pg_stat_database WHERE datname = $1', [database])
    ).rows as { xact_commit: string }[];

    const timedAt = performance.now();
    for (let i = 0; i < commands; i++) await register();
    const milliseconds = (performance.now() - timedAt) / commands;
    await stopChild(focal.child);
    focal = undefined;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const tables = (
      await db.query<TableReads>(
        `SELECT relname AS table, seq_tup_read::text, coalesce(idx_tup_fetch, 0)::text AS idx_tup_fetch,
                seq_scan::text, coalesce(idx_scan, 0)::text AS idx_scan
           FROM pg_stat_user_tables ORDER BY relname`,
      )
    ).rows;
    const [after] = (
      await db.query('SELECT xact_commit::text FROM pg_stat_database WHERE datname = $1', [database])
    ).rows as { xact_commit: string }[];
    const per = (value: number) => Math.round((value / commands) * 10) / 10;
    const rowsOf = (row: TableReads) => Number(row.seq_tup_read) + Number(row.idx_tup_fetch);
    const log_ = tables.find((row) => row.table === 'focal_events')!;
    const result = {
      events: stored,
      generateSeconds: Math.round(generateSeconds),
      readySeconds: Math.round(readySeconds),
      quietSeconds: Math.round(quietSeconds),
      commands,
      msPerCommand: Math.round(milliseconds * 10) / 10,
      logRowsPerCommand: per(rowsOf(log_)),
      logScansPerCommand: per(Number(log_.seq_scan) + Number(log_.idx_scan)),
      allRowsPerCommand: per(tables.reduce((sum, row) => sum + rowsOf(row), 0)),
      // Includes this benchmark's own few statements on the database, and background work (sealing, snapshots).
      transactionsPerCommand: per(Number(after!.xact_commit) - Number(before!.xact_commit)),
      tables: Object.fromEntries(
        tables.filter((row) => rowsOf(row) > 0).map((row) => [row.table, per(rowsOf(row))]),
      ),
    };
    log(JSON.stringify(result));
    return result;
  } finally {
    if (focal) await stopChild(focal.child);
    await db.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
}

async function main() {
  const results = [];
  for (const events of sizes) results.push(await measure(events));
  if (args.json) process.stdout.write(`${JSON.stringify({ results })}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
