import {
  closed,
  contactPointFieldVisibility,
  maySee,
  type Actor,
  type ContactPointField,
  type PersonalData,
} from '@focal/domain';

import type { BlindIndex } from './blind-index.js';

/*
 * Free-text search over contact points with PostgreSQL's own text search. Each row carries three tsvectors
 * (GIN-indexed): the words of its fields that are not personal data (authority, role, expertise), as words;
 * and, as a keyed blind index, the personal words: the name (open) in one, e-mail and phone (closed) in
 * another, each word and each of its prefixes replaced by an HMAC under a key that is itself wrapped by the
 * master key. A search is a tsquery over the columns the caller may search; no personal word is stored in
 * the clear, and the index reads nothing without the master key.
 *
 * The lexemes are made here, not by a text-search parser or dictionary: text is folded (lower case, accents
 * and other marks removed) and cut into words in TypeScript, and the SQL only casts them to tsvector and
 * tsquery. PGlite has no `unaccent`, so this is what makes the embedded store and a PostgreSQL server find
 * exactly the same rows.
 */

/** The subject in the key store of the blind index's key (wrapped by the master key like every data key). */
export const BLIND_INDEX_SUBJECT = 'blind-index:contact-points';

/** The columns each caller searches: the index on each expression serves the query that uses it. */
export const SEARCH_OPEN = '(search_open || search_name)';
export const SEARCH_ALL = '(search_open || search_name || search_closed)';

/** More words than this in one search is refused (400): every word is one more index lookup. */
export const MAX_SEARCH_WORDS = 16;

/** Longest lexeme, in characters: PostgreSQL refuses one over 2,047 bytes. Longer words are cut, on both sides. */
const MAX_LEXEME = 256;

/** Letters that Unicode does not decompose into a base letter and a mark. */
const FOLDED: Readonly<Record<string, string>> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  đ: 'd',
  ð: 'd',
  ł: 'l',
  þ: 'th',
  ı: 'i',
  ħ: 'h',
};

/** Lower case, without accents or other marks: "Amélie", "AMELIE" and "amelie" are one word, "Müller" is "muller". */
export function foldText(text: string): string {
  return text
    .normalize('NFKD')
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[ßæœøđðłþıħ]/gu, (letter) => FOLDED[letter]!);
}

const cut = (word: string) => {
  const points = [...word];
  return points.length <= MAX_LEXEME ? word : points.slice(0, MAX_LEXEME).join('');
};

/**
 * The words of `text`, folded, as written between spaces ("jean-pierre", "claire.martin@justice.example"),
 * each cut at anything that is neither a letter nor a digit: [["jean", "pierre"], ["claire", "martin", …]].
 */
function phrases(text: string): string[][] {
  return foldText(text)
    .split(/\s+/u)
    .map((phrase) =>
      phrase
        .split(/[^\p{L}\p{N}]+/u)
        .filter(Boolean)
        .map(cut),
    )
    .filter((words) => words.length > 0);
}

/** Each word, and a word written with punctuation also whole: "Jean-Pierre" gives jean, pierre, jeanpierre. */
function textWords(text: string | null | undefined): string[] {
  if (!text) return [];
  return phrases(text).flatMap((words) => (words.length > 1 ? [...words, cut(words.join(''))] : words));
}

/** The phone's digits, and every ending of at least 6 of them without its leading zeros: a national "01 40…" finds "+33140…". */
function phoneWords(phone: string | null | undefined): string[] {
  const digits = phone?.replace(/\D/g, '') ?? '';
  if (!digits) return [];
  const endings = [...digits].map((_, start) => digits.slice(start).replace(/^0+/, ''));
  return [digits, ...endings.filter((ending) => ending.length >= 6)];
}

export interface SearchableContactPoint {
  /** Null once erased. */
  personal: Partial<PersonalData> | null;
  authority: string;
  role: string;
  expertise: readonly string[];
}

/** Words of fields that are not personal data. */
function openWords(row: SearchableContactPoint): Partial<Record<ContactPointField, string[]>> {
  return {
    authority: textWords(row.authority),
    role: textWords(row.role),
    expertise: row.expertise.flatMap(textWords),
  };
}

/**
 * Words of the personal fields, each stored as blind tokens. The e-mail is found whole, by its local part and
 * by its domain ("claire.martin@justice.example", "claire.martin", "justice.example").
 */
function personalWords(row: SearchableContactPoint): Partial<Record<ContactPointField, string[]>> {
  const email = row.personal?.email ?? '';
  const at = email.lastIndexOf('@');
  return {
    fullName: textWords(row.personal?.fullName),
    email: at < 0 ? textWords(email) : [email, email.slice(0, at), email.slice(at + 1)].flatMap(textWords),
    phone: phoneWords(row.personal?.phone),
  };
}

/** Prefixes a personal word is found by, since an HMAC cannot be matched by prefix: 2 letters on, up to 32. */
const PREFIX_FROM = 2;
const PREFIX_UP_TO = 32;

/**
 * Personal words and their prefixes, each once: an e-mail's words come whole, by local part and by domain, and
 * share most of their prefixes.
 */
