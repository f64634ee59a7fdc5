import {
  closed,
  contactPointFieldVisibility,
  maySee,
  type Actor,
  type ContactPointField,
} from '@focal/domain';

/*
 * Free-text search over contact points with PostgreSQL's own text search: each row carries two tsvectors
 * (GIN-indexed), one of the words of its open fields and one of the words of its closed fields, and a search
 * is a tsquery over the first, or over both for a caller who may see closed fields.
 *
 * The lexemes are made here, not by a text-search parser or dictionary: text is folded (lower case, accents
 * and other marks removed) and cut into words in TypeScript, and the SQL only casts them to tsvector and
 * tsquery. PGlite has no `unaccent`, so this is what makes the embedded store and a PostgreSQL server find
 * exactly the same rows; and a keyed blind index can later replace the personal words with HMACs of them
 * without touching the SQL (see `personalWords`).
 */

/** Columns of `contact_points`; the index on `SEARCH_ALL` and the query use this one expression. */
export const SEARCH_OPEN = 'search_open';
export const SEARCH_ALL = '(search_open || search_closed)';

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
  full_name: string | null;
  email: string | null;
  phone: string | null;
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
 * Words of the personal fields: the part a keyed blind index replaces (each word by its HMAC under a key kept
 * outside the database; the query side then looks for the same HMACs). The e-mail is found whole, by its local
 * part and by its domain ("claire.martin@justice.example", "claire.martin", "justice.example").
 */
function personalWords(row: SearchableContactPoint): Partial<Record<ContactPointField, string[]>> {
  const email = row.email ?? '';
  const at = email.lastIndexOf('@');
  return {
    fullName: textWords(row.full_name),
    email: at < 0 ? textWords(email) : [email, email.slice(0, at), email.slice(at + 1)].flatMap(textWords),
    phone: phoneWords(row.phone),
  };
}

/** A lexeme quoted for tsvector and tsquery input (words hold only letters and digits; this is belt and braces). */
const quoted = (lexeme: string) => `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/**
 * A contact point's search columns, as tsvector literals: the words of each field go to the column of that
 * field's visibility, as the domain decides it (a field neither open nor closed is searchable by no one).
 */
export function searchDocument(row: SearchableContactPoint): { search_open: string; search_closed: string } {
  const words = { open: new Set<string>(), closed: new Set<string>() };
  for (const [field, fieldWords] of Object.entries({ ...openWords(row), ...personalWords(row) })) {
    const level = contactPointFieldVisibility[field as ContactPointField].level;
    if (level === 'open' || level === 'closed') for (const word of fieldWords) words[level].add(word);
  }
  const vector = (set: Set<string>) => [...set].map(quoted).join(' ');
  return { search_open: vector(words.open), search_closed: vector(words.closed) };
}

const PHONE_LIKE = /^[\s+()./\d-]+$/;

/** How many words `q` searches for (the DTO refuses more than MAX_SEARCH_WORDS). */
export function searchWordCount(q: string): number {
  return phrases(q).flat().length;
}

/**
 * The tsquery for what a user typed, or undefined when it holds no letter or digit (nothing to look for).
 * Every word must match, anywhere, as a prefix ("clai" finds Claire); a word written with punctuation matches
 * whole or word by word ("claire.martin" finds the e-mail's local part, "jean-pierre" finds Jean Pierre); a
 * phone number (6 digits or more, spaces and punctuation ignored) matches by its digits.
 */
export function searchQuery(q: string): string | undefined {
  const prefix = (word: string) => `${quoted(word)}:*`;
  const digits = q.replace(/\D/g, '').replace(/^0+/, '');
  if (PHONE_LIKE.test(q) && digits.length >= 6) return prefix(cut(digits));
  const terms = phrases(q).map((words) =>
    words.length === 1
      ? prefix(words[0]!)
      : `(${prefix(cut(words.join('')))} | (${words.map(prefix).join(' & ')}))`,
  );
  return terms.length > 0 ? [...new Set(terms)].join(' & ') : undefined;
}

/**
 * The document a viewer's search runs on: the open words for everyone, the closed ones as well for those who
 * may see closed fields. Whoever may not gets results that depend on open fields only, so searching for an
 * e-mail address or a phone number never tells them that it exists.
 */
export function searchedDocument(viewer: Actor): string {
  return maySee(viewer, closed) ? SEARCH_ALL : SEARCH_OPEN;
}
