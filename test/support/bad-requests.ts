/*
 * Bad requests generated from the gateway's OpenAPI document: every operation, every field of its body schema,
 * mutated in type, presence, size, encoding and nesting; bad path ids, query values and headers; for every
 * role and for no token. Drawn from a seeded generator, so that a seed names the same requests again.
 */

/** A small seeded generator (mulberry32): the same seed, the same requests. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  /** A UUID drawn from the generator (version 4 form). */
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
  }
}

export interface SchemaObject {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  example?: unknown;
  default?: unknown;
  items?: SchemaObject;
  properties?: Record<string, SchemaObject>;
  required?: string[];
}

export interface OpenApiDocument {
  paths: Record<
    string,
    Record<string, { requestBody?: { content: Record<string, { schema: SchemaObject }> } }>
  >;
  components: { schemas: Record<string, SchemaObject> };
}

/** One operation of the document: its method, path template and body schema (refs resolved). */
export interface Operation {
  method: string;
  path: string;
  body?: SchemaObject;
}

export function operationsOf(document: OpenApiDocument): Operation[] {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map(([method, operation]) => {
        const schema = operation.requestBody?.content['application/json']?.schema;
        return {
          method: method.toUpperCase(),
          path,
          ...(schema ? { body: resolve(document, schema) } : {}),
        };
      }),
  );
}

function resolve(document: OpenApiDocument, schema: SchemaObject): SchemaObject {
  const named = schema.$ref ? document.components.schemas[schema.$ref.split('/').pop()!]! : schema;
  return {
    ...named,
    ...(named.items ? { items: resolve(document, named.items) } : {}),
    ...(named.properties
      ? {
          properties: Object.fromEntries(
            Object.entries(named.properties).map(([name, property]) => [name, resolve(document, property)]),
          ),
        }
      : {}),
  };
}

/** What the generator needs of the running system: ids that exist, tokens for each caller. */
export interface Fixtures {
  ids: {
    contactPoint: string;
    organisation: string;
    meetingRequest: string;
    thread: string;
    message: string;
  };
  /** A token per caller: the five roles, and none. */
  tokens: Record<string, string | undefined>;
  /** Authorization headers that are not a valid token: malformed, forged, expired, with malformed claims. */
  badAuthorizations: string[];
}

export interface GeneratedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** Who calls and what was done to the request, for the report of a failure. */
  caller: string;
  mutation: string;
}

/** Query parameters the gateway knows (the document lists none yet). */
const QUERY_PARAMETERS = [
  'state',
  'role',
  'language',
  'status',
  'q',
  'limit',
  'offset',
  'after',
  'types',
  'asOf',
  'stream',
  'type',
  'lastEventId',
];

const GOOD_QUERY_VALUES = [
  'FR',
  'prosecutor',
  'fr',
  'active',
  'requested',
  'martin clai',
  '5',
  '0',
  'ThreadOpened',
];
const BAD_QUERY_VALUES = [
  '%00',
  'a%00b',
  '%ED%A0%80',
  '%ED%B0%80x',
  '%',
  '100%',
  '%FF%FE',
  '%C0%80',
  '%E0%A4%A',
  '1e20',
  '-1',
  '1e400',
  '99999999999999999999999',
  '-99999999999999999999999',
  'NaN',
  'Infinity',
  '0x10',
  '1.5',
  'abc',
  '',
  '+',
  'x'.repeat(3_000),
  encodeURIComponent('é'.repeat(500)),
  encodeURIComponent('🇳🇱'),
  '2024-13-45T99:99:99Z',
  '%27%3B%20DROP%20TABLE%20focal_events%3B--',
  '%3Cscript%3E',
  '%2F..%2F..%2Fetc%2Fpasswd',
];

const BAD_IDS = [
  'not-a-uuid',
  '%00',
  'a%00b',
  '%ED%A0%80',
  '%',
  '%25',
  '%FF',
  'x'.repeat(101),
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  'FR',
  '..',
  '%2E%2E',
  '%2F',
  '%20',
  encodeURIComponent('é'),
  '-1',
  '1e400',
  '%7B%7D',
];

