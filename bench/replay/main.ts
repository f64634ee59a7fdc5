/**
 * Replay: how fast the gateway's read models rebuild from a log of 1,000,000 events, beside the raw sequential
 * read rate of the events table in the same run, and how long the directory as of an instant takes over it.
 *
 *   npm run bench:replay [-- --events 1000000 --contact-points 2000 --threads 1000 --json]
 *
 * The history is generated through the domain's deciders (see history.ts) into a fresh PostgreSQL database
 * (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres, a role that may create databases),
 * which is dropped at the end. With --json, the last line of output is one JSON object with every figure.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual, parseArgs } from 'node:util';

import { LocalKeyring, type Position } from '@focal/events';
import { DEFAULT_LIMITS, openPersistence } from '@focal/service';
import pg from 'pg';

import { directoryAsOfByReplay } from '../../test/support/directory-as-of.js';
import { DirectorySnapshots } from '@focal/audit';
import { rebuildReadModels } from '../../apps/gateway/src/index.js';
import { progressBar } from '../../scripts/progress.js';
import { generateDirectoryHistory } from './history.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    events: { type: 'string', default: '1000000' },
    'contact-points': { type: 'string', default: '2000' },
    threads: { type: 'string', default: '1000' },
  },
});
const events = Number(args.events);
const contactPoints = Number(args['contact-points']);
const threads = Number(args.threads);
if (![events, contactPoints, threads].every((n) => Number.isInteger(n) && n >= 0) || events === 0) {
  console.error('--events (above 0), --contact-points and --threads take whole numbers');
  process.exit(2);
}
const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; seconds: number }> {
  const started = performance.now();
  const result = await work();
  return { result, seconds: (performance.now() - started) / 1000 };
}

async function main() {
  const database = `focal_bench_replay_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const persistence = await openPersistence({
    store: { kind: 'postgres', databaseUrl: url.toString() },
    limits: DEFAULT_LIMITS,
    masterKey: LocalKeyring.newLine('bench'),
  });
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    let bar = progressBar('events generated');
    const generated = await timed(() =>
      generateDirectoryHistory(
        persistence.store,
        persistence.keys,
        { events, contactPoints, threads, perAppend: 25, concurrency: 8 },
        (written) => bar.update(written, events),
      ),
    );
    bar.end();
    await client.query('VACUUM ANALYZE focal_events');
    const total = Number((await client.query('SELECT count(*) AS n FROM focal_events')).rows[0].n);

    // Raw: the table read in position order, every column, in pages, with the same driver.
    const raw = await timed(async () => {
      let after = '0';
      let read = 0;
      for (;;) {
        const { rows } = await client.query(
          'SELECT * FROM focal_events WHERE position > $1 ORDER BY position LIMIT 2000',
          [after],
        );
        if (rows.length === 0) return read;
        read += rows.length;
        after = String(rows.at(-1).position);
      }
    });

    // The same log through the store's port (what a projection reads): parsing and upcasting included.
    const viaStore = await timed(async () => {
      let after: Position | undefined;
      let read = 0;
      for (;;) {
        const page = await persistence.store.readAll({ ...(after ? { after } : {}), limit: 10_000 });
        if (page.length === 0) return read;
        read += page.length;
        after = page.at(-1)!.globalPosition;
      }
    });

    bar = progressBar('events projected');
    const rebuild = await timed(() => rebuildReadModels(persistence, (done, all) => bar.update(done, all)));
    bar.end();

    const instants = (
      await client.query(`SELECT recorded_at FROM focal_events ORDER BY position OFFSET $1 LIMIT 1`, [
        Math.floor(total / 2),
      ])
    ).rows.map((row: { recorded_at: Date }) => row.recorded_at as Date);
    instants.push(new Date());
    // What a gateway does in the background: a snapshot of the directory every 20,000 directory events.
    const snapshots = new DirectorySnapshots(persistence.store, persistence.sql, persistence.keys, {
      every: 20_000,
    });
    await snapshots.setUp();
    const snapshotting = await timed(() => snapshots.catchUp());
    const asOf = [];
    for (const instant of instants) {
      const fast = await timed(() => snapshots.asOf(instant));
      const naive = await timed(() => directoryAsOfByReplay(persistence.store, persistence.keys, instant));
      if (!isDeepStrictEqual(fast.result, naive.result)) {
        throw new Error(`the directory as of ${instant.toISOString()} differs from a full replay`);
      }
      asOf.push({
        instant: instant.toISOString(),
        seconds: round(fast.seconds),
        fullReplaySeconds: round(naive.seconds),
        contactPoints: fast.result.contactPoints.length,
      });
    }

    const figures = {
      events: total,
      contactPoints,
      threads,
      generateSeconds: round(generated.seconds),
      rawReadEventsPerSecond: Math.round(raw.result / raw.seconds),
      storeReadEventsPerSecond: Math.round(viaStore.result / viaStore.seconds),
      rebuildEventsPerSecond: Math.round(rebuild.result.events / rebuild.seconds),
      rebuildToRaw: round(rebuild.result.events / rebuild.seconds / (raw.result / raw.seconds)),
      rebuildSeconds: round(rebuild.seconds),
      snapshotSeconds: round(snapshotting.seconds),
      asOf,
    };
    console.log(
      `${total} events: raw read ${figures.rawReadEventsPerSecond} ev/s; rebuild ${figures.rebuildEventsPerSecond} ev/s ` +
        `(${figures.rebuildToRaw}× raw, target 0.5×); as of ${asOf.map((a) => `${a.instant}: ${a.seconds} s`).join(', ')} (target 2 s)`,
    );
    if (args.json) console.log(JSON.stringify(figures));
  } finally {
    await client.end();
    await persistence.close();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

await main();
