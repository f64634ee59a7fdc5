import { randomUUID } from 'node:crypto';
import type { Worker } from 'node:worker_threads';

import { PgDriver, SqlEventStore, SqlKeyStore, type NewEvent } from '@focal/events';

import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.js';
import { testKeyring, testSecrets } from '../../../test/support/secrets.js';
import { until } from '../../../test/support/until.js';
import { DEFAULT_SCHEMA, ReadModels } from '../src/read-models/read-models.js';

const admitted = (code: string): NewEvent => ({
  eventId: randomUUID(),
  type: 'StateAdmitted',
  data: { code, name: code, status: 'member', effectiveFrom: '2002-06-13' },
  metadata: { actor: { principal: 'test', role: 'secretariat' }, correlationId: 'projection-thread' },
  visibility: { level: 'open' },
});

describe('the read models fed by a worker thread (PostgreSQL)', () => {
  let db: TestDatabase;
  let sql: PgDriver;
  let store: SqlEventStore;
  let readModels: ReadModels;
  const errors: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('projection_thread');
    sql = new PgDriver({ connectionString: db.url, max: 4 });
    store = await SqlEventStore.open(sql, { closeDriver: false });
    const keys = await SqlKeyStore.open(sql, testKeyring);
    readModels = await ReadModels.open(sql, store, keys, DEFAULT_SCHEMA, {
      worker: {
        databaseUrl: db.url,
        masterKey: testSecrets.masterKey,
        onError: (error) => errors.push(String(error)),
      },
    });
    await readModels.start();
  });
  afterAll(async () => {
    await readModels?.stop();
    await store?.close();
    await sql?.close();
    await db?.drop();
  });

  const admit = (code: string) =>
    store.append(`state-${code}`, [admitted(code)], { expectedVersion: 'no-stream' });
  const worker = () =>
    (readModels as unknown as { current: { feeder: { worker?: Worker } } }).current.feeder.worker;

  it('applies what was stored before a catch-up, and follows the log when woken', async () => {
    await admit('FR');
    await readModels.catchUp();
    expect(await readModels.state('FR')).toMatchObject({ code: 'FR', name: 'FR' });

    await admit('DE');
    readModels.wake();
    await until(async () => (await readModels.state('DE')) !== undefined, 'DE in the read models');
    // The runners of this thread answer how far behind the worker's are: from the same checkpoints.
    await readModels.catchUp();
    for (const runner of readModels.runners)
      expect(await runner.lag()).toEqual({ events: 0, milliseconds: 0 });
  });

  it('starts a new worker when its worker stops, and loses nothing written meanwhile', async () => {
    const first = worker()!;
    const stopped = new Promise((resolve) => first.once('exit', resolve));
    await first.terminate();
    await stopped;
    await admit('SE');
    await until(() => worker() !== undefined && worker() !== first, 'a new worker');
    await until(async () => (await readModels.state('SE')) !== undefined, 'SE in the read models');
    await admit('PL');
    await readModels.catchUp();
    expect(await readModels.state('PL')).toMatchObject({ code: 'PL' });
    expect(errors.some((error) => /worker stopped \(exit code 1\)/.test(error))).toBe(true);
  });

  it('stops its worker and its connections with the read models', async () => {
    const running = worker()!;
    const exited = new Promise<number>((resolve) => running.once('exit', resolve));
    const connections = async () =>
      Number(
        (
          await sql.query<{ n: string }>(
            `SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1`,
            [db.name],
          )
        )[0]!.n,
      );
    const before = await connections();
    await readModels.stop();
    await exited;
    expect(await connections()).toBeLessThan(before);
    await expect(readModels.catchUp()).rejects.toThrow(/have stopped/);
  });
});
