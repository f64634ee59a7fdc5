import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { PGliteDriver } from '@focal/events';

import { subscribe, typeOf } from './support/sse.js';
import { startSystem, STORES, type TestSystem } from './support/system.js';

const run = promisify(execFile);

/**
 * What someone with a copy of the database finds of a contact point: nothing personal, before or after its
 * erasure; and what every read path answers the instant an erasure is acknowledged: erased.
 */
describe.each(STORES)('personal data at rest and on erasure (%s store)', (store) => {
  let system: TestSystem;
  let secretariat: string;
  let startedAt: number;
  // Values found nowhere else, so that a match can only be a leak of this test's data.
  const mark = randomBytes(5).toString('hex');
  const person = {
    fullName: `Ingrid Provtagare${mark}`,
    email: `ingrid.${mark}@polisen.example`,
    phone: `+4612${parseInt(mark.slice(0, 6), 16).toString().padStart(8, '0').slice(0, 8)}`,
    notes: `Handles cases in Uppsala ${mark}`,
  };
  const reason = `long sick leave ${mark}`;
  const secrets = () => [
    person.fullName,
    `Provtagare${mark}`,
    person.email,
    `ingrid.${mark}`,
    person.phone,
    person.notes,
    reason,
  ];

  /** Every byte the database holds for this system, as a person with a copy would read it. */
  const copyOfTheDatabase = async (): Promise<Buffer> => {
    if (store === 'postgres') {
      const { stdout } = await run('pg_dump', ['--no-owner', system.storeEnv.DATABASE_URL!], {
        maxBuffer: 512 * 1024 * 1024,
        encoding: 'buffer',
      });
      return stdout as unknown as Buffer;
    }
    // The embedded store's whole data directory, its write-ahead log included.
    const tar = await (system.persistence.sql as PGliteDriver).db.dumpDataDir('none');
    return Buffer.from(await tar.arrayBuffer());
  };
  /** The server's write-ahead log written since the test began: what a backup or a replica receives. */
  const writeAheadLog = async (): Promise<Buffer[]> => {
    if (store !== 'postgres') return [];
    const [{ data_directory: directory }] = (await system.sql<{ data_directory: string }>(
      'SHOW data_directory',
    )) as [{ data_directory: string }];
    const wal = join(directory, 'pg_wal');
    const segments = [];
    for (const name of await readdir(wal)) {
      if (!/^[0-9A-F]{24}$/.test(name)) continue;
      if ((await stat(join(wal, name))).mtimeMs >= startedAt - 1_000)
        segments.push(await readFile(join(wal, name)));
    }
    return segments;
  };
  const leaks = (bytes: Buffer) =>
    secrets().filter(
      (value) => bytes.includes(Buffer.from(value)) || bytes.includes(Buffer.from(value.toLowerCase())),
    );

  beforeAll(async () => {
    startedAt = Date.now();
    system = await startSystem(store, 'dataprotection');
    secretariat = await system.token({ role: 'secretariat' });
    await system.ok('PUT', '/v1/states/SE', secretariat, {
      name: 'Sweden',
      status: 'member',
      effectiveFrom: '2002-06-13',
    });
  });
  afterAll(() => system?.stop());

  it('a copy of the database holds no personal value, nor any data key it could open, before and after erasure', async () => {
    const created = await system.ok('POST', '/v1/contact-points', secretariat, {
      state: 'SE',
      ...person,
      role: 'investigator',
      authority: 'Polismyndigheten',
      languages: ['sv', 'en'],
    });
    const id = created.body.id as string;
    await system.ok('PATCH', `/v1/contact-points/${id}`, secretariat, { notes: `${person.notes} and Gävle` });
    await system.ok('POST', `/v1/contact-points/${id}/retire`, secretariat, { reason });
    const retired = await system.ok('POST', `/v1/contact-points/${id}/reinstate`, secretariat);
    // Everything projected, then the copy.
    await system.call('GET', `/v1/contact-points/${id}`, {
      token: secretariat,
      headers: { 'focal-read-after': retired.headers.get('focal-position')! },
    });
    expect(leaks(await copyOfTheDatabase())).toEqual([]);
    const [{ plain }] = (await system.sql<{ plain: string }>(
      'SELECT count(*)::text AS plain FROM focal_keys WHERE key IS NOT NULL',
    )) as [{ plain: string }];
    expect(plain).toBe('0');

    const erased = await system.ok('DELETE', `/v1/contact-points/${id}/personal-data`, secretariat);
    await system.call('GET', '/v1/contact-points?state=SE', {
      token: secretariat,
      headers: { 'focal-read-after': erased.headers.get('focal-position')! },
    });
    expect(leaks(await copyOfTheDatabase())).toEqual([]);
    for (const segment of await writeAheadLog()) expect(leaks(segment)).toEqual([]);
  });

  it('the instant an erasure is acknowledged, every read path answers erased', async () => {
    const auditor = await system.token({ role: 'auditor' });
    const other = { ...person, fullName: `Sven Exempel${mark}`, email: `sven.${mark}@polisen.example` };
    const created = await system.ok('POST', '/v1/contact-points', secretariat, {
      state: 'SE',
      ...other,
      role: 'prosecutor',
      authority: 'Åklagarmyndigheten',
      languages: ['sv'],
    });
    const id = created.body.id as string;
    const seen = await system.call('GET', `/v1/contact-points/${id}`, {
      token: secretariat,
      headers: { 'focal-read-after': created.headers.get('focal-position')! },
    });
    expect(seen.body).toMatchObject({ fullName: other.fullName, email: other.email });

    await system.ok('DELETE', `/v1/contact-points/${id}/personal-data`, secretariat);
    // No Focal-Read-After: the read models may not have taken the erasure in yet. It must not matter.
    const detail = await system.call('GET', `/v1/contact-points/${id}`, { token: secretariat });
    expect(detail.body).toMatchObject({ fullName: null, personalData: { erased: true } });
    expect(detail.body).not.toHaveProperty('email');
    const byName = await system.call('GET', `/v1/contact-points?q=${encodeURIComponent(other.fullName)}`, {
      token: secretariat,
    });
    expect(byName.body).toMatchObject({ total: 0, items: [] });
    const byEmail = await system.call('GET', `/v1/contact-points?q=${encodeURIComponent(other.email)}`, {
      token: secretariat,
    });
    expect(byEmail.body).toMatchObject({ total: 0, items: [] });
    const byAuthority = await system.call('GET', '/v1/contact-points?q=aklagarmyndigheten', {
      token: secretariat,
    });
    expect(byAuthority.body.items).toEqual([expect.objectContaining({ id, fullName: null })]);
    const history = await system.call('GET', `/v1/audit/streams/contact-point-${id}`, { token: auditor });
    const exported = await fetch(`${system.url}/v1/audit/events?stream=contact-point-${id}`, {
      headers: { authorization: `Bearer ${auditor}` },
    }).then((response) => response.text());
    const replay = await subscribe(`${system.url}/v1/updates`, secretariat, { 'last-event-id': '0' });
    await replay.waitFor((frames) =>
      frames.some((frame) => typeOf(frame) === 'ContactPointPersonalDataErased'),
    );
    replay.close();
    const directory = await system.call('GET', `/v1/directory?asOf=${new Date().toISOString()}`, {
      token: auditor,
    });
    for (const [path, text] of [
      ['detail', JSON.stringify(detail.body)],
      ['search', JSON.stringify(byAuthority.body)],
      ['history', JSON.stringify(history.body)],
      ['export', exported],
      ['updates', JSON.stringify(replay.frames)],
      ['as of now', JSON.stringify(directory.body)],
    ]) {
      expect({ path, leaks: [other.fullName, other.email].filter((value) => text!.includes(value)) }).toEqual(
        {
          path,
          leaks: [],
        },
      );
    }
  });
});
