import { createHmac } from 'node:crypto';

import type { Actor } from '@focal/domain';

import { BlindIndex } from './blind-index.js';

import {
  foldText,
  SEARCH_ALL,
  SEARCH_OPEN,
  searchCondition,
  searchDocuments,
  searchQuery,
  searchWordCount,
} from './contact-point-search.js';

const indexKey = Buffer.alloc(32, 9);
const index = new BlindIndex(indexKey);
const searchDocument = async (row: Parameters<typeof searchDocuments>[0][number], under = index) =>
  (await searchDocuments([row], under))[0]!;
const claire = {
  personal: {
    fullName: 'Claire Martin-Müller',
    email: 'Claire.Martin@Justice.example',
    phone: '+33140000000',
  },
  authority: 'Polismyndigheten Södertälje',
  role: 'mla-officer',
  expertise: ['core international crimes'],
};
const lexemes = (vector: string) =>
  vector === '' ? [] : vector.split(' ').map((quoted) => quoted.slice(1, -1));
/** What a blind token of `word` is: computed here from the definition, to check the module against it. */
const token = (word: string) =>
  `~${createHmac('sha256', indexKey).update(word).digest('base64url').slice(0, 22)}`;

describe('contact-point search', () => {
  it('folds case, accents and letters without a decomposition', () => {
    expect(['Amélie', 'AMÉLIE', 'Müller', 'Søren', 'Łukasz', 'Straße', 'ﬁnn', 'Ǆuro'].map(foldText)).toEqual([
      'amelie',
      'amelie',
      'muller',
      'soren',
      'lukasz',
      'strasse',
      'finn',
      'dzuro',
    ]);
  });

  afterAll(() => index.close());

  it('keeps the words of fields that are not personal as words, and no personal word in the clear', async () => {
    const document = await searchDocument(claire);
    const open = lexemes(document.search_open);
    expect(open).toEqual(
      expect.arrayContaining(['sodertalje', 'mla', 'officer', 'core', 'international', 'crimes']),
    );
    const everything = `${document.search_open} ${document.search_name} ${document.search_closed}`;
    for (const personal of ['claire', 'martin', 'muller', 'justice', '140000000']) {
      expect(everything).not.toContain(personal);
    }
  });

  it('indexes the name (open) and the e-mail and phone (closed) as blind tokens of each word and its prefixes', async () => {
    const document = await searchDocument(claire);
    const name = lexemes(document.search_name);
    const closed = lexemes(document.search_closed);
    expect(name).toEqual(
      expect.arrayContaining(['claire', 'cl', 'clai', 'martin', 'muller', 'martinmuller'].map(token)),
    );
    expect(closed).toEqual(
      expect.arrayContaining(
        ['clairemartinjusticeexample', 'clairemartin', 'justiceexample', '33140000000', '140000000'].map(
          token,
        ),
      ),
    );
    expect(name).not.toContain(token('justice'));
    expect(closed).not.toContain(token('muller'));
    // Under another key the same words make other tokens: the index reads nothing without its key.
    const other = new BlindIndex(Buffer.alloc(32, 1));
    expect(lexemes((await searchDocument(claire, other)).search_name)).not.toContain(token('claire'));
    await other.close();
  });

  it('blinds the words of a batch of contact points on the worker as this thread does, each row its own', async () => {
    const jean = { ...claire, personal: { fullName: 'Jean Dupont' } };
    const [first, second] = await searchDocuments([claire, jean], index);
    expect(lexemes(first!.search_name)).toContain(index.token('claire'));
    expect(lexemes(first!.search_name)).toContain(token('claire'));
    expect(lexemes(second!.search_name)).toEqual(
      ['jean', 'je', 'jea', 'dupont', 'du', 'dup', 'dupo', 'dupon'].map(token),
    );
    expect(second!.search_closed).toBe('');
  });

  it('fails the batches a stopped worker held, and starts another for the next', async () => {
    const own = new BlindIndex(indexKey);
    const held = own.tokens(Array.from({ length: 50_000 }, (_, i) => `word${i}`));
    await own.close();
    await expect(held).rejects.toThrow(/blind index worker stopped/);
    await expect(own.tokens(['claire'])).resolves.toEqual([token('claire')]);
    await own.close();
  });

  it('has no personal tokens once the fields are erased', async () => {
    const erased = await searchDocument({ ...claire, personal: null });
    expect(erased.search_name).toBe('');
    expect(erased.search_closed).toBe('');
  });

  it('makes a tsquery of every word as a prefix or its blind token, a word with punctuation whole or word by word', () => {
    const w = (word: string) => `('${word}':* | '${token(word)}')`;
    expect(searchQuery('Martin  clai', index)).toBe(`${w('martin')} & ${w('clai')}`);
    expect(searchQuery('claire.martin@justice.example', index)).toBe(
      `(${w('clairemartinjusticeexample')} | (${w('claire')} & ${w('martin')} & ${w('justice')} & ${w('example')}))`,
    );
    expect(searchQuery('01 40 00 00 00', index)).toBe(w('140000000'));
    expect(searchQuery('+33 (1) 40-00', index)).toBe(w('3314000'));
  });

  it.each([
    `&|!():*<->`,
    `' OR 1=1 --`,
    `"claire" \\ martin\\`,
    `claire:*B & !martin | (x <-> y)`,
    'a\u0000b',
    '\uD800 lone',
    '   ',
    'x'.repeat(5_000),
  ])('turns hostile input %# into quoted letters, digits and tokens only, or nothing', (q) => {
    const query = searchQuery(q, index);
    if (query === undefined) return;
    const words = query.replace(/'[\p{L}\p{N}]+':\*/gu, 'W').replace(/'~[\w-]{22}'/g, 'T');
    expect(words).toMatch(/^[WT()&| ]+$/);
  });

  it('finds nothing to look for in text without a letter or digit', () => {
    expect(searchQuery('   ', index)).toBeUndefined();
    expect(searchQuery(`&|!():*<->"'\\`, index)).toBeUndefined();
    expect(searchWordCount('a-b c')).toBe(3);
  });

  it('searches closed tokens only for those who may see closed fields, and personal ones only while the key exists', () => {
    const as = (role: Actor['role'], more: Partial<Actor> = {}): Actor => ({ principal: 'p', role, ...more });
    for (const viewer of [
      as('secretariat'),
      as('auditor'),
      as('member-state', { state: 'FR' }),
      as('observer-state', { state: 'NO' }),
    ]) {
      expect(searchCondition(viewer, '$1', 'ALIVE')).toContain(`${SEARCH_ALL} @@ $1::tsquery`);
      expect(searchCondition(viewer, '$1', 'ALIVE')).toContain('search_name || search_closed ELSE');
    }
    for (const viewer of [
      as('liaison-organisation', { organisation: 'o' }),
      as('guest-state', { state: 'GM' }),
    ]) {
      expect(searchCondition(viewer, '$1', 'ALIVE')).toContain(`${SEARCH_OPEN} @@ $1::tsquery`);
      expect(searchCondition(viewer, '$1', 'ALIVE')).not.toContain('search_closed');
    }
    expect(searchCondition(as('secretariat'), '$1', 'ALIVE')).toContain('CASE WHEN ALIVE THEN');
  });
});