/** JSON texts for a field's value that no Focal field takes, or that no store can hold. */
const deep = (depth: number, open: string, leaf: string, close: string) =>
  open.repeat(depth) + leaf + close.repeat(depth);
const BAD_VALUES = [
  'null',
  'true',
  'false',
  '0',
  '-1',
  '1.5',
  '-0',
  '1e400',
  '-1e400',
  '123456789012345678901234567890',
  '9007199254740993',
  '1.7976931348623157e308',
  '""',
  '"   "',
  '"\\u0000"',
  '"a\\u0000b"',
  '"\\ud800"',
  '"\\udfff"',
  '"a\\udc00\\ud800b"',
  '"\\u202e\\ufeff"',
  '"\\u0001\\u001f\\u007f"',
  '"🇳🇱é"',
  '[]',
  '{}',
  '[null]',
  '[1,2,3]',
  '["\\u0000"]',
  '["\\ud800"]',
  '{"a":1}',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"admin":true}}}',
  deep(33, '[', '', ']'),
  deep(100, '{"a":', '1', '}'),
  deep(10_000, '[', '', ']'),
  deep(10_000, '{"a":', 'null', '}'),
];

/** Values that are too big: long strings, long arrays (some over the body limit). */
const bigValue = (rng: Rng) =>
  rng.pick([
    () => JSON.stringify('x'.repeat(rng.pick([201, 2_001, 4_001, 100_001]))),
    () => JSON.stringify('é'.repeat(rng.pick([1_000, 60_000, 200_000]))),
    () => JSON.stringify(Array.from({ length: rng.pick([31, 101, 10_000]) }, (_, i) => `v${i}`)),
    () => JSON.stringify(Array.from({ length: 20_000 }, () => 0)),
    () =>
      JSON.stringify(Array.from({ length: 1_000 }, () => ({ name: 'a', sha256: 'a'.repeat(64), size: 1 }))),
  ])();

const EXTRA_KEYS = [
  'extra',
  '',
  'a\\u0000',
  '\\ud800',
  '__proto__',
  'constructor',
  'prototype',
  'k'.repeat(1_000),
];

const BAD_HEADERS: Record<string, string[]> = {
  'idempotency-key': [
    '',
    ' ',
    'k'.repeat(201),
    'k'.repeat(5_000),
    'a\u0001b',
    'tab\there',
    'é',
    'a b',
    '\u007f',
  ],
  'if-match': [
    'garbage',
    '"-1"',
    '"99999999999"',
    '*',
    'W/"x"',
    '"',
    '""',
    '"1", "2"',
    '1e400',
    'é',
    '\u0001',
  ],
  'focal-read-after': ['garbage', '-1', '1e20', '99999999999999999999', '', '0x10', 'é', ' 1', '\u0001'],
  'last-event-id': ['garbage', '-1', '1e20', '99999999999999999999', '', '0x10', 'é', '\u0001'],
  'content-type': [
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/xml',
    'multipart/form-data; boundary=x',
    'application/json; charset=latin1',
    'application/json; charset=utf-16',
    'APPLICATION/JSON',
    'application/jsonx',
    'x',
    '',
    ';;;',
  ],
};

/** The values a valid body starts from: the document's examples, and these where a field needs real ones. */
const FIELD_VALUES = (fixtures: Fixtures): Record<string, unknown> => ({
  state: 'FR',
  organisation: fixtures.ids.organisation,
  email: 'someone@justice.example',
  phone: '+33140000000',
  languages: ['fr'],
  proposedDates: ['2031-03-02'],
  invitedStates: ['DE'],
  invitedOrganisations: [],
  effectiveFrom: '2002-06-13',
  scheduledFor: '2031-03-02T10:00:00Z',
  replyBy: '2031-01-01T12:00:00Z',
  participants: ['state:DE'],
  // Nothing listens on the discard port: a webhook created here fails fast and pauses, sending nowhere.
  url: 'http://127.0.0.1:9/hook',
  types: ['ThreadOpened'],
  sha256: 'a'.repeat(64),
});