function personalLexemes(words: readonly string[]): string[] {
  const lexemes = new Set<string>();
  for (const word of words) {
    lexemes.add(word);
    // Prefixes by code point (a letter outside the BMP is two UTF-16 units), sliced rather than rebuilt.
    let letters = 0;
    let end = 0;
    for (const letter of word) {
      letters++;
      end += letter.length;
      if (letters > PREFIX_UP_TO) break;
      if (letters >= PREFIX_FROM) lexemes.add(word.slice(0, end));
    }
  }
  return [...lexemes];
}

/** A lexeme quoted for tsvector and tsquery input (words hold only letters and digits; this is belt and braces). */
const quoted = (lexeme: string) => `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

export interface SearchColumns {
  search_open: string;
  search_name: string;
  search_closed: string;
}

/** What a contact point's search columns are made of: open words, and personal lexemes to be blinded. */
interface SearchLexemes {
  open: string[];
  name: string[];
  closed: string[];
}

function searchLexemes(row: SearchableContactPoint): SearchLexemes {
  const personal = { open: [] as string[], closed: [] as string[] };
  for (const [field, words] of Object.entries(personalWords(row))) {
    const level = contactPointFieldVisibility[field as ContactPointField].level;
    if (level === 'open' || level === 'closed') personal[level].push(...words);
  }
  return {
    open: [...new Set(Object.values(openWords(row)).flat())],
    name: personalLexemes(personal.open),
    closed: personalLexemes(personal.closed),
  };
}

/**
 * Contact points' search columns, as tsvector literals: the words of fields that are not personal in
 * `search_open`, as words; those of personal fields as blind tokens, in `search_name` when the domain makes
 * the field open and in `search_closed` when it makes it closed (a field neither is searchable by no one).
 * The rows of a batch share one request to the blind index, and each lexeme is blinded once among them.
 */
export async function searchDocuments(
  rows: readonly SearchableContactPoint[],
  index: BlindIndex,
): Promise<SearchColumns[]> {
  const lexemes = rows.map(searchLexemes);
  const personal = [...new Set(lexemes.flatMap(({ name, closed }) => [...name, ...closed]))];
  const tokens = await index.tokens(personal);
  const blind = new Map(personal.map((lexeme, i) => [lexeme, tokens[i]!]));
  const vector = (words: readonly string[]) => words.map(quoted).join(' ');
  return lexemes.map(({ open, name, closed }) => ({
    search_open: vector(open),
    search_name: vector(name.map((lexeme) => blind.get(lexeme)!)),
    search_closed: vector(closed.map((lexeme) => blind.get(lexeme)!)),
  }));
}

const PHONE_LIKE = /^[\s+()./\d-]+$/;

/** How many words `q` searches for (the DTO refuses more than MAX_SEARCH_WORDS). */
export function searchWordCount(q: string): number {
  return phrases(q).flat().length;
}

/**
 * The tsquery for what a user typed, or undefined when it holds no letter or digit (nothing to look for).
 * Every word must match, anywhere, as a prefix ("clai" finds Claire): a word of an open field by its own
 * prefix, a personal word by its blind token. A word written with punctuation matches whole or word by word
 * ("claire.martin" finds the e-mail's local part, "jean-pierre" finds Jean Pierre); a phone number (6 digits
 * or more, spaces and punctuation ignored) matches by its digits.
 */
export function searchQuery(q: string, index: BlindIndex): string | undefined {
  const prefix = (word: string) => {
    const points = [...word];
    const blind = points.length <= PREFIX_UP_TO ? ` | ${quoted(index.token(word))}` : '';
    return `(${quoted(word)}:*${blind})`;
  };
  const digits = q.replace(/\D/g, '').replace(/^0+/, '');
  if (PHONE_LIKE.test(q) && digits.length >= 6) return prefix(cut(digits));
  const terms = phrases(q).map((words) =>
    words.length === 1
      ? prefix(words[0]!)
      : `(${prefix(cut(words.join('')))} | (${words.map(prefix).join(' & ')}))`,
  );
  return terms.length > 0 ? [...new Set(terms)].join(' & ') : undefined;
}

/** What a viewer's search is decided on: open words and names, the closed ones too for who may see them. */
const searchable = (viewer: Actor, keyAlive: string) =>
  `(search_open || CASE WHEN ${keyAlive} THEN ${maySee(viewer, closed) ? 'search_name || search_closed' : 'search_name'} ELSE ''::tsvector END)`;

/**
 * The condition a viewer's search runs on (`$n` the tsquery): open words and names for everyone, the closed
 * ones as well for those who may see closed fields, so that searching for an e-mail address or a phone number
 * never tells anyone else that it exists. Personal tokens count only while the contact point's key exists:
 * from the instant an erasure destroys it, no search finds the person by name, even before the read model
 * has taken the erasure in. The first test uses the GIN index, the second decides.
 */
export function searchCondition(viewer: Actor, query: string, keyAlive: string): string {
  return `${maySee(viewer, closed) ? SEARCH_ALL : SEARCH_OPEN} @@ ${query}::tsquery AND ${searchable(viewer, keyAlive)} @@ ${query}::tsquery`;
}

/**
 * How well a row matches, from what the viewer may search: a row that holds more of the search's terms ranks
 * higher, so a whole e-mail address or name typed out comes before the rows that only share its words'
 * prefixes ("claire.martin.15@…" before "claire.martin.150@…").
 */
export function searchRank(viewer: Actor, query: string, keyAlive: string): string {
  return `ts_rank(${searchable(viewer, keyAlive)}, ${query}::tsquery)`;
}
