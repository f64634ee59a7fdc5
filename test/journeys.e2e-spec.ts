import { randomUUID } from 'node:crypto';

import { startSystem, STORES, type TestSystem } from './support/system.js';

/** The journeys of the gateway issue, over real HTTP, against the services on NATS and PostgreSQL. */
describe.each(STORES)('journeys through the HTTP API (%s store)', (store) => {
  let system: TestSystem;
  let secretariat: string;
  let france: string;
  let germany: string;
  let netherlands: string;
  let norway: string;
  let icc: string;
  let iccId: string;

  /** A read that sees everything written so far (read-your-writes through Focal-Read-After). */
  const read = (path: string, token: string, after?: string | null) =>
    system.call('GET', path, { token, ...(after ? { headers: { 'focal-read-after': after } } : {}) });

  beforeAll(async () => {
    system = await startSystem(store, 'journeys');
    secretariat = await system.token({ role: 'secretariat', principal: 'secretariat-1' });
    for (const [code, name, status] of [
      ['FR', 'France', 'member'],
      ['DE', 'Germany', 'member'],
      ['NL', 'Netherlands', 'member'],
      ['NO', 'Norway', 'observer'],
    ] as const) {
      await system.ok('PUT', `/v1/states/${code}`, secretariat, {
        name,
        status,
        effectiveFrom: '2002-06-13',
      });
    }
    const registered = await system.ok('POST', '/v1/liaison-organisations', secretariat, {
      name: 'International Criminal Court',
      acronym: 'ICC',
      kind: 'international-court',
    });
    iccId = registered.body.id;
    france = await system.token({ role: 'member-state', state: 'FR' });
    germany = await system.token({ role: 'member-state', state: 'DE' });
    netherlands = await system.token({ role: 'member-state', state: 'NL' });
    norway = await system.token({ role: 'observer-state', state: 'NO' });
    icc = await system.token({ role: 'liaison-organisation', organisation: iccId });
  });
  afterAll(() => system?.stop());

  it('1: a member state requests an ad hoc meeting, another co-sponsors, an observer is refused, the secretariat accepts', async () => {
    const requested = await system.ok('POST', '/v1/meeting-requests', france, {
      subjectKind: 'case',
      title: 'Witness hearings in a joint investigation',
      summary: 'Coordinate hearings of witnesses living in several member states',
      confidentiality: 'closed',
      proposedDates: ['2031-03-02', '2031-03-09'],
      invitedStates: ['DE', 'NO'],
    });
    expect(requested.status).toBe(201);
    expect(requested.body).toMatchObject({ id: expect.any(String), version: 1 });
    expect(requested.headers.get('etag')).toBe('"1"');
    const id = requested.body.id as string;

    const coSponsored = await system.ok('POST', `/v1/meeting-requests/${id}/co-sponsor`, germany);
    expect(coSponsored.body.version).toBe(2);

    const observer = await system.call('POST', `/v1/meeting-requests/${id}/co-sponsor`, { token: norway });
    expect(observer.status).toBe(403);
    expect(observer.body).toMatchObject({
      type: 'urn:focal:problem:meeting-request/member-states-only',
      detail: expect.stringMatching(/only member states may co-sponsor/),
    });

    const accepted = await system.ok('POST', `/v1/meeting-requests/${id}/accept`, secretariat, {
      scheduledFor: '2031-03-02T10:00:00Z',
      venue: 'Eurojust, The Hague',
    });
    const after = accepted.headers.get('focal-position');

    for (const token of [france, germany, secretariat]) {
      const seen = await read(`/v1/meeting-requests/${id}`, token, after);
      expect(seen.status).toBe(200);
      expect(seen.body).toMatchObject({
        status: 'accepted',
        requestedBy: 'FR',
        coSponsors: ['DE'],
        scheduledFor: '2031-03-02T10:00:00Z',
        venue: 'Eurojust, The Hague',
      });
      expect(seen.headers.get('etag')).toBe('"3"');
    }
    // A closed request does not exist for those outside it, on reads and on writes alike.
    for (const token of [netherlands, icc]) {
      expect((await read(`/v1/meeting-requests/${id}`, token, after)).status).toBe(404);
      const list = await read('/v1/meeting-requests', token, after);
      expect(list.body.items.map((item: { id: string }) => item.id)).not.toContain(id);
      for (const action of ['co-sponsor', 'withdraw']) {
        expect(await system.call('POST', `/v1/meeting-requests/${id}/${action}`, { token })).toMatchObject({
          status: 404,
          body: { type: 'urn:focal:problem:meeting-request/not-found' },
        });
      }
    }
    expect((await read(`/v1/meeting-requests/${id}`, norway, after)).status).toBe(200);
    const germanList = await read('/v1/meeting-requests?status=accepted', germany, after);
    expect(germanList.body.items.map((item: { id: string }) => item.id)).toContain(id);
  });

  it('2: the secretariat builds the directory; states edit only their own; search finds; organisations see no closed fields', async () => {
    const register = (state: string, fullName: string, languages: string[], role = 'prosecutor') =>
      system.ok('POST', '/v1/contact-points', secretariat, {
        state,
        fullName,
        email: `${fullName.split(' ')[0]!.toLowerCase()}@justice.example`,
        phone: '+33140000000',
        role,
        authority: `${state} war crimes unit`,
        languages,
        expertise: ['core international crimes'],
        primary: true,
      });
    const claire = (await register('FR', 'Claire Martin', ['fr', 'en'])).body.id as string;
    const jonas = (await register('DE', 'Jonas Weber', ['de', 'en'])).body.id as string;
    const last = await register('DE', 'Lena Fischer', ['de'], 'investigator');

    const edited = await system.ok('PATCH', `/v1/contact-points/${claire}`, france, {
      languages: ['fr', 'en', 'es'],
    });
    expect(edited.status).toBe(200);
    const foreign = await system.call('PATCH', `/v1/contact-points/${jonas}`, {
      token: france,
      body: { authority: 'x' },
    });
    expect(foreign.status).toBe(403);
    expect(foreign.body.type).toBe('urn:focal:problem:contact-point/other-state');

    const after = edited.headers.get('focal-position') ?? last.headers.get('focal-position');
    const spanish = await read('/v1/contact-points?language=es', germany, after);
    expect(spanish.body.items.map((item: { id: string }) => item.id)).toEqual([claire]);
    const german = await read('/v1/contact-points?state=DE&language=en', germany, after);
    expect(german.body).toMatchObject({
      total: 1,
      items: [{ id: jonas, fullName: 'Jonas Weber', primary: false }],
    });
    const byText = await read('/v1/contact-points?q=lena', france, after);
    expect(byText.body.items).toHaveLength(1);

    const asMember = await read(`/v1/contact-points/${claire}`, germany, after);
    expect(asMember.body).toMatchObject({
      fullName: 'Claire Martin',
      email: 'claire@justice.example',
      phone: '+33140000000',
    });
    const asOrganisation = await read(`/v1/contact-points/${claire}`, icc, after);
    expect(asOrganisation.body).toMatchObject({ fullName: 'Claire Martin', authority: 'FR war crimes unit' });
    expect(asOrganisation.body).not.toHaveProperty('email');
    expect(asOrganisation.body).not.toHaveProperty('phone');
    const listed = await read('/v1/contact-points', icc, after);
    for (const item of listed.body.items) {
      expect(item).not.toHaveProperty('email');
      expect(item).not.toHaveProperty('phone');
      expect(item).not.toHaveProperty('notes');
    }
  });

  it('3: an urgent H2 thread to the secretariat: read (receipts recorded) and answered; outsiders get 404', async () => {
    const opened = await system.ok('POST', '/v1/threads', france, {
      subject: 'Practical question: hearing a witness by video link',
      visibility: 'restricted',
      participants: ['secretariat'],
      replyBy: '2031-01-01T12:00:00Z',
    });
    const threadId = opened.body.id as string;
    const posted = await system.ok('POST', `/v1/threads/${threadId}/messages`, france, {
      body: 'Which authorities accept hearings by video link?',
      handlingCode: 'H2',
      attachments: [{ name: 'request.pdf', sha256: 'b'.repeat(64), size: 2048 }],
    });
    const messageId = posted.body.messageId as string;

    const inbox = await read('/v1/inbox', secretariat, posted.headers.get('focal-position'));
    expect(inbox.body.items[0]).toMatchObject({ id: threadId, urgent: true, unread: 1, overdue: false });

    const thread = await read(`/v1/threads/${threadId}`, secretariat);
    expect(thread.status).toBe(200);
    expect(thread.body.messages).toEqual([
      expect.objectContaining({
        id: messageId,
        author: 'state:FR',
        handlingCode: 'H2',
        deliveredTo: ['secretariat'],
      }),
    ]);
    const readReceipt = await system.ok(
      'POST',
      `/v1/threads/${threadId}/messages/${messageId}/read`,
      secretariat,
    );
    await system.ok('POST', `/v1/threads/${threadId}/messages`, secretariat, {
      body: 'Those listed in the network guide; details follow.',
      handlingCode: 'H0',
    });
    const seenByFrance = await read(
      `/v1/threads/${threadId}`,
      france,
      readReceipt.headers.get('focal-position'),
    );
    expect(seenByFrance.body).toMatchObject({ answered: true });
    expect(seenByFrance.body.messages[0]).toMatchObject({ readBy: ['secretariat'] });

    expect((await read(`/v1/threads/${threadId}`, germany)).status).toBe(404);
    const intruder = await system.call('POST', `/v1/threads/${threadId}/messages`, {
      token: germany,
      body: { body: 'hello', handlingCode: 'H0' },
    });
    expect(intruder.status).toBe(404);
  });

  describe('errors as problem details', () => {
    it('401 for a missing, forged or expired token; 403 for a principal the directory refuses', async () => {
      expect((await system.call('GET', '/v1/states')).status).toBe(401);
      expect((await system.call('GET', '/v1/states', { token: `${france}x` })).status).toBe(401);
      const unknownState = await system.token({ role: 'member-state', state: 'PT' });
      const refused = await system.call('GET', '/v1/states', { token: unknownState });
      expect(refused).toMatchObject({
        status: 403,
        body: { type: 'urn:focal:problem:principal/unknown-state' },
      });
      const wrongRole = await system.token({ role: 'member-state', state: 'NO' });
      expect((await system.call('GET', '/v1/states', { token: wrongRole })).body.type).toBe(
        'urn:focal:problem:principal/role-mismatch',
      );
      await system.ok('PUT', '/v1/states/GB', secretariat, {
        name: 'United Kingdom',
        status: 'observer',
        effectiveFrom: '2002-06-13',
      });
      await system.ok('PUT', '/v1/states/GB', secretariat, { status: 'former', effectiveFrom: '2020-01-31' });
      await system.gateway.readModels.catchUp();
      const former = await system.token({ role: 'observer-state', state: 'GB' });
      expect((await system.call('GET', '/v1/states', { token: former })).body).toMatchObject({
        status: 403,
        type: 'urn:focal:problem:principal/former-state',
      });
      const organisation = await system.ok('POST', '/v1/liaison-organisations', secretariat, {
        name: 'UN Investigative Team for Accountability of ISIL',
        acronym: 'UNITAD',
        kind: 'un-mechanism',
      });
      const unitad = await system.token({ role: 'liaison-organisation', organisation: organisation.body.id });
      expect((await system.call('GET', '/v1/states', { token: unitad })).status).toBe(200);
      await system.ok('POST', `/v1/liaison-organisations/${organisation.body.id}/suspend`, secretariat, {
        reason: 'mandate ended 2024-09-17',
      });
      // The suspension is in the read model once caught up; the next request of its principals is refused.
      await system.gateway.readModels.catchUp();
      expect((await system.call('GET', '/v1/states', { token: unitad })).body).toMatchObject({
        status: 403,
        type: 'urn:focal:problem:principal/organisation-suspended',
      });
    });

    it('400 for malformed JSON, unknown fields, wrong types, bad ids and bad queries, naming each', async () => {
      const malformed = await system.call('POST', '/v1/liaison-organisations', {
        token: secretariat,
        body: '{"name":',
      });
      expect(malformed.status).toBe(400);
      expect(malformed.headers.get('content-type')).toMatch(/problem\+json/);
      const unknown = await system.call('POST', '/v1/liaison-organisations', {
        token: secretariat,
        body: { name: 'X', acronym: 'X', kind: 'other', founded: 1998 },
      });
      expect(unknown).toMatchObject({ status: 400, body: { errors: { founded: expect.any(String) } } });
      const types = await system.call('POST', '/v1/contact-points', {
        token: secretariat,
        body: { state: 'FR', fullName: 3, email: 'a@b.fr', role: 'chief', authority: 'x', languages: 'fr' },
      });
      expect(types.status).toBe(400);
      expect(Object.keys(types.body.errors)).toEqual(
        expect.arrayContaining(['fullName', 'role', 'languages']),
      );
      const domain = await system.call('POST', '/v1/contact-points', {
        token: secretariat,
        body: {
          state: 'XX',
          fullName: 'A B',
          email: 'not-an-email',
          role: 'judge',
          authority: 'x',
          languages: ['fr'],
        },
      });
      expect(domain).toMatchObject({
        status: 400,
        body: { errors: { state: expect.any(String), email: expect.any(String) } },
      });
      expect(
        (await system.call('GET', '/v1/contact-points/not-a-uuid', { token: secretariat })).body,
      ).toMatchObject({
        status: 400,
        errors: { id: 'must be a UUID' },
      });
      const query = await system.call('GET', '/v1/contact-points?limit=5000&language=French', {
        token: secretariat,
      });
      expect(query.status).toBe(400);
      expect(Object.keys(query.body.errors)).toEqual(expect.arrayContaining(['limit', 'language']));
      const oversized = await system.call('POST', '/v1/liaison-organisations', {
        token: secretariat,
        body: { name: 'x'.repeat(300_000), acronym: 'X', kind: 'other' },
      });
      expect(oversized.status).toBe(413);
    });

    it('404, 409, 412 and 422', async () => {
      expect(
        (await system.call('GET', `/v1/contact-points/${randomUUID()}`, { token: secretariat })).status,
      ).toBe(404);
      expect((await system.call('GET', '/v1/nowhere', { token: secretariat })).status).toBe(404);

      const created = await system.ok('POST', '/v1/liaison-organisations', secretariat, {
        name: 'Human Rights Watch',
        acronym: 'HRW',
        kind: 'civil-society',
      });
      const id = created.body.id as string;
      const stale = await system.call('PATCH', `/v1/liaison-organisations/${id}`, {
        token: secretariat,
        body: { acronym: 'H.R.W.' },
        headers: { 'if-match': '"7"' },
      });
      expect(stale).toMatchObject({ status: 412, body: { type: 'urn:focal:problem:version-mismatch' } });
      const fresh = await system.call('PATCH', `/v1/liaison-organisations/${id}`, {
        token: secretariat,
        body: { acronym: 'H.R.W.' },
        headers: { 'if-match': created.headers.get('etag')! },
      });
      expect(fresh).toMatchObject({ status: 200, body: { version: 2 } });

      await system.ok('POST', `/v1/liaison-organisations/${id}/suspend`, secretariat, { reason: 'review' });
      const twice = await system.call('POST', `/v1/liaison-organisations/${id}/suspend`, {
        token: secretariat,
        body: { reason: 'review' },
      });
      expect(twice.status).toBe(422);

      const requested = await system.ok('POST', '/v1/meeting-requests', france, {
        subjectKind: 'topic',
        title: 'Open-source evidence',
        summary: 'Exchange of practice',
        confidentiality: 'open',
        proposedDates: ['2031-04-01'],
      });
      await system.ok('POST', `/v1/meeting-requests/${requested.body.id}/co-sponsor`, germany);
      const again = await system.call('POST', `/v1/meeting-requests/${requested.body.id}/co-sponsor`, {
        token: germany,
      });
      expect(again).toMatchObject({
        status: 409,
        body: { type: 'urn:focal:problem:meeting-request/already-sponsor' },
      });
    });

    it('PUT /v1/states retried with the same key and body answers as the first time, admission or change', async () => {
      const put = (key: string, body: object) =>
        system.call('PUT', '/v1/states/BE', {
          token: secretariat,
          body,
          headers: { 'idempotency-key': key },
        });
      const admission = { name: 'Belgium', status: 'member', effectiveFrom: '2002-06-13' };
      const admissionKey = randomUUID();
      const admitted = await put(admissionKey, admission);
      expect(admitted).toMatchObject({ status: 201, body: { version: 1 } });
      // The retry of a request whose answer was lost: the state exists by now, and it is still an admission.
      const retried = await put(admissionKey, admission);
      expect(retried.status).toBe(201);
      expect(retried.body).toEqual(admitted.body);

      const change = { status: 'observer', effectiveFrom: '2040-01-01' };
      const changeKey = randomUUID();
      const changed = await put(changeKey, change);
      expect(changed).toMatchObject({ status: 200, body: { version: 2 } });
      const changedAgain = await put(changeKey, change);
      expect(changedAgain.status).toBe(200);
      expect(changedAgain.body).toEqual(changed.body);
    });

    it('an idempotent retry returns the first response and has one effect; a reused key with another body is 409', async () => {
      const key = randomUUID();
      const body = { name: 'TRIAL International', acronym: 'TRIAL', kind: 'civil-society' };
      const first = await system.call('POST', '/v1/liaison-organisations', {
        token: secretariat,
        body,
        headers: { 'idempotency-key': key },
      });
      const second = await system.call('POST', '/v1/liaison-organisations', {
        token: secretariat,
        body,
        headers: { 'idempotency-key': key },
      });
      expect(first.status).toBe(201);
      expect(second.status).toBe(201);
      expect(second.body).toEqual(first.body);
      const listed = await read(
        '/v1/liaison-organisations',
        secretariat,
        second.headers.get('focal-position'),
      );
      expect(listed.body.items.filter((item: { acronym: string }) => item.acronym === 'TRIAL')).toHaveLength(
        1,
      );
      const reused = await system.call('POST', '/v1/liaison-organisations', {
        token: secretariat,
        body: { ...body, acronym: 'TRIAL2' },
        headers: { 'idempotency-key': key },
      });
      expect(reused).toMatchObject({
        status: 409,
        body: { type: 'urn:focal:problem:idempotency-key-reused' },
      });
    });
  });
});
