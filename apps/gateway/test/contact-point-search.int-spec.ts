import { randomUUID } from 'node:crypto';

import { testKeyring } from '../../../test/support/secrets.js';
import { CONTACT_POINT_PERSONAL_FIELDS } from '@focal/contracts';
import type { Actor, DomainEvent } from '@focal/domain';
import {
  PersonalDataCodec,
  PgDriver,
  PGliteDriver,
  SqlEventStore,
  SqlKeyStore,
  type SqlDriver,
} from '@focal/events';

import { BlindIndex } from '../src/directory/blind-index.js';
import {
  BLIND_INDEX_SUBJECT,
  SEARCH_ALL,
  SEARCH_OPEN,
  searchQuery,
} from '../src/directory/contact-point-search.js';
import { DEFAULT_SCHEMA, ReadModels } from '../src/read-models/read-models.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.js';

const people = [
  {
    state: 'FR',
    personal: { fullName: 'Claire Martin', email: 'claire.martin@justice.example', phone: '+33140000000' },
    role: 'prosecutor',
    authority: 'Parquet national antiterroriste',
    expertise: ['core international crimes'],
  },
  {
    state: 'FR',
    personal: { fullName: 'Claire Fontaine', email: 'c.fontaine@justice.example' },
    role: 'investigator',
    authority: 'Office central de lutte contre les crimes contre l’humanité',
    expertise: ['genocide'],
  },
  {
    state: 'FR',
    personal: { fullName: 'Amélie Dubois', email: 'adb.unit7@parquet.example' },
    role: 'judge',
    authority: 'Tribunal judiciaire de Paris',
    expertise: [],
  },
  {
    state: 'BE',
    personal: { fullName: 'Amelie Laurent', email: 'a.laurent@just.fgov.example' },
    role: 'prosecutor',
    authority: 'Parquet fédéral',
    expertise: [],
  },
  {
    state: 'DE',
    personal: { fullName: 'Jonas Müller', email: 'j.mueller@bka.example' },
    role: 'investigator',
    authority: 'Bundeskriminalamt',
    expertise: ['war crimes'],
  },
  {
    state: 'SE',
    personal: { fullName: 'Erik Lindqvist', email: 'erik.lindqvist@polisen.example' },
    role: 'investigator',
    authority: 'Polismyndigheten Södertälje',
    expertise: [],
  },
  {
    state: 'FR',
    personal: { fullName: 'Hélène Dupont', email: 'helene.dupont@justice.example', phone: '+33155555555' },
    role: 'investigator',
    authority: 'OCLCH',
    expertise: [],
    erased: true,
  },
];

const viewers = {
  secretariat: { principal: 'secretariat-1', role: 'secretariat' },
  'a member state': { principal: 'de-1', role: 'member-state', state: 'DE' },
  'an observer state': { principal: 'no-1', role: 'observer-state', state: 'NO' },
  'an auditor': { principal: 'dpo', role: 'auditor' },
  'a liaison organisation': { principal: 'icc-1', role: 'liaison-organisation', organisation: randomUUID() },
} satisfies Record<string, Actor>;
type Viewer = keyof typeof viewers;
const secretariat: Viewer = 'secretariat';
const germany: Viewer = 'a member state';
const norway: Viewer = 'an observer state';
const auditor: Viewer = 'an auditor';
const icc: Viewer = 'a liaison organisation';

