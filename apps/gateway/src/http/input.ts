/*
 * What every piece of input must be before any handler sees it, whatever the endpoint: text that PostgreSQL,
 * NATS and every client can carry (no NUL, no lone surrogate), numbers that JSON and the store hold exactly,
 * and JSON no deeper than any Focal body needs. Checked once at the edge, on the parsed body, the query string
 * and the path parameters, so that no DTO has to remember it and bad input never reaches the store.
 */

/** Request bodies above this are refused with 413: enough for any command, small enough to protect memory. */
export const BODY_LIMIT_BYTES = 256 * 1024;

/** How deep a body may nest. Focal's deepest body (a message with its attachments) has three levels. */
export const MAX_DEPTH = 32;

const NUL = '\0';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Keys that would reach an object's prototype if a body were ever merged into one. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Why `text` cannot be taken as it is, or undefined when it can. */
export function textFault(text: string): string | undefined {
  if (text.includes(NUL)) return 'must not contain NUL characters (U+0000): remove them';
  if (LONE_SURROGATE.test(text)) {
    return 'must be well-formed Unicode: it holds a lone surrogate (such as \\ud800); send the whole character';
  }
  return undefined;
}

/** Why `value` is out of range, or undefined: every number must be finite and exact in JSON (±(2^53 − 1)). */
export function numberFault(value: number): string | undefined {
  return Number.isFinite(value) && Math.abs(value) <= Number.MAX_SAFE_INTEGER
    ? undefined
    : `is out of range: numbers lie between -${Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`;
}

/** One fault of the input: the field it is in (`attachments.0.name`, `q`, `id`) and what to do about it. */
export interface InputFault {
  field: string;
  message: string;
}

/**
 * The first fault of `value` (a parsed JSON body, a query string or path parameters), walking it once without
 * recursion, so that no nesting exhausts the stack: every string value and key, every number, and the depth.
 * `root` names the value itself when it is not an object (a body that is a bare string).
 */
export function inputFault(value: unknown, root: string): InputFault | undefined {
  const stack: { value: unknown; path: string[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    const field = () => fieldName(path, root);
    if (typeof current === 'string') {
      const fault = textFault(current);
      if (fault) return { field: field(), message: fault };
    } else if (typeof current === 'number') {
      const fault = numberFault(current);
      if (fault) return { field: field(), message: fault };
    } else if (typeof current === 'object' && current !== null) {
      if (path.length >= MAX_DEPTH) {
        return {
          field: field(),
          message: `is nested too deeply: a body nests at most ${MAX_DEPTH} levels of objects and arrays`,
        };
      }
      const entries = Array.isArray(current)
        ? current.map((item, index) => [String(index), item] as const)
        : Object.entries(current);
      for (const [key] of entries) {
        const keyFault = FORBIDDEN_KEYS.has(key) ? 'is not a field name Focal takes' : textFault(key);
        if (keyFault)
          return { field: fieldName([...path, key], root), message: `(a field name) ${keyFault}` };
      }
      // Pushed last to first, so that faults are found in the order the fields were written.
      for (let index = entries.length - 1; index >= 0; index--) {
        const [key, item] = entries[index]!;
        stack.push({ value: item, path: [...path, key] });
      }
    }
  }
  return undefined;
}

/**
 * The first parameter of a raw query string (after `?`) that is not percent-encoded UTF-8: a lone `%`, bytes
 * that are no UTF-8 (`%FF`), or a surrogate encoded on its own (`%ED%A0%80`). A parser would pass such bytes
 * on as they are, or replace them; they are refused instead, like a path that holds them.
 */
export function queryStringFault(query: string): InputFault | undefined {
  for (const parameter of query.split('&')) {
    try {
      decodeURIComponent(parameter.replace(/\+/g, ' '));
    } catch {
      const key = parameter.split('=', 1)[0]!;
      let field: string;
      try {
        field = decodeURIComponent(key);
      } catch {
        field = key;
      }
      return {
        field: safe(field),
        message: 'is not percent-encoded UTF-8: encode each byte of UTF-8 as %XX (%C3%A9 for é, %25 for %)',
      };
    }
  }
  return undefined;
}

/** A field path as the problem names it: shown safely (no control characters, no lone surrogates), short. */
function fieldName(path: string[], root: string): string {
  if (path.length === 0) return root;
  const shown = path.length > 8 ? [...path.slice(0, 8), '…'] : path;
  return shown.map(safe).join('.');
}

const safe = (key: string) =>
  (key.length > 60 ? `${key.slice(0, 60)}…` : key).replace(
    // Control characters and lone surrogates are escaped: the name is echoed back to the caller.
    /[\p{Cc}\p{Cs}]/gu,
    (character) => `\\u${character.codePointAt(0)!.toString(16).padStart(4, '0')}`,
  );
