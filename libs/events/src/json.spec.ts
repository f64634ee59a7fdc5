import { InvalidAppendError } from './errors.js';
import { assertJsonValue } from './json.js';

describe('assertJsonValue', () => {
  it('accepts plain JSON values', () => {
    expect(() =>
      assertJsonValue({ a: [1, 'x', null, true, { b: -0.5 }], c: Object.create(null) }, 'data'),
    ).not.toThrow();
  });

  it.each([
    [{ a: 1n }, 'data.a is a bigint'],
    [{ a: [1, undefined] }, 'data.a[1] is undefined'],
    [{ a: new Map() }, 'data.a is a Map, not a plain object'],
    [{ a: Infinity }, 'data.a is Infinity'],
    [{ a: () => 1 }, 'data.a is a function'],
  ])('names the first value JSON would lose: %p', (value, message) => {
    expect(() => assertJsonValue(value, 'data')).toThrow(InvalidAppendError);
    expect(() => assertJsonValue(value, 'data')).toThrow(message);
  });

  it('accepts the same object twice when it is not a cycle', () => {
    const shared = { x: 1 };
    expect(() => assertJsonValue({ a: shared, b: shared }, 'data')).not.toThrow();
  });
});
