import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.js';
import {
  ERASED,
  plaintextLength,
  KeyDestroyedError,
  PersonalDataCodec,
  PgDriver,
  PGliteDriver,
  SqlKeyStore,
  type RecordedEvent,
  type SqlDriver,
} from '../src/index.js';

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
    keys = await SqlKeyStore.open(sql);
  });
  afterAll(() => close());

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
});
