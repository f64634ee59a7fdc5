import type { Actor } from '@focal/domain';

import {
  foldText,
  SEARCH_ALL,
  SEARCH_OPEN,
  searchDocument,
  searchedDocument,
  searchQuery,
  searchWordCount,
} from './contact-point-search.js';

const claire = {
  full_name: 'Claire Martin-Müller',
  email: 'Claire.Martin@Justice.example',
  phone: '+33140000000',
  authority: 'Polismyndigheten Södertälje',
  role: 'mla-officer',
  expertise: ['core international crimes'],
};
const lexemes = (vector: string) => vector.split(' ').map((quoted) => quoted.slice(1, -1));

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

  it('puts the words of open fields in one column and those of closed fields (e-mail, phone) in the other', () => {
    const document = searchDocument(claire);
    const open = lexemes(document.search_open);
    const closed = lexemes(document.search_closed);
    expect(open).toEqual(
      expect.arrayContaining(['claire', 'martin', 'muller', 'martinmuller', 'sodertalje', 'mla', 'officer']),
    );
    expect(open).toEqual(expect.arrayContaining(['core', 'international', 'crimes']));
    expect(closed).toEqual(
      expect.arrayContaining([
        'clairemartinjusticeexample',
        'clairemartin',
        'justiceexample',
        '33140000000',
        '140000000',
      ]),
    );
    expect(open).not.toEqual(expect.arrayContaining(['justice']));
    expect(open.some((word) => /\d/.test(word))).toBe(false);
  });

  it('has no personal words once the fields are erased', () => {
    const erased = searchDocument({ ...claire, full_name: null, email: null, phone: null });
    expect(erased.search_closed).toBe('');
    expect(erased.search_open).not.toMatch(/claire|martin/);
  });

  it('makes a tsquery of every word as a prefix, a word with punctuation whole or word by word', () => {
    expect(searchQuery('Martin  clai')).toBe(`'martin':* & 'clai':*`);
    expect(searchQuery('claire.martin@justice.example')).toBe(
      `('clairemartinjusticeexample':* | ('claire':* & 'martin':* & 'justice':* & 'example':*))`,
    );
    expect(searchQuery('01 40 00 00 00')).toBe(`'140000000':*`);
    expect(searchQuery('+33 (1) 40-00')).toBe(`'3314000':*`);
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
  ])('turns hostile input %# into quoted letters and digits only, or nothing', (q) => {
    const query = searchQuery(q);
    if (query === undefined) return;
    const words = query.replace(/'[\p{L}\p{N}]+':\*/gu, 'W');
    expect(words).toMatch(/^[W()&| ]+$/);
  });

  it('finds nothing to look for in text without a letter or digit', () => {
    expect(searchQuery('   ')).toBeUndefined();
    expect(searchQuery(`&|!():*<->"'\\`)).toBeUndefined();
    expect(searchWordCount('a-b c')).toBe(3);
  });

  it('searches closed words only for those who may see closed fields', () => {
    const as = (role: Actor['role']): Actor => ({ principal: 'p', role });
    expect(searchedDocument(as('secretariat'))).toBe(SEARCH_ALL);
    expect(searchedDocument(as('auditor'))).toBe(SEARCH_ALL);
    expect(searchedDocument({ ...as('member-state'), state: 'FR' })).toBe(SEARCH_ALL);
    expect(searchedDocument({ ...as('observer-state'), state: 'NO' })).toBe(SEARCH_ALL);
    expect(searchedDocument({ ...as('liaison-organisation'), organisation: 'o' })).toBe(SEARCH_OPEN);
  });
});
