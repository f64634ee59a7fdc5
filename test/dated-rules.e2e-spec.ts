import { startSystem, STORES, type TestSystem } from './support/system.js';

/**
 * Rules that hang on a date, as a user meets them over HTTP (issue 12): a status change takes effect on its
 * date, a meeting is concluded once it has been held, a second confirmation on a day records nothing.
 */
describe.each(STORES)('rules that act on their date, not before (%s store)', (store) => {
  let system: TestSystem;
  let secretariat: string;
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const today = day(0);
  const tomorrow = day(1);

  /** A read that sees every write before it (read-your-writes through Focal-Read-After). */
  const read = (path: string, token: string, after: string | null) =>
    system.call('GET', path, { token, headers: { 'focal-read-after': after ?? '0' } });

  beforeAll(async () => {
    system = await startSystem(store, 'dated');
    secretariat = await system.token({ role: 'secretariat' });
    for (const [code, name, status] of [
      ['FR', 'France', 'member'],
      ['DE', 'Germany', 'member'],
      ['NO', 'Norway', 'observer'],
      ['GB', 'United Kingdom', 'observer'],
    ] as const) {
      await system.ok('PUT', `/v1/states/${code}`, secretariat, {
        name,
        status,
        effectiveFrom: '2002-06-13',
      });
    }
  });
  afterAll(() => system?.stop());

  describe('a status change recorded today, effective tomorrow', () => {
    let after: string | null;

    beforeAll(async () => {
      await system.ok('PUT', '/v1/states/NO', secretariat, { status: 'member', effectiveFrom: tomorrow });
      await system.ok('PUT', '/v1/states/GB', secretariat, { status: 'former', effectiveFrom: tomorrow });
      after = (
        await system.ok('PUT', '/v1/states/FR', secretariat, { status: 'observer', effectiveFrom: tomorrow })
      ).headers.get('focal-position');
    });

    it('leaves today’s status as it is, and shows the change as pending', async () => {
      const norway = await read('/v1/states/NO', secretariat, after);
      expect(norway.status).toBe(200);
      expect(norway.headers.get('etag')).toBe('"2"');
      expect(norway.body).toEqual({
        code: 'NO',
        name: 'Norway',
        status: 'observer',
        since: '2002-06-13',
        pending: [{ status: 'member', from: tomorrow }],
        history: [
          { status: 'observer', from: '2002-06-13' },
          { status: 'member', from: tomorrow },
        ],
        version: 2,
      });
      const listed = await read('/v1/states', secretariat, after);
      expect(
        Object.fromEntries(
          listed.body.items.map((state: { code: string; status: string; pending: unknown[] }) => [
            state.code,
            [state.status, state.pending.length],
          ]),
        ),
      ).toEqual({ DE: ['member', 0], FR: ['member', 1], GB: ['observer', 1], NO: ['observer', 1] });
    });

    it('admits today the tokens of today’s status and refuses those of tomorrow’s', async () => {
      const asObserver = await system.token({ role: 'observer-state', state: 'NO' });
      expect((await read('/v1/states/NO', asObserver, after)).status).toBe(200);
      const asMember = await system.token({ role: 'member-state', state: 'NO' });
      const refused = await read('/v1/states/NO', asMember, after);
      expect(refused.status).toBe(403);
      expect(refused.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(refused.body).toMatchObject({
        type: 'urn:focal:problem:principal/role-mismatch',
        reason: 'principal/role-mismatch',
        detail: `NO is an observer state: a member-state token does not match; get an observer-state token (it becomes a member state on ${tomorrow})`,
      });

      // The United Kingdom leaves tomorrow: its observers are still admitted today.
      const british = await system.token({ role: 'observer-state', state: 'GB' });
      expect((await read('/v1/states', british, after)).status).toBe(200);
    });

    it('lets a member state act as a member until its change takes effect', async () => {
      const france = await system.token({ role: 'member-state', state: 'FR' });
      const requested = await system.call('POST', '/v1/meeting-requests', {
        token: france,
        body: {
          subjectKind: 'topic',
          title: 'Open-source evidence',
          summary: 'Exchange of practice',
          confidentiality: 'open',
          proposedDates: ['2031-04-01'],
        },
      });
      expect(requested.status).toBe(201);
      const asObserver = await system.token({ role: 'observer-state', state: 'FR' });
      expect((await read('/v1/states/FR', asObserver, after)).body).toMatchObject({
        status: 403,
        reason: 'principal/role-mismatch',
        detail: expect.stringMatching(/^FR is a member state: an observer-state token does not match/),
      });
    });
  });

  describe('an ad hoc meeting', () => {
    it('cannot be concluded before its scheduled date: 422, the request stays accepted', async () => {
      const germany = await system.token({ role: 'member-state', state: 'DE' });
      const requested = await system.ok('POST', '/v1/meeting-requests', germany, {
        subjectKind: 'case',
        title: 'Witness hearings in a joint investigation',
        summary: 'Coordinate hearings of witnesses living in several member states',
        confidentiality: 'open',
        proposedDates: ['2031-03-02'],
      });
      const id = requested.body.id as string;
      const accepted = await system.ok('POST', `/v1/meeting-requests/${id}/accept`, secretariat, {
        scheduledFor: '2031-03-02T10:00:00Z',
        venue: 'Eurojust, The Hague',
      });
      const early = await system.call('POST', `/v1/meeting-requests/${id}/conclude`, {
        token: secretariat,
        body: { conclusions: 'A joint investigation team is to be explored' },
      });
      expect(early.status).toBe(422);
      expect(early.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(early.body).toEqual({
        type: 'urn:focal:problem:meeting-request/not-yet-held',
        title: 'Rule violated',
        status: 422,
        reason: 'meeting-request/not-yet-held',
        instance: `/v1/meeting-requests/${id}/conclude`,
        detail:
          `the meeting is scheduled for 2031-03-02T10:00:00Z and today is ${today}: conclude it on or after ` +
          '2031-03-02, once it has been held, or cancel it if it will not take place',
      });
      const seen = await read(
        `/v1/meeting-requests/${id}`,
        secretariat,
        accepted.headers.get('focal-position'),
      );
      expect(seen.body).toMatchObject({ status: 'accepted', version: 2 });
      expect(seen.headers.get('etag')).toBe('"2"');
      expect((await system.persistence.store.readStream(`meeting-request-${id}`)).map((e) => e.type)).toEqual(
        ['AdHocMeetingRequested', 'AdHocMeetingAccepted'],
      );
    });
  });

  describe('confirming a contact point', () => {
    it('twice on the same day records one event; the second answers 200 with the current version', async () => {
      const germany = await system.token({ role: 'member-state', state: 'DE' });
      const registered = await system.ok('POST', '/v1/contact-points', germany, {
        state: 'DE',
        fullName: 'Anna Beispiel',
        email: 'anna.beispiel@gba.example',
        role: 'prosecutor',
        authority: 'Generalbundesanwalt',
        languages: ['de', 'en'],
      });
      const id = registered.body.id as string;

      const first = await system.ok('POST', `/v1/contact-points/${id}/confirm`, germany);
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ id, version: 2, position: expect.any(String) });
      expect(first.headers.get('etag')).toBe('"2"');

      // Again the same day, by the secretariat, with If-Match on the version just read: nothing new.
      const second = await system.call('POST', `/v1/contact-points/${id}/confirm`, {
        token: secretariat,
        headers: { 'if-match': '"2"' },
      });
      expect(second.status).toBe(200);
      // The same write: Germany is shown its position's cursor, the secretariat the position.
      expect(first.body.position).not.toMatch(/^\d+$/);
      expect(first.headers.get('focal-position')).toBe(first.body.position);
      expect(second.body).toEqual({ ...first.body, position: system.positionOf(first.body.position) });
      expect(second.headers.get('etag')).toBe('"2"');
      expect(second.headers.get('focal-position')).toBe(
        system.positionOf(first.headers.get('focal-position')!),
      );

      const types = (await system.persistence.store.readStream(`contact-point-${id}`)).map((e) => e.type);
      expect(types).toEqual(['ContactPointRegistered', 'ContactPointConfirmed']);
      const seen = await read(`/v1/contact-points/${id}`, germany, second.headers.get('focal-position'));
      expect(seen.body).toMatchObject({ lastConfirmedOn: today, version: 2, stale: false });
    });
  });
});