function sample(schema: SchemaObject, name: string, fixtures: Fixtures, rng: Rng): unknown {
  const known = FIELD_VALUES(fixtures)[name];
  if (known !== undefined) return known;
  if (schema.example !== undefined) return schema.example;
  if (schema.enum) return rng.pick(schema.enum);
  switch (schema.type) {
    case 'array':
      return schema.items ? [sample(schema.items, name, fixtures, rng)] : [];
    case 'boolean':
      return rng.chance(0.5);
    case 'number':
    case 'integer':
      return 1;
    case 'object':
      return Object.fromEntries(
        Object.entries(schema.properties ?? {})
          .filter(([property]) => (schema.required ?? []).includes(property) || rng.chance(0.5))
          .map(([property, inner]) => [property, sample(inner, property, fixtures, rng)]),
      );
    default:
      return schema.format === 'uuid' ? rng.uuid() : 'text';
  }
}

/** A path template with real ids: each resource's own, so that mutations reach past the 404. */
function fillPath(path: string, fixtures: Fixtures, rng: Rng): string {
  const { ids } = fixtures;
  const resource = /^\/v1\/([^/]+)/.exec(path)?.[1];
  const id =
    resource === 'contact-points'
      ? ids.contactPoint
      : resource === 'liaison-organisations'
        ? ids.organisation
        : resource === 'meeting-requests'
          ? ids.meetingRequest
          : resource === 'threads'
            ? ids.thread
            : rng.uuid();
  return path
    .replace('{id}', id)
    .replace('{code}', rng.pick(['FR', 'DE', 'NO', 'XX', 'fr']))
    .replace('{messageId}', ids.message)
    .replace(
      '{streamId}',
      rng.pick([`thread-${ids.thread}`, `contact-point-${ids.contactPoint}`, 'state-FR']),
    );
}

/** Raw JSON text of `body` with `placeholder` (a JSON string) replaced by `raw` JSON text. */
const withRaw = (body: unknown, placeholder: string, raw: string) =>
  JSON.stringify(body).replace(JSON.stringify(placeholder), raw);

const concat = (...parts: (string | number[])[]) =>
  new Uint8Array(
    Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : Buffer.from(part)))),
  );

/** Bytes that are not UTF-8: invalid, overlong, an encoded surrogate, a truncated sequence. */
const BAD_BYTES = [
  [0xff],
  [0xc0, 0x80],
  [0xed, 0xa0, 0x80],
  [0xe2, 0x82],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xfe, 0xff],
];

