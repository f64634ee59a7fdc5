import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

import { PGlite } from '@electric-sql/pglite';

import { openPGliteEventStore, PGliteDriver, SqlEventStore } from '../src/index.js';
import { eventStoreContract, newEvent } from './contract.js';
import { sqlTampering } from './sql-tampering.js';

// Creating a PGlite database runs initdb (about 3 s); loading a dump of a migrated one is much faster,
// so each test still gets a database of its own.
let template: Blob;
beforeAll(async () => {
  const db = await PGlite.create();
  await SqlEventStore.open(new PGliteDriver(db));
  template = await db.dumpDataDir('none');
  await db.close();
});

eventStoreContract('PGlite', {
  withoutHeldAppend: 'PGlite serves one connection: no transaction can stay open beside another append',
  open: async (options) => {
    const db = await PGlite.create({ loadDataDir: template });
    const store = await SqlEventStore.open(new PGliteDriver(db), options);
    return {
      store,
      tampering: sqlTampering(async (text, params) => (await db.query(text, params)).rows),
    };
  },
});

describe('PGlite event store on disk', () => {
  it('keeps the log across a close and a reopen, and resumes its positions after it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'focal-pglite-'));
    try {
      const first = await openPGliteEventStore({ dataDir });
      const written = await first.append('contact-point-1', [newEvent(), newEvent()], {
        expectedVersion: 'no-stream',
      });
      await first.close();

      const reopened = await openPGliteEventStore({ dataDir });
      try {
        expect((await reopened.readStream('contact-point-1')).map((event) => event.globalPosition)).toEqual([
          written.firstPosition,
          written.lastPosition,
        ]);
        const next = await reopened.append('contact-point-1', [newEvent()], { expectedVersion: 2 });
        expect(reopened.comparePositions(next.firstPosition, written.lastPosition)).toBeGreaterThan(0);
        await expect(reopened.verifyAll()).resolves.toEqual({ ok: true, checked: 3 });
      } finally {
        await reopened.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('creates a new data directory in a process of its own, keeps a copy, and starts the next from it', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'focal-pglite-'));
    const cache = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = join(scratch, 'cache');
    // A copy kept by an earlier version held the files of the directory it was made for: never used again.
    await mkdir(join(scratch, 'cache', 'focal'), { recursive: true });
    await writeFile(
      join(scratch, 'cache', 'focal', 'pglite-0.5.16-763bae1c.tar.gz'),
      'jwt-secret of another',
    );
    try {
      for (const name of ['first', 'second']) {
        // What `npm start` writes into a new data directory before its database exists.
        await mkdir(join(scratch, name, 'secrets'), { recursive: true });
        await writeFile(join(scratch, name, 'secrets', 'jwt-secret'), `secret of ${name}`);
        await writeFile(join(scratch, name, 'nats-namespace'), `namespace-${name}`);
        const driver = await PGliteDriver.open(join(scratch, name));
        try {
          // initdb ran elsewhere (or its copy was unpacked there): this process only opened the directory.
          expect(await driver.query<{ shared_buffers: string }>('SHOW shared_buffers')).toEqual([
            { shared_buffers: '16MB' },
          ]);
          await driver.exec(`CREATE TABLE only_in_${name} (id int)`);
        } finally {
          await driver.close();
        }
        // The copy holds what initdb made, nothing written after and nothing that was there before.
        const kept = await readdir(join(scratch, 'cache', 'focal'));
        expect(kept).toEqual([expect.stringMatching(/^initdb-pglite-.*\.tar\.gz$/)]);
        const archive = gunzipSync(await readFile(join(scratch, 'cache', 'focal', kept[0]!))).toString(
          'latin1',
        );
        expect(archive).toContain('PG_VERSION');
        expect(archive).not.toMatch(/jwt-secret|nats-namespace|secret of|only_in_/);
        // Each directory keeps its own secrets and namespace.
        await expect(readFile(join(scratch, name, 'secrets', 'jwt-secret'), 'utf8')).resolves.toBe(
          `secret of ${name}`,
        );
        await expect(readFile(join(scratch, name, 'nats-namespace'), 'utf8')).resolves.toBe(
          `namespace-${name}`,
        );
      }
      const second = await PGliteDriver.open(join(scratch, 'second'));
      try {
        expect(
          await second.query(`SELECT tablename FROM pg_tables WHERE tablename LIKE 'only_in_%'`),
        ).toEqual([{ tablename: 'only_in_second' }]);
      } finally {
        await second.close();
      }
    } finally {
      if (cache === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = cache;
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('says which directory it could not create a database in, and what to check', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'focal-pglite-')), 'a-file');
    await writeFile(file, 'not a directory');
    try {
      await expect(PGliteDriver.open(join(file, 'data'))).rejects.toThrow(
        `could not create the embedded database in ${join(file, 'data')}`,
      );
    } finally {
      await rm(file, { force: true });
    }
  });
});