/** What each caller finds, on either store: names sorted. */
const searches: [string, Viewer, string, string[]][] = [
  ['accents ignored', icc, 'amelie', ['Amelie Laurent', 'Amélie Dubois']],
  ['accents ignored, the other way', icc, 'amélie', ['Amelie Laurent', 'Amélie Dubois']],
  ['case ignored', secretariat, 'AMÉLIE', ['Amelie Laurent', 'Amélie Dubois']],
  ['an umlaut', icc, 'muller', ['Jonas Müller']],
  ['an umlaut, typed', icc, 'Müller', ['Jonas Müller']],
  ['an authority without its accents', icc, 'sodertalje', ['Erik Lindqvist']],
  ['words in any order', icc, 'martin claire', ['Claire Martin']],
  ['words in order', icc, 'Claire Martin', ['Claire Martin']],
  ['a prefix', icc, 'clai', ['Claire Fontaine', 'Claire Martin']],
  ['every word as a prefix', icc, 'clai mart', ['Claire Martin']],
  ['words in different fields', icc, 'claire genocide', ['Claire Fontaine']],
  ['a role and an authority', icc, 'prosecutor parquet', ['Amelie Laurent', 'Claire Martin']],
  ['a word after an apostrophe', icc, 'humanite', ['Claire Fontaine']],
  ['an e-mail', secretariat, 'claire.martin@justice.example', ['Claire Martin']],
  ['an e-mail, as a member state', germany, 'Claire.Martin@justice.example', ['Claire Martin']],
  ['an e-mail, as an observer state', norway, 'adb.unit7@parquet.example', ['Amélie Dubois']],
  ['the local part, as an auditor', auditor, 'adb.unit7', ['Amélie Dubois']],
  ['a domain, erased entries not', secretariat, '@justice.example', ['Claire Fontaine', 'Claire Martin']],
  ['a word of an e-mail', secretariat, 'parquet', ['Amelie Laurent', 'Amélie Dubois', 'Claire Martin']],
  ['a phone number', secretariat, '+33 1 40 00 00 00', ['Claire Martin']],
  ['a phone number, national', germany, '01 40 00 00 00', ['Claire Martin']],
  ['no e-mail for a liaison organisation', icc, 'adb.unit7@parquet.example', []],
  ['no local part for a liaison organisation', icc, 'adb.unit7', []],
  ['no word of an e-mail for a liaison organisation', icc, 'unit7', []],
  ['no domain for a liaison organisation', icc, 'justice.example', []],
  ['an e-mail as open words only', icc, 'claire.martin@justice.example', []],
  ['only open fields for a liaison organisation', icc, 'parquet', ['Amelie Laurent', 'Claire Martin']],
  ['no phone for a liaison organisation', icc, '+33140000000', []],
  ['no phone, national, for a liaison organisation', icc, '01 40 00 00 00', []],
  ['no erased name', secretariat, 'dupont', []],
  ['no erased e-mail', secretariat, 'helene.dupont@justice.example', []],
  ['no erased phone', secretariat, '+33155555555', []],
  ['punctuation alone', secretariat, `&|!():*<->`, []],
  ['tsquery syntax as words', secretariat, `claire:* & !martin | (x <-> y)`, []],
  ['quotes and backslashes around words', secretariat, `"claire" \\martin\\ 'core'`, ['Claire Martin']],
];

interface Backend {
  sql: SqlDriver;
  store: SqlEventStore;
  keys: SqlKeyStore;
  close(): Promise<void>;
}

const backends: [string, () => Promise<Backend>][] = [
  [
    'PGlite',
    async () => {
      const sql = await PGliteDriver.open();
      const { store, keys } = await storeOn(sql);
      return {
        sql,
        store,
        keys,
        close: async () => {
          await store.close();
          await sql.close();
        },
      };
    },
  ],
  [
    'PostgreSQL',
    async () => {
      const db: TestDatabase = await createTestDatabase('search');
      const sql = new PgDriver({ connectionString: db.url });
      const { store, keys } = await storeOn(sql);
      return {
        sql,
        store,
        keys,
        close: async () => {
          await store.close();
          await sql.close();
          await db.drop();
        },
      };
    },
  ],
];

async function storeOn(sql: SqlDriver) {
  return {
    store: await SqlEventStore.open(sql, { closeDriver: false }),
    keys: await SqlKeyStore.open(sql, testKeyring),
  };
}

/** The people registered through the log, personal data encrypted as the directory service stores it. */
async function register(
  backend: Backend,
  list: readonly ((typeof people)[number] | Omit<(typeof people)[number], 'erased'>)[] = people,
): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const codec = new PersonalDataCodec(backend.keys, CONTACT_POINT_PERSONAL_FIELDS);
  for (const { erased, ...person } of list.map((entry) => ({ erased: false, ...entry }))) {
    const id = randomUUID();
    ids.set(person.personal.fullName, id);
    const streamId = `contact-point-${id}`;
    const registered = {
      type: 'ContactPointRegistered',
      data: { contactPointId: id, registeredOn: '2026-01-05', languages: ['en'], primary: false, ...person },
      visibility: { level: 'open' },
    } as DomainEvent;
    const events = [registered];
    if (erased) {
      events.push({
        type: 'ContactPointPersonalDataErased',
        data: { on: '2026-02-01' },
        visibility: { level: 'open' },
      } as DomainEvent);
    }
    const data = await codec.encode(streamId, events);
    await backend.store.append(
      streamId,
      events.map((event, index) => ({
        eventId: randomUUID(),
        type: event.type,
        data: data[index]!,
        metadata: { actor: viewers.secretariat, correlationId: randomUUID() },
        visibility: { level: 'open' },
      })),
      { expectedVersion: 'no-stream' },
    );
    if (erased) await backend.keys.destroy(id);
  }
  return ids;
}

const names = async (models: ReadModels, viewer: Viewer, q: string) =>
  (await models.contactPoints({ q, limit: 50, offset: 0 }, viewers[viewer])).items
    .map((row) => row.personal?.fullName ?? null)
    .sort();

