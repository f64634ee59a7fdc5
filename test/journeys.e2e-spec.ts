import { randomUUID } from 'node:crypto';

import { expectOk, ifMatch, positionOf, type FocalClient } from '@focal/client';

import { startSystem, STORES, type TestSystem } from './support/system.js';
import { until } from './support/until.js';

/**
 * The journeys of the gateway issue, over real HTTP, against the services on NATS and PostgreSQL, through the
 * typed client (@focal/client) a caller of the API would use; its every answer is held to the OpenAPI document.
 * Requests no typed client can send (malformed JSON, fields of the wrong type) go through `system.call`.
 */
describe.each(STORES)('journeys through the HTTP API (%s store)', (store) => {
  let system: TestSystem;
  let secretariat: string;
  let france: string;
  let germany: string;
  let netherlands: string;
  let norway: string;
  let icc: string;
  let iccId: string;
  /** The client as each of them. */
  let as: Record<'secretariat' | 'france' | 'germany' | 'netherlands' | 'norway' | 'icc', FocalClient>;

  /** Read-your-writes: the read waits until the read models hold the write at `after`. */
  const readAfter = (after: string | null | undefined) =>
    after ? { header: { 'Focal-Read-After': after } } : {};

  beforeAll(async () => {
    system = await startSystem(store, 'journeys');
    secretariat = await system.token({ role: 'secretariat', principal: 'secretariat-1' });
    const api = system.client(secretariat);
    for (const [code, name, status] of [
      ['FR', 'France', 'member'],
      ['DE', 'Germany', 'member'],
      ['NL', 'Netherlands', 'member'],
      ['NO', 'Norway', 'observer'],
    ] as const) {
      expectOk(
        await api.PUT('/v1/states/{code}', {
          params: { path: { code } },
          body: { name, status, effectiveFrom: '2002-06-13' },
        }),
      );
    }
    const registered = expectOk(
      await api.POST('/v1/liaison-organisations', {
        body: { name: 'International Criminal Court', acronym: 'ICC', kind: 'international-court' },
      }),
    );
    iccId = registered.id;
    france = await system.token({ role: 'member-state', state: 'FR' });
    germany = await system.token({ role: 'member-state', state: 'DE' });
    netherlands = await system.token({ role: 'member-state', state: 'NL' });
    norway = await system.token({ role: 'observer-state', state: 'NO' });
    icc = await system.token({ role: 'liaison-organisation', organisation: iccId });
    as = {
      secretariat: api,
      france: system.client(france),
      germany: system.client(germany),
      netherlands: system.client(netherlands),
      norway: system.client(norway),
      icc: system.client(icc),
    };
  });
  afterAll(() => system?.stop());

  it('1: a member state requests an ad hoc meeting, another co-sponsors, an observer is refused, the secretariat accepts', async () => {
    const requested = await as.france.POST('/v1/meeting-requests', {
      body: {
        subjectKind: 'case',
        title: 'Witness hearings in a joint investigation',
        summary: 'Coordinate hearings of witnesses living in several member states',
        confidentiality: 'closed',
        proposedDates: ['2031-03-02', '2031-03-09'],
        invitedStates: ['DE', 'NO'],
      },
    });
    expect(requested.response.status).toBe(201);
    expect(requested.data).toMatchObject({ id: expect.any(String), version: 1 });
    expect(requested.response.headers.get('etag')).toBe('"1"');
    const id = expectOk(requested).id;
    const meeting = { params: { path: { id } } };

    const coSponsored = expectOk(await as.germany.POST('/v1/meeting-requests/{id}/co-sponsor', meeting));
    expect(coSponsored.version).toBe(2);

    const observer = await as.norway.POST('/v1/meeting-requests/{id}/co-sponsor', meeting);
    expect(observer.response.status).toBe(403);
    expect(observer.error).toMatchObject({
      type: 'urn:focal:problem:meeting-request/member-states-only',
      detail: expect.stringMatching(/only member states may co-sponsor/),
    });

    const accepted = await as.secretariat.POST('/v1/meeting-requests/{id}/accept', {
      ...meeting,
      body: { scheduledFor: '2031-03-02T10:00:00Z', venue: 'Eurojust, The Hague' },
    });
    expectOk(accepted);
    const after = positionOf(accepted.response);

    for (const api of [as.france, as.germany, as.secretariat]) {
      const seen = await api.GET('/v1/meeting-requests/{id}', {
        params: { path: { id }, ...readAfter(after) },
      });
      expect(seen.response.status).toBe(200);
      expect(seen.data).toMatchObject({
        status: 'accepted',
        requestedBy: 'FR',
        coSponsors: ['DE'],
        scheduledFor: '2031-03-02T10:00:00Z',
        venue: 'Eurojust, The Hague',
      });
      expect(seen.response.headers.get('etag')).toBe('"3"');
    }
    // A closed request does not exist for those outside it, on reads and on writes alike.
    for (const api of [as.netherlands, as.icc]) {
      const read = await api.GET('/v1/meeting-requests/{id}', {
        params: { path: { id }, ...readAfter(after) },
      });
      expect(read.response.status).toBe(404);
      const list = expectOk(await api.GET('/v1/meeting-requests', { params: readAfter(after) }));
      expect(list.items.map((item) => item.id)).not.toContain(id);
      for (const action of [
        '/v1/meeting-requests/{id}/co-sponsor',
        '/v1/meeting-requests/{id}/withdraw',
      ] as const) {
        const refused = await api.POST(action, meeting);
        expect({ status: refused.response.status, body: refused.error }).toMatchObject({
          status: 404,
          body: { type: 'urn:focal:problem:meeting-request/not-found' },
        });
      }
    }
    const byObserver = await as.norway.GET('/v1/meeting-requests/{id}', {
      params: { path: { id }, ...readAfter(after) },
    });
    expect(byObserver.response.status).toBe(200);
    const germanList = expectOk(
      await as.germany.GET('/v1/meeting-requests', {
        params: { query: { status: 'accepted' }, ...readAfter(after) },
      }),
    );
    expect(germanList.items.map((item) => item.id)).toContain(id);
  });

  it('2: the secretariat builds the directory; states edit only their own; search finds; organisations see no closed fields', async () => {
    const register = (
      state: string,
      fullName: string,
      languages: string[],
      role: 'prosecutor' | 'investigator' = 'prosecutor',
    ) =>
      as.secretariat.POST('/v1/contact-points', {
        body: {
          state,
          fullName,
          email: `${fullName.split(' ')[0]!.toLowerCase()}@justice.example`,
          phone: '+33140000000',
          role,
          authority: `${state} war crimes unit`,
          languages,
          expertise: ['core international crimes'],
          primary: true,
        },
      });
    const claire = expectOk(await register('FR', 'Claire Martin', ['fr', 'en'])).id;
    const jonas = expectOk(await register('DE', 'Jonas Weber', ['de', 'en'])).id;
    const last = await register('DE', 'Lena Fischer', ['de'], 'investigator');
    expectOk(last);

    const edited = await as.france.PATCH('/v1/contact-points/{id}', {
      params: { path: { id: claire } },
      body: { languages: ['fr', 'en', 'es'] },
    });
    expectOk(edited);
    expect(edited.response.status).toBe(200);
    const foreign = await as.france.PATCH('/v1/contact-points/{id}', {
      params: { path: { id: jonas } },
      body: { authority: 'x' },
    });
    expect(foreign.response.status).toBe(403);
    expect(foreign.error?.type).toBe('urn:focal:problem:contact-point/other-state');

    const after = positionOf(edited.response) ?? positionOf(last.response);
    const search = (api: FocalClient, query: { state?: string; language?: string; q?: string } = {}) =>
      api.GET('/v1/contact-points', { params: { query, ...readAfter(after) } }).then(expectOk);
    const spanish = await search(as.germany, { language: 'es' });
    expect(spanish.items.map((item) => item.id)).toEqual([claire]);
    const german = await search(as.germany, { state: 'DE', language: 'en' });
    expect(german).toMatchObject({
      total: 1,
      items: [{ id: jonas, fullName: 'Jonas Weber', primary: false }],
    });
    const byText = await search(as.france, { q: 'lena' });
    expect(byText.items).toHaveLength(1);

    const readClaire = (api: FocalClient) =>
      api
        .GET('/v1/contact-points/{id}', { params: { path: { id: claire }, ...readAfter(after) } })
        .then(expectOk);
    const asMember = await readClaire(as.germany);
    expect(asMember).toMatchObject({
      fullName: 'Claire Martin',
      email: 'claire@justice.example',
      phone: '+33140000000',
    });
    const asOrganisation = await readClaire(as.icc);
    expect(asOrganisation).toMatchObject({ fullName: 'Claire Martin', authority: 'FR war crimes unit' });
    expect(asOrganisation).not.toHaveProperty('email');
    expect(asOrganisation).not.toHaveProperty('phone');
    const listed = await search(as.icc);
    for (const item of listed.items) {
      expect(item).not.toHaveProperty('email');
      expect(item).not.toHaveProperty('phone');
      expect(item).not.toHaveProperty('notes');
    }
  });

  it('3: an urgent H2 thread to the secretariat: read (receipts recorded) and answered; outsiders get 404', async () => {
    const opened = expectOk(
      await as.france.POST('/v1/threads', {
        body: {
          subject: 'Practical question: hearing a witness by video link',
          visibility: 'restricted',
          participants: ['secretariat'],
          replyBy: '2031-01-01T12:00:00Z',
        },
      }),
    );
    const threadId = opened.id;
    const thread = { params: { path: { id: threadId } } };
    const posted = await as.france.POST('/v1/threads/{id}/messages', {
      ...thread,
      body: {
        body: 'Which authorities accept hearings by video link?',
        handlingCode: 'H2',
        attachments: [{ name: 'request.pdf', sha256: 'b'.repeat(64), size: 2048 }],
      },
    });
    const messageId = expectOk(posted).messageId;

    const inbox = expectOk(
      await as.secretariat.GET('/v1/inbox', { params: readAfter(positionOf(posted.response)) }),
    );
    expect(inbox.items[0]).toMatchObject({ id: threadId, urgent: true, unread: 1, overdue: false });

    const read = await as.secretariat.GET('/v1/threads/{id}', thread);
    expect(read.response.status).toBe(200);
    // The version after the receipt this read recorded, in the body as in the ETag: If-Match takes either.
    expect(read.response.headers.get('etag')).toBe(`"${read.data?.version}"`);
    expect(read.data?.messages).toEqual([
      expect.objectContaining({
        id: messageId,
        author: 'state:FR',
        handlingCode: 'H2',
        deliveredTo: ['secretariat'],
      }),
    ]);
    const readReceipt = await as.secretariat.POST('/v1/threads/{id}/messages/{messageId}/read', {
      params: { path: { id: threadId, messageId } },
    });
    expectOk(readReceipt);
    expectOk(
      await as.secretariat.POST('/v1/threads/{id}/messages', {
        ...thread,
        body: { body: 'Those listed in the network guide; details follow.', handlingCode: 'H0' },
      }),
    );
    const seenByFrance = expectOk(
      await as.france.GET('/v1/threads/{id}', {
        params: { path: { id: threadId }, ...readAfter(positionOf(readReceipt.response)) },
      }),
    );
    expect(seenByFrance).toMatchObject({ answered: true });
    expect(seenByFrance.messages[0]).toMatchObject({ readBy: ['secretariat'] });

    expect((await as.germany.GET('/v1/threads/{id}', thread)).response.status).toBe(404);
    const intruder = await as.germany.POST('/v1/threads/{id}/messages', {
      ...thread,
      body: { body: 'hello', handlingCode: 'H0' },
    });
    expect(intruder.response.status).toBe(404);
  });

  describe('errors as problem details', () => {
    it('401 for a missing, forged or expired token; 403 for a principal the directory refuses', async () => {
      const states = (api: FocalClient) => api.GET('/v1/states');
      expect((await states(system.client())).response.status).toBe(401);
      expect((await states(system.client(`${france}x`))).response.status).toBe(401);
      const unknownState = await system.token({ role: 'member-state', state: 'PT' });
      const refused = await states(system.client(unknownState));
      expect({ status: refused.response.status, body: refused.error }).toMatchObject({
        status: 403,
        body: { type: 'urn:focal:problem:principal/unknown-state' },
      });
      const wrongRole = await system.token({ role: 'member-state', state: 'NO' });
      expect((await states(system.client(wrongRole))).error?.type).toBe(
        'urn:focal:problem:principal/role-mismatch',
      );
      const putGB = (body: { name?: string; status: 'observer' | 'former'; effectiveFrom: string }) =>
        as.secretariat.PUT('/v1/states/{code}', { params: { path: { code: 'GB' } }, body }).then(expectOk);
      await putGB({ name: 'United Kingdom', status: 'observer', effectiveFrom: '2002-06-13' });
      await putGB({ status: 'former', effectiveFrom: '2020-01-31' });
      await system.gateway.readModels.catchUp();
      const former = await system.token({ role: 'observer-state', state: 'GB' });
      expect((await states(system.client(former))).error).toMatchObject({
        status: 403,
        type: 'urn:focal:problem:principal/former-state',
      });
      const organisation = expectOk(
        await as.secretariat.POST('/v1/liaison-organisations', {
          body: {
            name: 'UN Investigative Team for Accountability of ISIL',
            acronym: 'UNITAD',
            kind: 'un-mechanism',
          },
        }),
      );
      const unitad = system.client(
        await system.token({ role: 'liaison-organisation', organisation: organisation.id }),
      );
      expect((await states(unitad)).response.status).toBe(200);
      expectOk(
        await as.secretariat.POST('/v1/liaison-organisations/{id}/suspend', {
          params: { path: { id: organisation.id } },
          body: { reason: 'mandate ended 2024-09-17' },
        }),
      );
      // The suspension is in the read model once caught up; the next request of its principals is refused.
      await system.gateway.readModels.catchUp();
      expect((await states(unitad)).error).toMatchObject({
        status: 403,
        type: 'urn:focal:problem:principal/organisation-suspended',
      });
    });

    it("a suspension counts for every request sent after it was answered, while the organisation's requests stream in", async () => {
      const organisation = expectOk(
        await as.secretariat.POST('/v1/liaison-organisations', {
          body: {
            name: 'Commission for International Justice and Accountability',
            acronym: 'CIJA',
            kind: 'civil-society',
          },
        }),
      );
      const cija = system.client(
        await system.token({ role: 'liaison-organisation', organisation: organisation.id }),
      );
      // Eight callers at once, as a busy client would: requests in flight whenever the suspension commits.
      const answers: { sentAt: number; status: number }[] = [];
      let suspendedAt = Infinity;
      let stop = false;
      const callers = Array.from({ length: 8 }, async () => {
        while (!stop) {
          const sentAt = performance.now();
          const { response } = await cija.GET('/v1/states');
          answers.push({ sentAt, status: response.status });
        }
      });
      try {
        await until(() => answers.length >= 40, 'requests of the organisation flowing');
        expectOk(
          await as.secretariat.POST('/v1/liaison-organisations/{id}/suspend', {
            params: { path: { id: organisation.id } },
            body: { reason: 'review of its standing' },
          }),
        );
        suspendedAt = performance.now();
        await until(
          () => answers.filter((answer) => answer.sentAt > suspendedAt).length >= 80,
          'requests sent after the suspension',
        );
      } finally {
        stop = true;
        await Promise.all(callers);
      }
      expect(
        answers.filter((answer) => answer.sentAt < suspendedAt && answer.status === 200).length,
      ).toBeGreaterThan(0);
      const after = answers.filter((answer) => answer.sentAt > suspendedAt).map((answer) => answer.status);
      expect(after).toEqual(after.map(() => 403));
    });

    it('400 for malformed JSON, unknown fields, wrong types, bad ids and bad queries, naming each', async () => {
      // What a typed client cannot send (bytes that are not JSON, fields the API does not have, wrong types)
      // goes through the untyped `system.call`.
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
      const domain = await as.secretariat.POST('/v1/contact-points', {
        body: {
          state: 'XX',
          fullName: 'A B',
          email: 'not-an-email',
          role: 'judge',
          authority: 'x',
          languages: ['fr'],
        },
      });
      expect({ status: domain.response.status, body: domain.error }).toMatchObject({
        status: 400,
        body: { errors: { state: expect.any(String), email: expect.any(String) } },
      });
      expect(
        (await as.secretariat.GET('/v1/contact-points/{id}', { params: { path: { id: 'not-a-uuid' } } }))
          .error,
      ).toMatchObject({
        status: 400,
        errors: { id: 'must be a UUID' },
      });
      const query = await as.secretariat.GET('/v1/contact-points', {
        params: { query: { limit: 5000, language: 'French' } },
      });
      expect(query.response.status).toBe(400);
      expect(Object.keys(query.error?.errors ?? {})).toEqual(expect.arrayContaining(['limit', 'language']));
      const oversized = await as.secretariat.POST('/v1/liaison-organisations', {
        body: { name: 'x'.repeat(300_000), acronym: 'X', kind: 'other' },
      });
      expect(oversized.response.status).toBe(413);
    });

    it('404, 409, 412 and 422', async () => {
      expect(
        (await as.secretariat.GET('/v1/contact-points/{id}', { params: { path: { id: randomUUID() } } }))
          .response.status,
      ).toBe(404);
      // A path the API does not have: not one the typed client can name.
      expect((await system.call('GET', '/v1/nowhere', { token: secretariat })).status).toBe(404);

      const created = await as.secretariat.POST('/v1/liaison-organisations', {
        body: { name: 'Human Rights Watch', acronym: 'HRW', kind: 'civil-society' },
      });
      const id = expectOk(created).id;
      const change = (version: string) =>
        as.secretariat.PATCH('/v1/liaison-organisations/{id}', {
          params: { path: { id }, header: { 'If-Match': version } },
          body: { acronym: 'H.R.W.' },
        });
      const stale = await change(ifMatch(7));
      expect({ status: stale.response.status, body: stale.error }).toMatchObject({
        status: 412,
        body: { type: 'urn:focal:problem:version-mismatch' },
      });
      const fresh = await change(created.response.headers.get('etag')!);
      expect({ status: fresh.response.status, body: fresh.data }).toMatchObject({
        status: 200,
        body: { version: 2 },
      });
      // A UUID is case-insensitive: in upper case the path names the same organisation, to read and to change.
      const shouted = await as.secretariat.GET('/v1/liaison-organisations/{id}', {
        params: {
          path: { id: id.toUpperCase() },
          header: { 'Focal-Read-After': fresh.response.headers.get('focal-position')! },
        },
      });
      expect({ status: shouted.response.status, body: shouted.data }).toMatchObject({
        status: 200,
        body: { id },
      });
      const changedShouting = await as.secretariat.PATCH('/v1/liaison-organisations/{id}', {
        params: {
          path: { id: id.toUpperCase() },
          header: { 'If-Match': fresh.response.headers.get('etag')! },
        },
        body: { acronym: 'HRW' },
      });
      expect({ status: changedShouting.response.status, body: changedShouting.data }).toMatchObject({
        status: 200,
        body: { id, version: 3 },
      });

      const suspend = () =>
        as.secretariat.POST('/v1/liaison-organisations/{id}/suspend', {
          params: { path: { id } },
          body: { reason: 'review' },
        });
      expectOk(await suspend());
      const twice = await suspend();
      expect(twice.response.status).toBe(422);

      const requested = expectOk(
        await as.france.POST('/v1/meeting-requests', {
          body: {
            subjectKind: 'topic',
            title: 'Open-source evidence',
            summary: 'Exchange of practice',
            confidentiality: 'open',
            proposedDates: ['2031-04-01'],
          },
        }),
      );
      const coSponsor = () =>
        as.germany.POST('/v1/meeting-requests/{id}/co-sponsor', { params: { path: { id: requested.id } } });
      expectOk(await coSponsor());
      const again = await coSponsor();
      expect({ status: again.response.status, body: again.error }).toMatchObject({
        status: 409,
        body: { type: 'urn:focal:problem:meeting-request/already-sponsor' },
      });
    });

    it('PUT /v1/states retried with the same key and body answers as the first time, admission or change', async () => {
      const put = async (
        key: string,
        body: { name?: string; status: 'member' | 'observer'; effectiveFrom: string },
      ) => {
        const { response, data, error } = await as.secretariat.PUT('/v1/states/{code}', {
          params: { path: { code: 'BE' }, header: { 'Idempotency-Key': key } },
          body,
        });
        return { status: response.status, body: data ?? error };
      };
      const admission = { name: 'Belgium', status: 'member', effectiveFrom: '2002-06-13' } as const;
      const admissionKey = randomUUID();
      const admitted = await put(admissionKey, admission);
      expect(admitted).toMatchObject({ status: 201, body: { version: 1 } });
      // The retry of a request whose answer was lost: the state exists by now, and it is still an admission.
      const retried = await put(admissionKey, admission);
      expect(retried.status).toBe(201);
      expect(retried.body).toEqual(admitted.body);

      const change = { status: 'observer', effectiveFrom: '2040-01-01' } as const;
      const changeKey = randomUUID();
      const changed = await put(changeKey, change);
      expect(changed).toMatchObject({ status: 200, body: { version: 2 } });
      const changedAgain = await put(changeKey, change);
      expect(changedAgain.status).toBe(200);
      expect(changedAgain.body).toEqual(changed.body);
    });

    it('an idempotent retry returns the first response and has one effect; a reused key with another body is 409', async () => {
      const key = randomUUID();
      const body = { name: 'TRIAL International', acronym: 'TRIAL', kind: 'civil-society' } as const;
      const register = (acronym: string) =>
        as.secretariat.POST('/v1/liaison-organisations', {
          params: { header: { 'Idempotency-Key': key } },
          body: { ...body, acronym },
        });
      const first = await register('TRIAL');
      const second = await register('TRIAL');
      expect(first.response.status).toBe(201);
      expect(second.response.status).toBe(201);
      expect(second.data).toEqual(first.data);
      const listed = expectOk(
        await as.secretariat.GET('/v1/liaison-organisations', {
          params: readAfter(positionOf(second.response)),
        }),
      );
      expect(listed.items.filter((item) => item.acronym === 'TRIAL')).toHaveLength(1);
      const reused = await register('TRIAL2');
      expect({ status: reused.response.status, body: reused.error }).toMatchObject({
        status: 409,
        body: { type: 'urn:focal:problem:idempotency-key-reused' },
      });
    });
  });
});