/** Generates `count` bad requests (with some good ones among them, as mutations may leave a request valid). */
export function generateRequests(
  operations: Operation[],
  fixtures: Fixtures,
  rng: Rng,
  count: number,
): GeneratedRequest[] {
  const callers = Object.keys(fixtures.tokens);
  const requests: GeneratedRequest[] = [];
  const methodsOf = new Map<string, string[]>();
  for (const operation of operations) {
    methodsOf.set(operation.path, [...(methodsOf.get(operation.path) ?? []), operation.method]);
  }
  for (let n = 0; n < count; n++) {
    const operation = rng.pick(operations);
    const caller = rng.pick(callers);
    const token = fixtures.tokens[caller];
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    let method = operation.method;
    let path = fillPath(operation.path, fixtures, rng);
    let body: string | Uint8Array | undefined;
    const mutations: string[] = [];
    const valid = operation.body ? sample(operation.body, '', fixtures, rng) : undefined;
    if (valid !== undefined) body = JSON.stringify(valid);

    const kind = rng.pick([
      'field-type',
      'field-type',
      'field-missing',
      'field-extra',
      'field-size',
      'field-long',
      'body-encoding',
      'body-nesting',
      'body-raw',
      'content-type',
      'header',
      'header',
      'authorization',
      'path-id',
      'method',
      'query',
      'query',
    ]);
    const fields = valid && typeof valid === 'object' ? Object.keys(valid as object) : [];
    const schemaFields = Object.keys(operation.body?.properties ?? {});
    const field = rng.pick(schemaFields.length > 0 ? schemaFields : ['body']);
    const placeholder = `\u2063raw-${n}\u2063`;
    switch (kind) {
      case 'field-type': {
        const raw = rng.pick(BAD_VALUES);
        const target = (valid && typeof valid === 'object' ? { ...(valid as object) } : {}) as Record<
          string,
          unknown
        >;
        target[field] = placeholder;
        body = withRaw(target, placeholder, raw);
        mutations.push(`${field} = ${raw.slice(0, 40)}${raw.length > 40 ? `… (${raw.length} chars)` : ''}`);
        break;
      }
      case 'field-missing': {
        const target = { ...((valid as object) ?? {}) } as Record<string, unknown>;
        const drop = rng.pick(fields.length > 0 ? fields : ['none']);
        delete target[drop];
        body = JSON.stringify(target);
        mutations.push(`without ${drop}`);
        break;
      }
      case 'field-extra': {
        const key = rng.pick(EXTRA_KEYS);
        const raw = rng.pick(BAD_VALUES);
        const rest = typeof body === 'string' && body !== '{}' ? `,${body.slice(1)}` : '}';
        body = `{"${key}":${raw}${rest}`;
        mutations.push(`extra field ${key.slice(0, 20)} = ${raw.slice(0, 30)}`);
        break;
      }
      case 'field-size': {
        const raw = bigValue(rng);
        const target = (valid && typeof valid === 'object' ? { ...(valid as object) } : {}) as Record<
          string,
          unknown
        >;
        target[field] = placeholder;
        body = withRaw(target, placeholder, raw);
        mutations.push(`${field} of ${raw.length} chars`);
        break;
      }
      case 'field-long': {
        // Of the right type but long: what a DTO without a bound lets through to the services and the store.
        const property = operation.body?.properties?.[field];
        const long = () => rng.pick(['x', 'é', '🇳🇱', 'word ']).repeat(rng.pick([300, 3_000, 30_000]));
        const value =
          property?.type === 'array'
            ? Array.from({ length: rng.pick([1, 5, 30]) }, () =>
                property.items?.type === 'string' && /participants/.test(field)
                  ? `${rng.pick(['state:', 'organisation:'])}${long()}`
                  : long(),
              )
            : long();
        const target = { ...((valid as object) ?? {}), [field]: value };
        body = JSON.stringify(target);
        mutations.push(`${field} long (${JSON.stringify(value).length} chars)`);
        break;
      }
      case 'body-encoding': {
        const bytes = rng.pick(BAD_BYTES);
        const text = typeof body === 'string' ? body : '{"reason":"x"}';
        // Inside a string value when there is one, else anywhere.
        const quote = text.indexOf('"', text.indexOf(':') + 1);
        const at = quote >= 0 ? quote + 1 : rng.int(text.length + 1);
        body = concat(text.slice(0, at), bytes, text.slice(at));
        mutations.push(`bytes ${bytes.map((byte) => byte.toString(16)).join(' ')} at ${at}`);
        break;
      }
      case 'body-nesting': {
        const depth = rng.pick([33, 1_000, 10_000, 50_000]);
        body = rng.chance(0.5) ? deep(depth, '[', '', ']') : deep(depth, '{"a":', '1', '}');
        mutations.push(`body nested ${depth} deep`);
        break;
      }
      case 'body-raw': {
        const raw = rng.pick([
          '',
          ' ',
          '{',
          '}',
          '{"a":',
          '[]',
          '"text"',
          '42',
          'null',
          'true',
          '\u0000',
          '{"a":1}{"b":2}',
          "{'a':1}",
          '{"a":1,}',
          '\ufeff{}',
          'NaN',
        ]);
        const text = raw === '' && typeof body === 'string' ? body.slice(0, rng.int(body.length)) : raw;
        body = text;
        mutations.push(`raw body ${JSON.stringify(text.slice(0, 40))}`);
        break;
      }
      case 'content-type': {
        const type = rng.pick(BAD_HEADERS['content-type']!);
        body ??= '{}';
        if (type === '') delete headers['content-type'];
        else headers['content-type'] = type;
        mutations.push(`content-type ${JSON.stringify(type)}`);
        break;
      }
      case 'header': {
        const name = rng.pick(['idempotency-key', 'if-match', 'focal-read-after', 'last-event-id']);
        const value = rng.pick(BAD_HEADERS[name]!);
        headers[name] = value;
        mutations.push(`${name}: ${JSON.stringify(value.slice(0, 30))}`);
        break;
      }
      case 'authorization': {
        const value = rng.pick(fixtures.badAuthorizations);
        headers.authorization = value;
        mutations.push(`authorization ${JSON.stringify(value.slice(0, 40))}`);
        break;
      }
      case 'path-id': {
        const id = rng.pick(BAD_IDS);
        const segments = path.split('/');
        const templated = operation.path
          .split('/')
          .flatMap((segment, index) => (segment.startsWith('{') ? [index] : []));
        const at = templated.length > 0 ? rng.pick(templated) : segments.length;
        segments[at] = id;
        path = segments.join('/');
        mutations.push(`path id ${id.slice(0, 30)}`);
        break;
      }
      case 'method': {
        const taken = methodsOf.get(operation.path) ?? [];
        const others = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].filter((m) => !taken.includes(m));
        method = rng.pick(others.length > 0 ? others : ['OPTIONS']);
        mutations.push(`method ${method}`);
        break;
      }
      case 'query': {
        const parameters = Array.from({ length: 1 + rng.int(3) }, () => {
          const name = rng.pick(QUERY_PARAMETERS);
          const value = rng.chance(0.7) ? rng.pick(BAD_QUERY_VALUES) : rng.pick(GOOD_QUERY_VALUES);
          return `${rng.chance(0.05) ? `${name}%00` : name}=${value}`;
        });
        if (rng.chance(0.1)) parameters.push(parameters[0]!);
        path = `${path}?${parameters.join('&')}`;
        mutations.push(`query ${path.split('?')[1]!.slice(0, 60)}`);
        break;
      }
    }
    // Now and then a second fault on top of the first: the gateway must still answer one problem.
    if (rng.chance(0.15)) {
      const name = rng.pick(['idempotency-key', 'if-match', 'focal-read-after']);
      headers[name] = rng.pick(BAD_HEADERS[name]!);
      mutations.push(`and ${name}: ${JSON.stringify(headers[name]!.slice(0, 30))}`);
    }
    if (body !== undefined && kind !== 'content-type') headers['content-type'] = 'application/json';
    if (method === 'GET') {
      body = undefined;
      delete headers['content-type'];
    }
    requests.push({
      method,
      path,
      headers,
      ...(body !== undefined ? { body } : {}),
      caller,
      mutation: mutations.join('; '),
    });
  }
  return requests;
}

/** A request as a failure report shows it: enough to send it again by hand. */
export function describeRequest(request: GeneratedRequest): string {
  const body =
    request.body === undefined
      ? ''
      : typeof request.body === 'string'
        ? ` body ${JSON.stringify(request.body.slice(0, 200))}${request.body.length > 200 ? `… (${request.body.length} chars)` : ''}`
        : ` body bytes ${Buffer.from(request.body.slice(0, 120)).toString('hex')}${request.body.length > 120 ? '…' : ''}`;
  const headers = Object.entries(request.headers)
    .filter(([name]) => name !== 'authorization')
    .map(([name, value]) => `${name}: ${JSON.stringify(value.slice(0, 60))}`)
    .join(', ');
  return `${request.method} ${request.path.slice(0, 200)} as ${request.caller} [${request.mutation}] {${headers}}${body}`;
}