describe.each(backends)('contact-point search on %s', (_name, open) => {
  let backend: Backend;
  let models: ReadModels;
  let ids: Map<string, string>;

  beforeAll(async () => {
    backend = await open();
    ids = await register(backend);
    models = await ReadModels.open(backend.sql, backend.store, backend.keys);
    await models.start();
    await models.catchUp();
  });
  afterAll(async () => {
    await models?.stop();
    await backend?.close();
  });

  it.each(searches)('%s: %s searching %j', async (_what, viewer, q, expected) => {
    expect(await names(models, viewer, q)).toEqual(expected);
  });

  it('lists the best match first: a whole e-mail before the addresses that only share its words', async () => {
    const sofia = (fullName: string, email: string) => ({
      state: 'IT',
      personal: { fullName, email },
      role: 'prosecutor',
      authority: 'Procura della Repubblica',
      expertise: [],
    });
    // Registered in the order a plain sort would list them, the exact match last.
    await register(backend, [
      sofia('Sofia Bianchi', 'sofia.rossi.150@giustizia.example'),
      sofia('Sofia Greco', 'sofia.rossi.1515@giustizia.example'),
      sofia('Sofia Rossi', 'sofia.rossi.15@giustizia.example'),
    ]);
    await models.catchUp();
    for (const viewer of [secretariat, germany]) {
      const found = await models.contactPoints(
        { q: 'sofia.rossi.15@giustizia.example', limit: 50, offset: 0 },
        viewers[viewer],
      );
      expect(found.total).toBe(3);
      expect(found.items.map((row) => row.personal?.fullName)).toEqual([
        'Sofia Rossi',
        expect.any(String),
        expect.any(String),
      ]);
    }
    // Without a search the order is the directory's: by state, primary first, authority, id.
    const listed = await models.contactPoints({ state: 'IT', limit: 50, offset: 0 }, viewers[secretariat]);
    expect(listed.items.map((row) => row.id)).toEqual(listed.items.map((row) => row.id).sort());
  });

  it('counts what it finds, with the other filters', async () => {
    const found = await models.contactPoints({ q: 'claire', state: 'FR', limit: 1, offset: 0 }, viewers[icc]);
    expect(found).toMatchObject({ total: 2, items: [expect.anything()] });
    const none = await models.contactPoints({ q: 'claire', state: 'DE', limit: 1, offset: 0 }, viewers[icc]);
    expect(none).toEqual({ total: 0, items: [] });
  });

  it('answers a search from the GIN indexes, not by reading every row', async () => {
    for (const viewer of [icc, secretariat] as const) {
      const plan = await backend.sql.transaction(async (tx) => {
        await tx.exec('SET LOCAL enable_seqscan = off');
        return tx.query<{ 'QUERY PLAN': string }>(
          `EXPLAIN SELECT id FROM ${DEFAULT_SCHEMA}.contact_points WHERE ${viewer === icc ? SEARCH_OPEN : SEARCH_ALL} @@ $1::tsquery`,
          [searchQuery('clai mart', new BlindIndex(await backend.keys.keyFor(BLIND_INDEX_SUBJECT)))],
        );
      });
      const expected = viewer === icc ? 'contact_points_search_open' : 'contact_points_search_all';
      expect(plan.map((line) => line['QUERY PLAN']).join('\n')).toContain(`Bitmap Index Scan on ${expected}`);
    }
  });

  it('holds no personal word in the clear: the table reads nothing without the keys', async () => {
    const rows = await backend.sql.query(`SELECT * FROM ${DEFAULT_SCHEMA}.contact_points`);
    // Ciphertext and blind tokens are random-looking letters: lowercased, a four-letter word turns up in them
    // by chance now and then. They are taken out, so that only what is stored in the clear is searched.
    const dump = JSON.stringify(rows)
      .replace(/aes-256-gcm:v1:[A-Za-z0-9+/=]+/g, '')
      .replace(/~[A-Za-z0-9_-]{22}/g, '')
      .toLowerCase();
    const wordsOf = (text: string) =>
      text
        .toLowerCase()
        .split(/[^\p{L}\p{N}]+/u)
        .filter((w) => w.length > 3);
    // Words that are also in fields that are not personal (an authority named "Parquet") may stand as they are.
    const open = new Set(
      people.flatMap((person) => [person.authority, person.role, ...person.expertise].flatMap(wordsOf)),
    );
    for (const { personal } of people) {
      const values = [personal.fullName, personal.email, 'phone' in personal ? personal.phone! : ''];
      for (const word of values.flatMap(wordsOf).filter((w) => !open.has(w))) {
        expect({ word, found: dump.includes(word) }).toEqual({ word, found: false });
      }
    }
  });

  it('stops finding a person by name the instant the key is destroyed, before the erasure reaches the read model', async () => {
    expect(await names(models, secretariat, 'claire martin')).toEqual(['Claire Martin']);
    await backend.keys.destroy(ids.get('Claire Martin')!);
    expect(await names(models, secretariat, 'claire martin')).toEqual([]);
    expect(await names(models, secretariat, 'claire.martin@justice.example')).toEqual([]);
    // Still found by what is not personal, as erased.
    const found = await models.contactPoints(
      { q: 'antiterroriste', limit: 5, offset: 0 },
      viewers[secretariat],
    );
    expect(found.items).toEqual([expect.objectContaining({ id: ids.get('Claire Martin'), personal: null })]);
  });
});
