import { expectOk, positionOf, type FocalClient } from '@focal/client';

import { parseCloudEvent } from './support/cloud-events.js';
import { receiver } from './support/receiver.js';
import { actors, testClient, type TestClient } from './support/services.js';
import { openEventSource } from './support/sse.js';
import { startSystem, STORES, type TestSystem } from './support/system.js';
import { until } from './support/until.js';

/**
 * Issue 16's journey over HTTP: the 39th plenary meeting convened with an open and a closed agenda, delegates
 * registered by states, a guest state and a liaison organisation, attendance, conclusions, the participation
 * report, and a liaison organisation's replay of the updates with nothing of the closed session in it. The
 * API is called through the typed client (@focal/client), each answer held to the OpenAPI document.
 */
describe.each(STORES)('plenary meetings (%s store)', (store) => {
  let system: TestSystem;
  let nats: TestClient;
  let secretariat: string;
  const tokens: Record<string, string> = {};
  /** The typed client as the secretariat, and as each of `tokens`. */
  let asSecretariat: FocalClient;
  const as: Record<string, FocalClient> = {};
  const contactPoints: Record<string, string> = {};
  let iccId: string;
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const startsOn = day(30);
  const endsOn = day(31);

  beforeAll(async () => {
    system = await startSystem(store, 'plenary', { webhooksAllowLoopback: true, webhookBaseDelayMs: 50 });
    nats = await testClient(system.namespace);
    secretariat = await system.token({ role: 'secretariat' });
    asSecretariat = system.client(secretariat);
    for (const [code, name, status] of [
      ['FR', 'France', 'member'],
      ['DE', 'Germany', 'member'],
      ['NO', 'Norway', 'observer'],
      ['GM', 'The Gambia', 'guest'],
    ] as const) {
      expectOk(
        await asSecretariat.PUT('/v1/states/{code}', {
          params: { path: { code } },
          body: { name, status, effectiveFrom: '2002-06-13' },
        }),
      );
    }
    iccId = expectOk(
      await asSecretariat.POST('/v1/liaison-organisations', {
        body: { name: 'International Criminal Court', acronym: 'ICC', kind: 'international-court' },
      }),
    ).id;
    tokens.FR = await system.token({ role: 'member-state', state: 'FR' });
    tokens.DE = await system.token({ role: 'member-state', state: 'DE' });
    tokens.NO = await system.token({ role: 'observer-state', state: 'NO' });
    tokens.GM = await system.token({ role: 'guest-state', state: 'GM' });
    tokens.ICC = await system.token({ role: 'liaison-organisation', organisation: iccId });
    for (const [who, token] of Object.entries(tokens)) as[who] = system.client(token);
    for (const [key, state, fullName] of [
      ['FR-1', 'FR', 'Camille Exemple'],
      ['FR-2', 'FR', 'Dominique Exemple'],
      ['DE-1', 'DE', 'Erika Beispiel'],
      ['NO-1', 'NO', 'Kari Eksempel'],
    ] as const) {
      contactPoints[key] = expectOk(
        await as[state]!.POST('/v1/contact-points', {
          body: {
            state,
            fullName,
            email: `${key.toLowerCase()}@justice.example`,
            role: 'prosecutor',
            authority: 'War crimes unit',
            languages: ['en'],
            primary: false,
          },
        }),
      ).id;
    }
  });

  afterAll(async () => {
    await nats?.close();
    await system?.stop();
  });

  it('convened, registered, refused where it must be, attended, concluded, reported and replayed', async () => {
    // The organisation's webhook receives what its updates would: nothing of the closed session.
    const hook = await receiver();
    expectOk(await as.ICC!.POST('/v1/webhooks', { body: { url: hook.url } }));
    // The secretariat convenes the 39th meeting with an open and a closed agenda.
    const meetingId = expectOk(
      await asSecretariat.POST('/v1/plenary-meetings', {
        body: {
          number: 39,
          title: '39th plenary meeting of the Genocide Network',
          theme: 'Accountability for crimes against children',
          startsOn,
          endsOn,
          venue: 'Eurojust, The Hague',
          presidency: 'CY',
        },
      }),
    ).id;
    const meeting = { path: { id: meetingId } };
    const addAgendaItem = (
      api: FocalClient,
      body: { session: 'open' | 'closed'; title: string; summary?: string },
    ) => api.POST('/v1/plenary-meetings/{id}/agenda-items', { params: meeting, body });
    expectOk(
      await addAgendaItem(asSecretariat, {
        session: 'open',
        title: 'Digital evidence in core international crimes cases',
        summary: 'Open source information and its verification',
      }),
    );
    expectOk(
      await addAgendaItem(asSecretariat, {
        session: 'closed',
        title: 'Operation Nightjar: preparing extradition requests',
      }),
    );
    const byState = await addAgendaItem(as.FR!, { session: 'open', title: 'x' });
    expect(byState.response.status).toBe(403);

    // FR and NO register delegates for both sessions; DE for the closed one only.
    const register = (
      api: FocalClient,
      body: { session: 'open' | 'closed'; name?: string; contactPointId?: string },
    ) => api.POST('/v1/plenary-meetings/{id}/delegates', { params: meeting, body });
    const delegates: Record<string, string> = {};
    for (const [key, state, session, contactPointId, name] of [
      ['FR-closed', 'FR', 'closed', contactPoints['FR-1'], 'Camille Exemple'],
      ['FR-open', 'FR', 'open', contactPoints['FR-2'], 'Dominique Exemple'],
      ['NO-closed', 'NO', 'closed', contactPoints['NO-1'], 'Kari Eksempel'],
      ['NO-open', 'NO', 'open', contactPoints['NO-1'], 'Kari Eksempel'],
      ['DE-closed', 'DE', 'closed', contactPoints['DE-1'], 'Erika Beispiel'],
    ] as const) {
      const registered = await register(as[state]!, { session, name, contactPointId: contactPointId! });
      expect(registered.response.status).toBe(201);
      delegates[key] = expectOk(registered).id;
    }
    const others = await register(as.FR!, {
      session: 'open',
      name: 'Erika Beispiel',
      contactPointId: contactPoints['DE-1']!,
    });
    expect(others.response.status).toBe(403);
    expect(others.error?.reason).toBe('plenary/own-contact-points-only');

    // A liaison organisation and a guest state register for the open session, and are refused the closed one.
    for (const guest of ['ICC', 'GM']) {
      const open = await register(as[guest]!, { session: 'open', name: `${guest} delegation` });
      expect(open.response.status).toBe(201);
      // No version or ETag: it would count the closed session's events before this one.
      expect(open.data).toBeDefined();
      expect(open.data).not.toHaveProperty('version');
      expect(open.response.headers.get('etag')).toBeNull();
      delegates[`${guest}-open`] = expectOk(open).id;
      const closed = await register(as[guest]!, { session: 'closed', name: `${guest} delegation` });
      expect(closed.response.status).toBe(403);
      expect(closed.error).toMatchObject({
        reason: 'plenary/closed-session-member-and-observer-states-only',
        detail: expect.stringMatching(
          /held solely for national contact points of member and observer states/,
        ),
      });
    }

    // What the organisation reads: the open session only, and no version that would count the closed one.
    const readMeeting = (api: FocalClient, after?: string) =>
      api.GET('/v1/plenary-meetings/{id}', {
        params: { ...meeting, ...(after ? { header: { 'Focal-Read-After': after } } : {}) },
      });
    const asOrganisation = await readMeeting(as.ICC!, '0');
    expect(asOrganisation.response.headers.get('etag')).toBeNull();
    const seenByOrganisation = expectOk(asOrganisation);
    expect(seenByOrganisation).not.toHaveProperty('version');
    expect(seenByOrganisation.agenda.map((item) => item.session)).toEqual(['open']);
    expect(seenByOrganisation.delegates.map((d) => d.id).sort()).toEqual(
      [delegates['FR-open'], delegates['NO-open'], delegates['ICC-open'], delegates['GM-open']].sort(),
    );
    expect(JSON.stringify(seenByOrganisation)).not.toMatch(/Nightjar|Camille|Erika/);
    const asFrance = expectOk(await readMeeting(as.FR!));
    expect(asFrance.agenda).toHaveLength(2);
    expect(asFrance.delegates).toHaveLength(7);
    // A closed session's delegate does not exist for the organisation: withdrawing one is 404, as for none.
    const withdraw = (delegateId: string) =>
      as.ICC!.DELETE('/v1/plenary-meetings/{id}/delegates/{delegateId}', {
        params: { path: { id: meetingId, delegateId } },
      });
    const hidden = await withdraw(delegates['FR-closed']!);
    const unknown = await withdraw(meetingId);
    expect([hidden.response.status, unknown.response.status]).toEqual([404, 404]);
    expect(hidden.error?.detail.replace(delegates['FR-closed']!, 'X')).toBe(
      unknown.error?.detail.replace(meetingId, 'X'),
    );
    // Nor can it count the closed session by guessing versions with If-Match (a 412 for each wrong guess, the
    // write for the right one): it is refused before anything is sent, whatever the guess.
    // What was committed, not what readers see yet (another transaction can hold the visible head back).
    const head = await system.persistence.store.lastCommittedPosition();
    for (const guess of ['"1"', '"12"', '"13"', '*']) {
      const guessed = await as.GM!.POST('/v1/plenary-meetings/{id}/delegates', {
        params: { ...meeting, header: { 'If-Match': guess } },
        body: { session: 'open', name: 'GM delegation' },
      });
      expect({ status: guessed.response.status, reason: guessed.error?.reason }).toEqual({
        status: 400,
        reason: 'invalid-if-match',
      });
    }
    expect(await system.persistence.store.lastCommittedPosition()).toBe(head);
    // Withdrawing its own delegate tells it no version either.
    const second = expectOk(await register(as.ICC!, { session: 'open', name: 'ICC second delegation' }));
    const withdrawn = await withdraw(second.id);
    expect(withdrawn.response.status).toBe(200);
    expect(withdrawn.data).toBeDefined();
    expect(withdrawn.data).not.toHaveProperty('version');
    expect(withdrawn.response.headers.get('etag')).toBeNull();

    // Attendance and conclusions wait for the meeting itself.
    const early = await asSecretariat.POST('/v1/plenary-meetings/{id}/attendance', {
      params: meeting,
      body: { delegateId: delegates['FR-open']! },
    });
    expect(early.response.status).toBe(422);
    expect(early.error?.reason).toBe('plenary/not-yet-started');
    const conclusions = {
      text: 'The Network calls for common standards for verifying digital evidence.',
      topics: ['digital evidence', 'children'],
    };
    const premature = await asSecretariat.POST('/v1/plenary-meetings/{id}/conclusions', {
      params: meeting,
      body: conclusions,
    });
    expect(premature.response.status).toBe(422);
    expect(premature.error?.reason).toBe('plenary/not-yet-ended');

    // On the meeting's days (the commands' time, as a NATS client may state it): attendance, then conclusions.
    for (const key of ['FR-closed', 'FR-open', 'NO-closed', 'GM-open', 'ICC-open']) {
      await nats.send(
        'focal.messaging.plenary-meeting.record-attendance',
        actors.secretariat,
        { meetingId, delegateId: delegates[key]! },
        { at: `${startsOn}T09:00:00Z` },
      );
    }
    const published = await nats.send(
      'focal.messaging.plenary-meeting.publish-conclusions',
      actors.secretariat,
      { meetingId, ...conclusions },
      { at: `${day(32)}T09:00:00Z` },
    );
    const readAfter = { header: { 'Focal-Read-After': published.position! } };

    // The conclusions are open and found by text and by topic.
    const search = (api: FocalClient, query: { q?: string; topic?: string; status?: 'concluded' }) =>
      api.GET('/v1/plenary-meetings', { params: { query, ...readAfter } }).then(expectOk);
    for (const query of [
      { q: 'standards digital' },
      { topic: 'Children' },
      { status: 'concluded' as const },
    ]) {
      const found = await search(as.ICC!, query);
      expect(found.items).toEqual([
        expect.objectContaining({ id: meetingId, status: 'concluded', conclusions }),
      ]);
    }
    const none = await search(asSecretariat, { q: 'Nightjar' });
    expect(none.items).toEqual([]);

    // The participation report: the secretariat's has both sessions, the organisation's the open one.
    const participation = (api: FocalClient) =>
      api
        .GET('/v1/plenary-meetings/{id}/participation', { params: { ...meeting, ...readAfter } })
        .then(expectOk);
    const full = await participation(asSecretariat);
    expect(full.countries).toBe(4);
    const [openSession, closedSession] = full.sessions;
    expect(openSession).toMatchObject({ session: 'open', delegates: 4, attended: 3, countries: 3 });
    expect(openSession!.byKind).toEqual([
      { kind: 'member-state', delegates: 1, attended: 1 },
      { kind: 'observer-state', delegates: 1, attended: 0 },
      { kind: 'guest-state', delegates: 1, attended: 1 },
      { kind: 'liaison-organisation', delegates: 1, attended: 1 },
    ]);
    expect(closedSession).toMatchObject({ session: 'closed', delegates: 3, attended: 2, countries: 3 });
    expect(closedSession!.byCountry).toEqual([
      { country: 'DE', delegates: 1, attended: 0 },
      { country: 'FR', delegates: 1, attended: 1 },
      { country: 'NO', delegates: 1, attended: 1 },
    ]);
    const open = await participation(as.ICC!);
    expect(open.sessions.map((session) => session.session)).toEqual(['open']);
    expect(open.countries).toBe(3);

    // The organisation's replay of the updates: the open agenda and the conclusions, nothing of the closed session.
    const received: { type: string; data: string }[] = [];
    const source = openEventSource(`${system.url}/v1/updates`, tokens.ICC!, '0');
    try {
      // Every event comes to onmessage: its type is the CloudEvent's.
      source.onmessage = (event) =>
        received.push({
          type: parseCloudEvent(event.data).type.replace(/^eu\.focal\./, ''),
          data: event.data,
        });
      await until(
        () => received.some((event) => event.type === 'PlenaryConclusionsPublished'),
        'the conclusions in the replay',
      );
    } finally {
      source.close();
    }
    const plenary = received.filter((event) => event.type.startsWith('Plenary'));
    const sessions = plenary.map((event) => JSON.parse(event.data).data.session).filter(Boolean);
    expect(sessions.length).toBeGreaterThan(0);
    expect(new Set(sessions)).toEqual(new Set(['open']));
    expect(plenary.map((event) => event.type)).toEqual(
      expect.arrayContaining([
        'PlenaryMeetingConvened',
        'PlenaryAgendaItemAdded',
        'PlenaryConclusionsPublished',
      ]),
    );
    // No stream version either: it would count the closed session's events.
    expect(plenary.map((event) => JSON.parse(event.data).streamversion)).toEqual(
      plenary.map(() => undefined),
    );
    const replayed = plenary.map((event) => event.data).join('\n');
    expect(replayed).toMatch(/Digital evidence in core international crimes cases/);
    expect(replayed).not.toMatch(/Nightjar|Camille Exemple|Erika Beispiel/);

    try {
      await until(
        () => hook.received.some((delivery) => delivery.type === 'PlenaryConclusionsPublished'),
        'the conclusions at the webhook',
      );
      const delivered = hook.received.filter((delivery) => delivery.type.startsWith('Plenary'));
      expect(delivered.map((delivery) => delivery.type)).toEqual(plenary.map((event) => event.type));
      expect(delivered.map((delivery) => delivery.body).join('\n')).not.toMatch(/"closed"|Nightjar|Camille/);
    } finally {
      await hook.close();
    }
  }, 120_000);

  it("a state delegate's name is its contact point's: never stored in plain text, gone with its erasure", async () => {
    const fullName = 'Ondine Chiffrée';
    const contactPointId = expectOk(
      await as.FR!.POST('/v1/contact-points', {
        body: {
          state: 'FR',
          fullName,
          email: 'ondine@justice.example',
          role: 'prosecutor',
          authority: 'War crimes unit',
          languages: ['fr'],
          primary: false,
        },
      }),
    ).id;
    const meetingId = expectOk(
      await asSecretariat.POST('/v1/plenary-meetings', {
        body: {
          number: 40,
          title: '40th plenary meeting of the Genocide Network',
          theme: 'Delegates and their personal data',
          startsOn,
          endsOn,
          venue: 'Eurojust, The Hague',
          presidency: 'FR',
        },
      }),
    ).id;
    const meeting = { path: { id: meetingId } };
    // The body's name is accepted for compatibility and ignored: the contact point's is the delegate's.
    const registered = expectOk(
      await as.FR!.POST('/v1/plenary-meetings/{id}/delegates', {
        params: meeting,
        body: { session: 'closed', name: 'Not The Contact Point', contactPointId },
      }),
    );
    const organisations = await as.ICC!.POST('/v1/plenary-meetings/{id}/delegates', {
      params: meeting,
      body: { session: 'open', name: 'ICC delegation' },
    });
    const organisationsDelegate = expectOk(organisations);
    const readAfter = { header: { 'Focal-Read-After': positionOf(organisations.response)! } };
    const delegatesAs = async (api: FocalClient) =>
      expectOk(await api.GET('/v1/plenary-meetings/{id}', { params: { ...meeting, ...readAfter } }))
        .delegates;

    expect(await delegatesAs(as.FR!)).toEqual([
      expect.objectContaining({ id: registered.id, contactPointId, name: fullName }),
      expect.objectContaining({ id: organisationsDelegate.id, name: 'ICC delegation' }),
    ]);
    expect(await delegatesAs(as.ICC!)).toEqual([
      expect.objectContaining({ id: organisationsDelegate.id, name: 'ICC delegation' }),
    ]);

    // Neither the log nor any plenary read model holds the name, the one given or the contact point's.
    const stored = JSON.stringify(
      await system.sql('SELECT data FROM focal_events WHERE stream_id = $1', [
        `plenary-meeting-${meetingId}`,
      ]),
    );
    expect(stored).toContain(contactPointId);
    expect(stored).toContain('ICC delegation');
    expect(stored).not.toMatch(/Ondine|Chiffr|Not The Contact Point/);
    const schemas = await system.sql<{ table_schema: string }>(
      `SELECT table_schema FROM information_schema.tables WHERE table_name = 'plenary_delegates'`,
    );
    expect(schemas.length).toBeGreaterThan(0);
    for (const { table_schema: schema } of schemas) {
      const rows = await system.sql(`SELECT * FROM ${schema}.plenary_delegates WHERE meeting_id = $1`, [
        meetingId,
      ]);
      expect(rows).toHaveLength(2);
      expect(JSON.stringify(rows)).not.toMatch(/Ondine|Chiffr|Not The Contact Point/);
    }

    // Erasing the contact point's personal data erases the delegate's name on the plenary's read path, at once.
    expectOk(
      await asSecretariat.DELETE('/v1/contact-points/{id}/personal-data', {
        params: { path: { id: contactPointId } },
      }),
    );
    const afterErasure = await delegatesAs(asSecretariat);
    expect(afterErasure).toEqual([
      expect.objectContaining({ id: registered.id, contactPointId, name: null }),
      expect.objectContaining({ id: organisationsDelegate.id, name: 'ICC delegation' }),
    ]);
    expect(JSON.stringify(afterErasure)).not.toMatch(/Ondine|Chiffr/);
  }, 60_000);
});
