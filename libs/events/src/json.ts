import { InvalidAppendError } from './errors.js';

/**
 * Checks that a value survives a JSON round trip unchanged, and names the first path that would not.
 * JSON.stringify alone silently drops undefined and functions, turns NaN into null and Dates into strings:
 * an event must read back exactly as it was written, so those are refused.
 */
export function assertJsonValue(value: unknown, path: string): void {
  const problem = findNonJson(value, path, new Set());
  if (problem) throw new InvalidAppendError(`${problem}; event data and metadata must be plain JSON values`);
}

function findNonJson(value: unknown, path: string, seen: Set<object>): string | undefined {
  switch (typeof value) {
    case 'string':
      return value.includes('\0')
        ? `${path} contains a NUL character (\\u0000), which PostgreSQL cannot store`
        : undefined;
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${String(value)}, which JSON cannot hold`;
    case 'bigint':
      return `${path} is a bigint; write it as a string`;
    case 'undefined':
      return `${path} is undefined; omit the field or use null`;
    case 'function':
    case 'symbol':
      return `${path} is a ${typeof value}`;
  }
  if (value === null) return undefined;
  const object = value as object;
  if (seen.has(object)) return `${path} refers back to itself (a cycle)`;
  seen.add(object);
  try {
    if (Array.isArray(object)) {
      for (let i = 0; i < object.length; i++) {
        const problem = findNonJson(object[i], `${path}[${i}]`, seen);
        if (problem) return problem;
      }
      return undefined;
    }
    const prototype = Object.getPrototypeOf(object) as unknown;
    if (prototype !== Object.prototype && prototype !== null) {
      const name = (object as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
      return `${path} is a ${name}, not a plain object${name === 'Date' ? '; write dates as ISO strings' : ''}`;
    }
    for (const [key, child] of Object.entries(object)) {
      if (key.includes('\0')) return `${path} has a key with a NUL character (\\u0000)`;
      const problem = findNonJson(child, `${path}.${key}`, seen);
      if (problem) return problem;
    }
    return undefined;
  } finally {
    seen.delete(object);
  }
}
