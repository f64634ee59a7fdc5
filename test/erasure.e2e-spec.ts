import { subscribe, type SseFrame } from './support/sse.js';
import { startSystem, type TestSystem } from './support/system.js';

/** After erasure, no read path returns the personal fields, not even a replay of the events from before. */
describe('erasure of a contact point’s personal data, through every read path', () => {
  let system: TestSystem;
  let secretariat: string;

  beforeAll(async () => {
    system = await startSystem('erasure');
    secretariat = await system.token({ role: 'secretariat' });
    await system.call('PUT', '/v1/states/FR', {
      token: secretariat,
      body: { name: 'France', status: 'member', effectiveFrom: '2002-06-13' },
    });
  });
  afterAll(() => system?.stop());

  it('REST, search, Server-Sent Events replay and the audit export show no personal field; verify passes', async () => {
    const before = (await system.persistence.store.headPosition())!;
    const live = await subscribe(`${system.url}/v1/updates`, secretariat, { 'last-event-id': before });
    const created = await system.call('POST', '/v1/contact-points', {
      token: secretariat,
      body: {
        state: 'FR',
        fullName: 'Hélène Dupont',
        email: 'helene.dupont@justice.gouv.fr',
        phone: '+33155555555',
        notes: 'speaks Arabic',
        role: 'investigator',
        authority: 'OCLCH',
        languages: ['fr', 'ar'],
      },
    });
    const id = created.body.id as string;
    // Before erasure the secretariat sees the data, live: the frame is built while the key exists.
    await live.waitFor((frames: SseFrame[]) => frames.some((frame) => frame.data?.includes('Hélène')));
    live.close();

    const erased = await system.call('DELETE', `/v1/contact-points/${id}/personal-data`, {
      token: secretariat,
    });
    expect(erased.status).toBe(200);
    const after = erased.headers.get('focal-position')!;
    const personal = /Hélène|helene\.dupont|33155555555|speaks Arabic/;

    const read = await system.call('GET', `/v1/contact-points/${id}`, {
      token: secretariat,
      headers: { 'focal-read-after': after },
    });
    expect(read.body).toMatchObject({ id, authority: 'OCLCH', personalData: { erased: true } });
    expect(JSON.stringify(read.body)).not.toMatch(personal);
    const search = await system.call('GET', '/v1/contact-points?q=Dupont', { token: secretariat });
    expect(search.body.total).toBe(0);

    const replay = await subscribe(`${system.url}/v1/updates`, secretariat, { 'last-event-id': before });
    await replay.waitFor((frames) =>
      frames.some((frame) => frame.event === 'ContactPointPersonalDataErased'),
    );
    replay.close();
    const registered = replay.frames.find((frame) => frame.event === 'ContactPointRegistered')!;
    expect(JSON.parse(registered.data!).data.personal).toEqual({ erased: true });
    expect(JSON.stringify(replay.frames)).not.toMatch(personal);

    const exported = await fetch(`${system.url}/v1/audit/events`, {
      headers: { authorization: `Bearer ${secretariat}` },
    });
    expect(await exported.text()).not.toMatch(personal);
    expect((await system.call('GET', '/v1/audit/verify', { token: secretariat })).body).toMatchObject({
      ok: true,
    });
  });
});
