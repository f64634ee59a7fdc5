/**
 * Value objects: each check returns undefined when the value is valid, or a message a person can act on.
 * Deciders gather these messages into one Invalid error naming every field at fault.
 */

/** ISO 3166-1 alpha-2: the 249 officially assigned codes. */
const COUNTRIES = new Set(
  (
    'AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY ' +
    'BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK ' +
    'FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR ' +
    'IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ' +
    'ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM ' +
    'PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF ' +
    'TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW'
  ).split(' '),
);

/** Codes people reach for that ISO 3166-1 does not assign, with the one to use. */
const COUNTRY_MISTAKES: Record<string, string> = { EL: 'GR', UK: 'GB' };

/** ISO 639-1: the 183 two-letter language codes. */
const LANGUAGES = new Set(
  (
    'aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el ' +
    'en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it ' +
    'iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt ' +
    'my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl ' +
    'sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo ' +
    'za zh zu'
  ).split(' '),
);

export const countryCount = COUNTRIES.size;
export const languageCount = LANGUAGES.size;

export function checkCountry(code: unknown): string | undefined {
  if (typeof code === 'string' && COUNTRIES.has(code)) return undefined;
  const text = JSON.stringify(code);
  if (typeof code === 'string' && COUNTRIES.has(code.toUpperCase())) {
    return `${text} must be upper case: ${code.toUpperCase()}`;
  }
  if (typeof code === 'string' && COUNTRY_MISTAKES[code]) {
    return `${text} is not an ISO 3166-1 code; use ${COUNTRY_MISTAKES[code]}`;
  }
  return `${text} is not an ISO 3166-1 alpha-2 country code (for example FR, DE, NL)`;
}

export function checkLanguage(code: unknown): string | undefined {
  if (typeof code === 'string' && LANGUAGES.has(code)) return undefined;
  return `${JSON.stringify(code)} is not an ISO 639-1 language code (two lower-case letters, for example en, fr)`;
}

export function checkEmail(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length <= 254 && /^[^\s@]+@[^\s@]+\.[^\s@.]+$/.test(value))
    return undefined;
  return `${JSON.stringify(value)} is not an e-mail address such as name@authority.example`;
}

/** E.164: a plus sign, a country code and at most 15 digits in all, no spaces. */
export function checkPhone(value: unknown): string | undefined {
  if (typeof value === 'string' && /^\+[1-9][0-9]{1,14}$/.test(value)) return undefined;
  return `${JSON.stringify(value)} is not an E.164 phone number: write + then up to 15 digits, e.g. +31703125000`;
}

export function checkUuid(value: unknown): string | undefined {
  if (
    typeof value === 'string' &&
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value)
  ) {
    return undefined;
  }
  return `${JSON.stringify(value)} is not a lower-case UUID`;
}

/** A calendar date, YYYY-MM-DD, that exists. */
export function checkDate(value: unknown): string | undefined {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const date = new Date(`${value}T00:00:00Z`);
    if (!Number.isNaN(date.getTime()) && date.toISOString().startsWith(value)) return undefined;
  }
  return `${JSON.stringify(value)} is not a date written YYYY-MM-DD`;
}

/** An instant with its offset, ISO 8601, e.g. 2026-11-22T10:00:00Z. */
export function checkInstant(value: unknown): string | undefined {
  if (
    typeof value === 'string' &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) &&
    !Number.isNaN(Date.parse(value))
  ) {
    return undefined;
  }
  return `${JSON.stringify(value)} is not an ISO 8601 instant such as 2026-11-22T10:00:00Z`;
}

/** The date (YYYY-MM-DD, in UTC) of an instant, or of a date: how the domain dates what happens at an instant. */
export const dateOf = (instantOrDate: string) => new Date(instantOrDate).toISOString().slice(0, 10);

/** A date or instant that lies after `now` (the command's time). */
export function checkFuture(value: unknown, now: string): string | undefined {
  const problem = typeof value === 'string' && value.includes('T') ? checkInstant(value) : checkDate(value);
  if (problem) return problem;
  const time = Date.parse(
    (value as string).includes('T') ? (value as string) : `${value as string}T00:00:00Z`,
  );
  return time > Date.parse(now) ? undefined : `${value as string} is not in the future (now is ${now})`;
}

export function checkText(value: unknown, max: number): string | undefined {
  if (typeof value === 'string' && value.trim().length > 0 && value.length <= max) return undefined;
  return typeof value === 'string' && value.length > max
    ? `is ${value.length} characters long; at most ${max} fit`
    : 'must be a non-empty text';
}

export function checkOneOf<T extends string>(value: unknown, allowed: readonly T[]): string | undefined {
  return allowed.includes(value as T)
    ? undefined
    : `${JSON.stringify(value)} is not one of ${allowed.join(', ')}`;
}

/** Collects field problems; undefined entries are fine. */
export function problems(checks: Record<string, string | undefined>): Record<string, string> | undefined {
  const found = Object.fromEntries(
    Object.entries(checks).filter(([, problem]) => problem !== undefined),
  ) as Record<string, string>;
  return Object.keys(found).length > 0 ? found : undefined;
}
