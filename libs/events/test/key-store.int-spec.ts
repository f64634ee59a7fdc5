import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.js';
import {
  ERASED,
  plaintextLength,
  KeyDestroyedError,
  LocalKeyring,
  PersonalDataCodec,
  PgDriver,
  PGliteDriver,
  SqlKeyStore,
  UnknownKeyEncryptionKeyError,
  type RecordedEvent,
  type SqlDriver,
} from '../src/index.js';

import { testKeyring, testSecrets } from '../../../test/support/secrets.js';
import { countingStatements } from './drivers.js';
const personalFields = {
  fields: { Registered: 'personal' },
  subjectOf: (streamId: string) => (streamId.startsWith('person-') ? streamId.slice(7) : undefined),
};

const recorded = (streamId: string, data: Record<string, unknown>) =>
  ({ type: 'Registered', streamId, data, visibility: { level: 'open' } }) as unknown as RecordedEvent;

/** The key store contract: every adapter passes the same cases. */
describe.each([
  [
    'PostgreSQL',
    async () => {
      const db: TestDatabase = await createTestDatabase('keys');
      const sql = new PgDriver({ connectionString: db.url });
      return { sql, close: async () => (await sql.close(), await db.drop()) };
    },
  ],
  [
    'PGlite',
    async () => {
      const sql = await PGliteDriver.open();
      return { sql, close: () => sql.close() };
    },
  ],
] as const)('SqlKeyStore on %s', (_name, open) => {
  let sql: SqlDriver;
  let close: () => Promise<void>;
  let keys: SqlKeyStore;

  beforeAll(async () => {
    ({ sql, close } = await open());
    keys = await SqlKeyStore.open(sql, testKeyring, { logInSameDatabase: true });
  });
  afterAll(() => close());

  it("keeps a new key's quicker commit to its own transaction: the connection's commits still wait for the disk", async () => {
    const made = await Promise.all(Array.from({ length: 5 }, (_, i) => keys.keyFor(`async-${i}`)));
    for (let i = 0; i < 5; i++) {
      expect(await keys.find(`async-${i}`)).toEqual(made[i]);
      // SET LOCAL: only that transaction skipped the wait; appends on the same connection still wait.
      expect(await sql.query('SHOW synchronous_commit')).toEqual([{ synchronous_commit: 'on' }]);
    }
  });

  it('makes a 256-bit key on first use and returns the same one after', async () => {
    const key = await keys.keyFor('a');
    expect(key).toHaveLength(32);
    expect(await keys.keyFor('a')).toEqual(key);
    expect(await keys.find('a')).toEqual(key);
    expect(await keys.find('never-made')).toBeUndefined();
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => keys.keyFor('b')));
    expect(new Set(concurrent.map((k) => k.toString('hex'))).size).toBe(1);
  });

  it('destroys a key for good: gone, never made again, destroying twice is harmless', async () => {
    await keys.keyFor('c');
    await keys.destroy('c');
    await keys.destroy('c');
    expect(await keys.find('c')).toBeUndefined();
    await expect(keys.keyFor('c')).rejects.toBeInstanceOf(KeyDestroyedError);
    await keys.destroy('d');
    await expect(keys.keyFor('d')).rejects.toBeInstanceOf(KeyDestroyedError);
  });

  it('makes a subject taken to be new (fresh) in one step, yet returns an existing key and refuses a destroyed one', async () => {
    const made = await keys.keyFor('fresh-1', { fresh: true });
    expect(await keys.find('fresh-1')).toEqual(made);
    // Not new after all: the one stored first is the key, whichever way it is asked for.
    expect(await keys.keyFor('fresh-1', { fresh: true })).toEqual(made);
    const racing = await Promise.all(
      Array.from({ length: 10 }, (_, i) => keys.keyFor('fresh-2', { fresh: i % 2 === 0 })),
    );
    expect(new Set(racing.map((k) => k.toString('hex'))).size).toBe(1);
    await keys.destroy('fresh-1');
    await expect(keys.keyFor('fresh-1', { fresh: true })).rejects.toBeInstanceOf(KeyDestroyedError);
    await keys.destroy('fresh-3');
    await expect(keys.keyFor('fresh-3', { fresh: true })).rejects.toBeInstanceOf(KeyDestroyedError);
  });

  it('makes the keys of many new subjects asked for at once in one insert or two, each its own', async () => {
    const { driver: counting, seen: inserts } = countingStatements(sql, /INSERT INTO focal_keys/);
    const batched = await SqlKeyStore.open(counting, testKeyring, { logInSameDatabase: true });
    await batched.destroy('burst-erased');
    inserts.length = 0;
    const subjects = Array.from({ length: 40 }, (_, i) => `burst-${i}`);
    const asked = [...subjects, 'burst-3', 'burst-erased'].map((subject) =>
      batched.keyFor(subject, { fresh: true }).then(
        (key) => ({ subject, key }),
        (error: unknown) => ({ subject, error }),
      ),
    );
    const answers = await Promise.all(asked);
    // The first goes in at once, the rest, made meanwhile, together after it.
    expect(inserts.length).toBeLessThanOrEqual(2);
    const keysMade = answers.slice(0, 40).map((answer) => ('key' in answer ? answer.key : undefined));
    expect(new Set(keysMade.map((key) => key?.toString('hex'))).size).toBe(40);
    for (const [i, subject] of subjects.entries()) expect(await keys.find(subject)).toEqual(keysMade[i]);
    // The same subject twice in one burst: one key, the same for both.
    expect(answers[40]).toEqual({ subject: 'burst-3', key: keysMade[3] });
    // An erased subject in the burst is refused alone.
    expect(answers[41]).toEqual({ subject: 'burst-erased', error: expect.any(KeyDestroyedError) });
  });

  it('looks up the keys of many subjects asked for at once in one read or two, each its own or none', async () => {
    const made = await Promise.all(Array.from({ length: 30 }, (_, i) => keys.keyFor(`looked-up-${i}`)));
    await keys.destroy('looked-up-erased');
    const { driver: counting, seen: lookups } = countingStatements(
      sql,
      /^SELECT subject_id, wrapped, kek_id FROM focal_keys/,
    );
    const gathered = await SqlKeyStore.open(counting, testKeyring, { logInSameDatabase: true });
    const subjects = made.map((_, i) => `looked-up-${i}`);
    const [found, kept, erased, never] = await Promise.all([
      Promise.all(subjects.map((subject) => gathered.find(subject))),
      Promise.all(subjects.map((subject) => gathered.keyFor(subject))),
      gathered.find('looked-up-erased'),
      gathered.find('looked-up-never-made'),
    ]);
    // The first goes at once, the rest, asked meanwhile, together after it.
    expect(lookups.length).toBeLessThanOrEqual(2);
    expect(found).toEqual(made);
    expect(kept).toEqual(made);
    expect(erased).toBeUndefined();
    expect(never).toBeUndefined();
    await expect(gathered.keyFor('looked-up-erased')).rejects.toBeInstanceOf(KeyDestroyedError);
  });

  it('finds several keys at once, leaving out destroyed and unknown subjects', async () => {
    const e = await keys.keyFor('e');
    const f = await keys.keyFor('f');
    await keys.keyFor('g');
    await keys.destroy('g');
    const found = await keys.findMany(['e', 'f', 'g', 'never-made', 'e']);
    expect([...found.keys()].sort()).toEqual(['e', 'f']);
    expect(found.get('e')).toEqual(e);
    expect(found.get('f')).toEqual(f);
    expect(await keys.findMany([])).toEqual(new Map());
  });

  it('the codec encrypts only the personal field, decrypts it, and reads it as erased once the key is gone', async () => {
    const codec = new PersonalDataCodec(keys, personalFields);
    const data = { personal: { fullName: 'Ana Silva', email: 'ana@pgr.pt' }, authority: 'PGR' };
    const [stored] = await codec.encode('person-e', [
      { type: 'Registered', data, visibility: { level: 'open' } },
    ]);
    expect(JSON.stringify(stored)).not.toContain('Ana');
    expect(stored!.authority).toBe('PGR');
    // The plaintext's length shows without the key: what lets a replay skip an empty change.
    expect(plaintextLength(stored!.personal)).toBe(JSON.stringify(data.personal).length);
    expect(plaintextLength('not ciphertext')).toBeUndefined();
    const [read] = await codec.decode('person-e', [recorded('person-e', stored!)]);
    expect(read!.data).toEqual(data);

    // Ciphertext is bound to its stream: copied elsewhere, it does not decrypt.
    await keys.keyFor('f');
    await expect(codec.decode('person-f', [recorded('person-f', stored!)])).rejects.toThrow();

    await keys.destroy('e');
    const [erased] = await codec.decode('person-e', [recorded('person-e', stored!)]);
    expect(erased!.data).toEqual({ personal: ERASED, authority: 'PGR' });
  });

  it('keeps data keys only wrapped: the table alone holds no key, and another keyring reads none', async () => {
    const key = await keys.keyFor('h');
    const [row] = await sql.query<{ key: Uint8Array | null; wrapped: Uint8Array; kek_id: string }>(
      "SELECT key, wrapped, kek_id FROM focal_keys WHERE subject_id = 'h'",
    );
    expect(row!.key).toBeNull();
    expect(row!.kek_id).toBe(testKeyring.currentKeyId);
    expect(Buffer.from(row!.wrapped).includes(key)).toBe(false);
    const stranger = await SqlKeyStore.open(sql, LocalKeyring.parse(LocalKeyring.newLine('test-kek')));
    await expect(stranger.find('h')).rejects.toThrow();
    const unknown = await SqlKeyStore.open(sql, LocalKeyring.parse(LocalKeyring.newLine('another-kek')));
    await expect(unknown.find('h')).rejects.toBeInstanceOf(UnknownKeyEncryptionKeyError);
  });

  it('rotates the master key: every data key wrapped again under the new one, resumably, then the old one goes', async () => {
    const before = new Map<string, Buffer>();
    for (const subject of ['r1', 'r2', 'r3', 'r4', 'r5']) before.set(subject, await keys.keyFor(subject));
    const newLine = LocalKeyring.newLine('next-kek');
    const oldLine = testSecrets.masterKey.trim();
    const rotating = await SqlKeyStore.open(sql, LocalKeyring.parse(`${newLine}\n${oldLine}\n`));
    const progress: number[] = [];
    // Two keys a batch: the work is done in steps, each kept, so an interrupted rotation goes on from there.
    const wrapped = await rotating.rewrapAll((done) => progress.push(done), 2);
    expect(wrapped).toBeGreaterThanOrEqual(5);
    expect(progress.length).toBeGreaterThan(1);
    expect(await rotating.rewrapAll()).toBe(0);
    const [{ count }] = (await sql.query<{ count: string }>(
      "SELECT count(*)::text AS count FROM focal_keys WHERE wrapped IS NOT NULL AND kek_id <> 'next-kek'",
    )) as [{ count: string }];
    expect(count).toBe('0');
    const rotated = await SqlKeyStore.open(sql, LocalKeyring.parse(newLine));
    for (const [subject, key] of before) expect(await rotated.find(subject)).toEqual(key);
  });

  it('wraps the keys an earlier version kept in the clear, when it opens', async () => {
    const legacy = Buffer.alloc(32, 7);
    await sql.query('INSERT INTO focal_keys (subject_id, key) VALUES ($1, $2)', ['legacy', legacy]);
    const reopened = await SqlKeyStore.open(sql, LocalKeyring.parse(testSecrets.masterKey));
    expect(await reopened.find('legacy')).toEqual(legacy);
    const [row] = await sql.query<{ key: Uint8Array | null }>(
      "SELECT key FROM focal_keys WHERE subject_id = 'legacy'",
    );
    expect(row!.key).toBeNull();
  });
});
