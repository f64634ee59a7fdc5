import { randomUUID } from 'node:crypto';

import { SignJWT } from 'jose';

import { testSecrets } from './support/secrets.js';
import { problemFault, rawRequest, send, sendRaw, type Answer } from './support/problems.js';
import { startSystem, STORES, type TestSystem } from './support/system.js';

/**
 * SPEC §4: bad input is a problem the caller can act on (400; 415 for a media type not taken; 401 for a token
 * whose claims are malformed), never a 5xx, never a hang, and never reaches the store. One case per kind of
 * bad input, over real HTTP, on both stores.
 */
describe.each(STORES)('bad input at the HTTP edge (%s store)', (store) => {
  let system: TestSystem;
  let secretariat: string;
  let france: string;
  let germany: string;
  let contactPointId: string;
  let threadId: string;

  const deepArray = '['.repeat(10_000) + ']'.repeat(10_000);
  const deepObject = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);

  const call = (
    method: string,
    path: string,
    token: string | undefined,
    body?: string | Uint8Array,
    headers: Record<string, string> = {},
  ) =>
    send(system.url, method, path, {
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body } : {}),
    });
  // What was committed, not what readers see yet: another database's long transaction holds the visible head back.
  const head = async () => (await system.persistence.store.lastCommittedPosition()) ?? null;
  /** The answer is the problem asked for, and the log did not move while it was given. */
  const refused = async (work: () => Promise<Answer>, status: number, reason?: string) => {
    const before = await head();
    const answer = await work();
    expect({ status: answer.status, fault: problemFault(answer) }).toEqual({ status, fault: undefined });
    if (reason) expect(answer.body.reason).toBe(reason);
    expect(await head()).toBe(before);
    return answer.body;
  };
  const claims = (payload: Record<string, unknown>) =>
    new SignJWT(payload)
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(testSecrets.jwtSecret));

  beforeAll(async () => {
    system = await startSystem(store, 'bad_input');
    secretariat = await system.token({ role: 'secretariat', principal: 'secretariat-1' });
    for (const [code, name] of [
      ['FR', 'France'],
      ['DE', 'Germany'],
    ]) {
      await system.ok('PUT', `/v1/states/${code}`, secretariat, {
        name,
        status: 'member',
        effectiveFrom: '2002-06-13',
      });
    }
    france = await system.token({ role: 'member-state', state: 'FR', principal: 'fr-1' });
    germany = await system.token({ role: 'member-state', state: 'DE', principal: 'de-1' });
    const registered = await system.ok('POST', '/v1/contact-points', france, {
      state: 'FR',
      fullName: 'Claire Martin',
      email: 'claire.martin@justice.example',
      role: 'prosecutor',
      authority: 'Parquet national antiterroriste',
      languages: ['fr'],
    });
    contactPointId = registered.body.id;
    const opened = await system.ok('POST', '/v1/threads', france, {
      subject: 'Witness contact',
      visibility: 'closed',
      participants: ['state:DE'],
    });
    threadId = opened.body.id;
  });
  afterAll(() => system?.stop());

  it('JSON nested 10,000 deep, as arrays and as objects, is a 400 on every endpoint that takes a body', async () => {
    const document = (await call('GET', '/docs-json', undefined)).body as {
      paths: Record<string, Record<string, unknown>>;
    };
    const writes = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods)
        .filter((method) => ['post', 'put', 'patch', 'delete'].includes(method))
        .map((method) => [
          method.toUpperCase(),
          path.replace(/\{code\}/, 'FR').replace(/\{\w+\}/g, randomUUID()),
        ]),
    );
    expect(writes.length).toBeGreaterThanOrEqual(24);
    for (const [method, path] of writes) {
      for (const body of [deepArray, deepObject, `{"reason":${deepArray}}`]) {
        const problem = await refused(() => call(method!, path!, secretariat, body), 400, 'invalid-input');
        expect(Object.values(problem.errors).join()).toMatch(/nested too deeply/);
      }
    }
  });

  it('NUL is a 400 naming the field: in string values and keys of bodies, in paths and in query strings', async () => {
    const organisation = (fields: string) =>
      call(
        'POST',
        '/v1/liaison-organisations',
        secretariat,
        `{"name":"ICC","acronym":"ICC","kind":"other"${fields}}`,
      );
    expect((await refused(() => organisation(',"name":"I\\u0000CC"'), 400)).errors).toHaveProperty('name');
    expect((await refused(() => organisation(',"x\\u0000":1'), 400)).errors).toHaveProperty(['x\\u0000']);
    const message = `{"body":"ok","handlingCode":"H0","attachments":[{"name":"a\\u0000.pdf","sha256":"${'a'.repeat(64)}","size":1}]}`;
    expect(
      (await refused(() => call('POST', `/v1/threads/${threadId}/messages`, france, message), 400)).errors,
    ).toHaveProperty(['attachments.0.name']);
    expect((await refused(() => call('GET', '/v1/states/F%00', france), 400)).errors).toHaveProperty('code');
    expect(
      (
        await refused(
          () =>
            call(
              'PUT',
              '/v1/states/F%00',
              secretariat,
              '{"name":"x","status":"member","effectiveFrom":"2002-01-01"}',
            ),
          400,
        )
      ).errors,
    ).toHaveProperty('code');
    expect(
      (await refused(() => call('GET', '/v1/audit/streams/state-F%00', secretariat), 400)).errors,
    ).toHaveProperty('streamId');
    for (const [query, field] of [
      ['/v1/contact-points?q=a%00b', 'q'],
      ['/v1/meeting-requests?status=%00', 'status'],
      ['/v1/audit/events?stream=state-FR%00', 'stream'],
      ['/v1/audit/events?after=1%00', 'after'],
      ['/v1/updates?types=ThreadOpened%00', 'types'],
      ['/v1/directory?asOf=2024-01-01%00', 'asOf'],
    ]) {
      expect(
        (await refused(() => call('GET', query!, secretariat), 400, 'invalid-input')).errors,
      ).toHaveProperty([field!]);
    }
  });

  it('a query field an operation does not take is refused, also where the operation takes no query', async () => {
    for (const [path, field] of [
      ['/v1/liaison-organisations?limit=1', 'limit'],
      ['/v1/states?status=member', 'status'],
      ['/v1/states/FR?asOf=2024-01-01', 'asOf'],
      ['/v1/inbox?page=2', 'page'],
      ['/v1/webhooks?x=1', 'x'],
      ['/v1/contact-points?limit=1&colour=red', 'colour'],
    ]) {
      const problem = await refused(() => call('GET', path!, secretariat), 400, 'invalid-input');
      expect(problem.errors).toEqual({ [field!]: 'is not a field of this query: remove it (see /docs)' });
    }
    expect((await call('GET', '/v1/liaison-organisations', secretariat)).status).toBe(200);
    expect((await call('GET', '/health/live?probe=1', undefined)).status).toBe(200);
  });

  it('lone surrogates are a 400: in bodies (values and keys), in paths and in query strings', async () => {
    for (const body of [
      '{"name":"\\ud800","acronym":"X","kind":"other"}',
      '{"name":"a\\udc00b","acronym":"X","kind":"other"}',
      '{"\\ud83c":1,"name":"x","acronym":"X","kind":"other"}',
    ]) {
      const problem = await refused(() => call('POST', '/v1/liaison-organisations', secretariat, body), 400);
      expect(Object.values(problem.errors).join()).toMatch(/lone surrogate/);
    }
    await refused(() => call('GET', '/v1/states/%ED%A0%80', secretariat), 400, 'malformed-url');
    await refused(() => call('GET', `/v1/audit/streams/%ED%B0%80`, secretariat), 400, 'malformed-url');
    for (const query of ['q=%ED%A0%80', 'state=%ED%B0%80', 'q=%FF', 'q=%', 'q=%C0%80']) {
      const problem = await refused(
        () => call('GET', `/v1/contact-points?${query}`, france),
        400,
        'invalid-input',
      );
      expect(Object.keys(problem.errors)).toEqual([query.split('=')[0]]);
    }
    // A body that is not UTF-8 at all (an encoded surrogate, CESU-8; an overlong NUL)
    for (const bytes of [
      [0x7b, 0x22, 0x6e, 0x61, 0x6d, 0x65, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d],
      [0x22, 0xc0, 0x80, 0x22],
    ]) {
      await refused(
        () => call('POST', '/v1/liaison-organisations', secretariat, new Uint8Array(bytes)),
        400,
        'malformed-json',
      );
    }
  });

  it('a missing required field is a 400 saying it is required, in a query and in a body', async () => {
    const asOf = await refused(() => call('GET', '/v1/directory', secretariat), 400, 'invalid-input');
    expect(asOf.errors).toEqual({ asOf: 'is required: add it, see /docs' });
    const organisation = await refused(
      () =>
        call(
          'POST',
          '/v1/liaison-organisations',
          secretariat,
          '{"acronym":"ICC","kind":"international-court"}',
        ),
      400,
      'invalid-input',
    );
    expect(organisation.errors).toEqual({ name: 'is required: add it, see /docs' });
  });

  it('numbers out of range are a 400: offset=1e20, limit=-1, limit=1e400, huge numbers in bodies', async () => {
    for (const [query, field] of [
      ['offset=1e20', 'offset'],
      ['limit=-1', 'limit'],
      ['limit=1e400', 'limit'],
      ['offset=-1', 'offset'],
      ['limit=99999999999999999999999', 'limit'],
    ]) {
      expect(
        (await refused(() => call('GET', `/v1/contact-points?${query}`, france), 400)).errors,
      ).toHaveProperty([field!]);
    }
    await refused(() => call('GET', '/v1/audit/events?limit=1e400', secretariat), 400);
    await refused(() => call('GET', '/v1/audit/events?after=99999999999999999999999999', secretariat), 400);
    for (const size of ['123456789012345678901234567890', '1e400', '-1e400', '9007199254740993']) {
      const message = `{"body":"ok","handlingCode":"H0","attachments":[{"name":"a.pdf","sha256":"${'a'.repeat(64)}","size":${size}}]}`;
      const problem = await refused(
        () => call('POST', `/v1/threads/${threadId}/messages`, france, message),
        400,
      );
      expect(problem.errors['attachments.0.size']).toMatch(/out of range/);
    }
  });

  it('a token whose sub, role, state or organisation is of the wrong type or holds NUL or a lone surrogate is a 401', async () => {
    const organisation = randomUUID();
    for (const payload of [
      { role: 'secretariat' },
      { sub: 7, role: 'secretariat' },
      { sub: { id: 'x' }, role: 'secretariat' },
      { sub: ['x'], role: 'secretariat' },
      { sub: null, role: 'secretariat' },
      { sub: 'a\u0000b', role: 'secretariat' },
      { sub: 'a\ud800', role: 'secretariat' },
      { sub: 'x', role: ['secretariat'] },
      { sub: 'x', role: null },
      { sub: 'x', role: 'member-state', state: 33 },
      { sub: 'x', role: 'member-state', state: ['FR'] },
      { sub: 'x', role: 'member-state', state: 'F\u0000' },
      { sub: 'x', role: 'member-state', state: '\udc00R' },
      { sub: 'x', role: 'liaison-organisation', organisation: { id: organisation } },
      { sub: 'x', role: 'liaison-organisation', organisation: `${organisation}\u0000` },
      { sub: 'x', role: 'liaison-organisation', organisation: `\ud800${organisation}` },
    ]) {
      const token = await claims(payload);
      await refused(() => call('GET', '/v1/states', token), 401, 'unauthenticated');
      await refused(
        () =>
          call('POST', '/v1/liaison-organisations', token, '{"name":"ICC","acronym":"ICC","kind":"other"}'),
        401,
        'unauthenticated',
      );
    }
  });

  it("the framework's refusals are Focal problems: malformed JSON, no such route, wrong method, media type, size", async () => {
    await refused(
      () => call('POST', '/v1/liaison-organisations', secretariat, '{"name":'),
      400,
      'malformed-json',
    );
    await refused(() => call('GET', '/v1/nowhere', secretariat), 404, 'no-such-route');
    await refused(() => call('GET', '/nowhere', undefined), 404, 'no-such-route');
    // A file the documentation's route does not have: nothing there, not a method to change.
    const noFile = await call('GET', '/docs/json', undefined);
    expect({ status: noFile.status, allow: noFile.headers.get('allow') }).toEqual({
      status: 404,
      allow: null,
    });
    const wrongMethod = await call('DELETE', '/v1/states', secretariat);
    expect(problemFault(wrongMethod)).toBeUndefined();
    expect({
      status: wrongMethod.status,
      reason: wrongMethod.body.reason,
      allow: wrongMethod.headers.get('allow'),
    }).toEqual({
      status: 405,
      reason: 'method-not-allowed',
      allow: 'GET, HEAD',
    });
    const onId = await call('GET', `/v1/contact-points/${contactPointId}/retire`, secretariat);
    expect({ status: onId.status, allow: onId.headers.get('allow') }).toEqual({ status: 405, allow: 'POST' });
    for (const [contentType, body] of [
      ['text/plain', '{"name":"ICC","acronym":"ICC","kind":"other"}'],
      ['application/x-www-form-urlencoded', 'name=ICC&acronym=ICC&kind=other'],
      ['application/xml', '<organisation/>'],
      ['multipart/form-data; boundary=x', '--x--'],
    ]) {
      await refused(
        () => call('POST', '/v1/liaison-organisations', secretariat, body, { 'content-type': contentType! }),
        415,
        'unsupported-media-type',
      );
    }
    // JSON, but compressed or declared in another charset: a 415 that says so, not a JSON error.
    const organisation = '{"name":"ICC","acronym":"ICC","kind":"other"}';
    for (const headers of <Record<string, string>[]>[
      { 'content-encoding': 'gzip' },
      { 'content-encoding': 'br' },
      { 'content-type': 'application/json; charset=iso-8859-1' },
      { 'content-type': 'application/json; charset="UTF-16"' },
    ]) {
      const problem = await refused(
        () => call('POST', '/v1/liaison-organisations', secretariat, organisation, headers),
        415,
        'unsupported-media-type',
      );
      expect(problem.detail).toMatch(/Content-Encoding|UTF-8/);
    }
    const compressed = await call('POST', '/v1/liaison-organisations', secretariat, organisation, {
      'content-encoding': 'gzip',
    });
    expect(compressed.headers.get('accept-encoding')).toBe('identity');
    // Bytes with no content type at all
    await refused(
      () =>
        send(system.url, 'POST', '/v1/liaison-organisations', {
          headers: { authorization: `Bearer ${secretariat}` },
          body: new Uint8Array([1, 2, 3]),
        }),
      415,
      'unsupported-media-type',
    );
    await refused(
      () =>
        call('POST', '/v1/liaison-organisations', secretariat, JSON.stringify({ name: 'x'.repeat(300_000) })),
      413,
      'body-too-large',
    );
    for (const body of ['[]', '"ICC"', '42', 'true']) {
      const problem = await refused(
        () => call('POST', '/v1/liaison-organisations', secretariat, body),
        400,
        'invalid-input',
      );
      expect(problem.errors).toEqual({ body: 'must be a JSON object' });
    }
    // Last, since they write: UTF-8 said in words, and the identity coding, are taken.
    for (const headers of <Record<string, string>[]>[
      { 'content-encoding': 'identity' },
      { 'content-type': 'application/json; charset=utf-8' },
      { 'content-type': 'application/json; charset="UTF-8"' },
    ]) {
      const taken = await call('POST', '/v1/liaison-organisations', secretariat, organisation, headers);
      expect(taken.status).toBe(201);
    }
  });

  it('headers fetch will not send, and requests Node cannot read as HTTP, are answered with problems', async () => {
    const raw = (headers: Record<string, string>, method = 'GET', path = '/v1/states', body?: string) =>
      sendRaw(
        system.url,
        rawRequest(system.url, method, path, { authorization: `Bearer ${secretariat}`, ...headers }, body),
      );
    for (const [headers, status, reason] of [
      [{ 'idempotency-key': 'a\u0001b' }, 400, 'malformed-request'],
      [{ 'if-match': '\u007f' }, 400, 'malformed-request'],
      [{ 'x-padding': 'x'.repeat(20_000) }, 431, 'headers-too-large'],
    ] as const) {
      const before = await head();
      const answer = await raw(headers);
      expect({ status: answer.status, fault: problemFault(answer), reason: answer.body?.reason }).toEqual({
        status,
        fault: undefined,
        reason,
      });
      expect(await head()).toBe(before);
    }
    // An empty Idempotency-Key reaches the gateway, which names it.
    const empty = await raw(
      { 'idempotency-key': '', 'content-type': 'application/json' },
      'POST',
      '/v1/liaison-organisations',
      '{"name":"ICC","acronym":"ICC","kind":"other"}',
    );
    expect({ status: empty.status, reason: empty.body.reason }).toEqual({
      status: 400,
      reason: 'invalid-idempotency-key',
    });
    expect((await call('GET', '/health/ready', undefined)).status).toBe(200);
  });

  it('an empty body sent as JSON to an action that takes none is accepted', async () => {
    const requested = await system.ok('POST', '/v1/meeting-requests', france, {
      subjectKind: 'topic',
      title: 'Digital evidence',
      summary: 'Sharing practice on open-source evidence',
      confidentiality: 'open',
      proposedDates: ['2031-03-02'],
    });
    const meeting = requested.body.id as string;
    expect((await call('POST', `/v1/meeting-requests/${meeting}/co-sponsor`, germany, '')).status).toBe(200);
    expect((await call('POST', `/v1/meeting-requests/${meeting}/withdraw`, france, '')).status).toBe(200);
    await system.ok('POST', `/v1/contact-points/${contactPointId}/retire`, france, {
      reason: 'moved to another post',
    });
    expect((await call('POST', `/v1/contact-points/${contactPointId}/reinstate`, france, '')).status).toBe(
      200,
    );
    expect(
      (await call('POST', `/v1/contact-points/${contactPointId}/designate-primary`, france, '')).status,
    ).toBe(200);
    const posted = await system.ok('POST', `/v1/threads/${threadId}/messages`, france, {
      body: 'hello',
      handlingCode: 'H0',
    });
    const read = await call(
      'POST',
      `/v1/threads/${threadId}/messages/${posted.body.messageId}/read`,
      germany,
      '',
    );
    expect(read.status).toBe(200);
  });

  it('a thread read ignores Idempotency-Key and If-Match: it records its receipts and leaves the key to writes', async () => {
    const opened = await system.ok('POST', '/v1/threads', france, {
      subject: 'Extradition request',
      visibility: 'closed',
      participants: ['state:DE'],
    });
    const thread = opened.body.id as string;
    const first = await system.ok('POST', `/v1/threads/${thread}/messages`, france, {
      body: 'one',
      handlingCode: 'H0',
    });
    await system.ok('POST', `/v1/threads/${thread}/messages`, france, { body: 'two', handlingCode: 'H1' });
    const key = `read-${randomUUID()}`;
    for (const ifMatch of ['"999"', 'garbage', '"1"']) {
      const read = await call('GET', `/v1/threads/${thread}`, germany, undefined, {
        'idempotency-key': key,
        'if-match': ifMatch,
        'focal-read-after': String(first.headers.get('focal-position')),
      });
      expect(read.status).toBe(200);
      expect(read.body.messages.map((message: { deliveredTo: string[] }) => message.deliveredTo)).toEqual([
        ['state:DE'],
        ['state:DE'],
      ]);
    }
    // The key was not spent by the reads: a write with it is the write's own.
    const reply = await call(
      'POST',
      `/v1/threads/${thread}/messages`,
      germany,
      JSON.stringify({ body: 'three', handlingCode: 'H0' }),
      {
        'idempotency-key': key,
      },
    );
    expect(reply.status).toBe(201);
  });
});
