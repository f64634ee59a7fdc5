import { parseJson } from './edge.js';
import { inputFault, MAX_DEPTH, queryStringFault } from './input.js';
import { Problem } from './problem.js';

const nested = (depth: number, open: string, leaf: string, close: string) =>
  JSON.parse(open.repeat(depth) + leaf + close.repeat(depth)) as unknown;

describe('inputFault: what no store can hold, found once at the edge', () => {
  it('takes ordinary input: accents, emoji (a surrogate pair), control characters other than NUL, safe numbers', () => {
    const message = {
      body: 'Réunion à La Haye 🇳🇱\tligne\u0001deux',
      handlingCode: 'H3',
      attachments: [{ name: 'ordre du jour.pdf', sha256: 'a'.repeat(64), size: Number.MAX_SAFE_INTEGER }],
      scores: [-Number.MAX_SAFE_INTEGER, 0, -0, 1.5, Number.MIN_VALUE],
    };
    expect(inputFault(message, 'body')).toBeUndefined();
    expect(inputFault({ q: 'martin', limit: '5' }, 'query')).toBeUndefined();
    expect(inputFault(undefined, 'body')).toBeUndefined();
  });

  it(`refuses nesting deeper than ${MAX_DEPTH} levels, 10,000 deep included, without exhausting the stack`, () => {
    expect(inputFault(nested(MAX_DEPTH, '[', '1', ']'), 'body')).toBeUndefined();
    expect(inputFault(nested(MAX_DEPTH + 1, '[', '1', ']'), 'body')).toMatchObject({
      message: expect.stringContaining(`at most ${MAX_DEPTH} levels`),
    });
    expect(inputFault(nested(10_000, '[', '', ']'), 'body')).toMatchObject({
      field: '0.0.0.0.0.0.0.0.…',
      message: expect.stringContaining('nested too deeply'),
    });
    expect(inputFault({ name: nested(10_000, '{"a":', '1', '}') }, 'body')).toMatchObject({
      field: 'name.a.a.a.a.a.a.a.…',
    });
  });

  it('refuses NUL and lone surrogates in values and in keys, naming the field', () => {
    expect(inputFault({ name: 'a\u0000b' }, 'body')).toEqual({
      field: 'name',
      message: expect.stringContaining('NUL'),
    });
    for (const lone of ['\ud800', 'a\udfffb', '\udc00\ud800', 'x\ud83c']) {
      expect(inputFault({ list: ['ok', lone] }, 'body')).toEqual({
        field: 'list.1',
        message: expect.stringContaining('lone surrogate'),
      });
    }
    expect(inputFault({ 'a\u0000b': 1 }, 'body')).toEqual({
      field: 'a\\u0000b',
      message: expect.stringContaining('(a field name) must not contain NUL'),
    });
    expect(inputFault({ ['\ud800']: 1 }, 'body')?.field).toBe('\\ud800');
    expect(inputFault({ code: 'F\u0000' }, 'path')?.field).toBe('code');
    expect(inputFault('a\u0000', 'body')?.field).toBe('body');
  });

  it('refuses numbers JSON cannot hold exactly: infinities, beyond ±(2^53 − 1)', () => {
    for (const number of [JSON.parse('1e400') as number, -Infinity, 2 ** 53, -(2 ** 53), 1e20]) {
      expect(inputFault({ attachments: [{ size: number }] }, 'body')).toEqual({
        field: 'attachments.0.size',
        message: expect.stringContaining('out of range'),
      });
    }
  });

  it('refuses keys that reach a prototype', () => {
    expect(inputFault(JSON.parse('{"a":{"__proto__":{"admin":true}}}'), 'body')?.field).toBe('a.__proto__');
    expect(inputFault({ constructor: { prototype: {} } }, 'body')?.field).toBe('constructor');
  });

  it('names the first fault in the order the fields were written', () => {
    expect(inputFault({ a: 'ok', b: '\u0000', c: '\ud800' }, 'body')?.field).toBe('b');
  });
});

describe('queryStringFault: a query string is percent-encoded UTF-8', () => {
  it('takes encoded UTF-8, plus signs and empty values', () => {
    for (const query of ['q=%C3%A9t%C3%A9+2024', 'q=', 'limit=5&offset=0', 'q=%F0%9F%87%B3', '', 'a&b']) {
      expect(queryStringFault(query)).toBeUndefined();
    }
  });

  it('refuses a lone %, bytes that are not UTF-8, overlong forms and encoded surrogates, naming the parameter', () => {
    for (const query of ['q=%', 'q=100%', 'q=%FF%FE', 'q=%C0%80', 'q=%ED%A0%80', 'q=%E0%A4%A']) {
      expect(queryStringFault(`limit=5&${query}`)).toEqual({
        field: 'q',
        message: expect.stringContaining('percent-encoded UTF-8'),
      });
    }
    expect(queryStringFault('%FF=1')?.field).toBe('%FF');
  });
});

describe('parseJson: JSON in UTF-8, or no body', () => {
  const refusal = (bytes: number[] | string) => {
    try {
      parseJson(Buffer.from(bytes as never));
    } catch (error) {
      expect(error).toBeInstanceOf(Problem);
      return { status: (error as Problem).status, reason: (error as Problem).reason };
    }
    throw new Error('expected a refusal');
  };

  it('takes no body as none, and JSON as JSON (a byte order mark too)', () => {
    expect(parseJson(Buffer.alloc(0))).toBeUndefined();
    expect(parseJson(Buffer.from('{"reason":"déménagé"}'))).toEqual({ reason: 'déménagé' });
    expect(parseJson(Buffer.from('\ufeff[1]'))).toEqual([1]);
  });

  it('refuses bytes that are not UTF-8: invalid, overlong, encoded surrogates', () => {
    const expected = { status: 400, reason: 'malformed-json' };
    expect(refusal([0x7b, 0xff, 0x7d])).toEqual(expected);
    expect(refusal([0x22, 0xc0, 0x80, 0x22])).toEqual(expected); // overlong NUL
    expect(refusal([0x22, 0xed, 0xa0, 0x80, 0x22])).toEqual(expected); // a surrogate, CESU-8
    expect(refusal('{bad')).toEqual(expected);
    expect(refusal(' ')).toEqual(expected);
  });
});
