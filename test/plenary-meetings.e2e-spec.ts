import { parseCloudEvent } from './support/cloud-events.js';
import { receiver } from './support/receiver.js';
import { actors, testClient, type TestClient } from './support/services.js';
import { openEventSource } from './support/sse.js';
import { startSystem, STORES, type TestSystem } from './support/system.js';
import { until } from './support/until.js';

/**
 * Issue 16's journey over HTTP: the 39th plenary meeting convened with an open and a closed agenda, delegates
 * registered by states, a guest state and a liaison organisation, attendance, conclusions, the participation
 * report, and a liaison organisation's replay of the updates with nothing of the closed session in it.
 */
describe.each(STORES)('plenary meetings (%s store)', (store) => {
  let system: TestSystem;
  let nats: TestClient;
  let secretariat: string;
  const tokens: Record<string, string> = {};
  const contactPoints: Record<string, string> = {};
  let iccId: string;
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const startsOn = day(30);
  const endsOn = day(31);

  beforeAll(async () => {
    system = await startSystem(store, 'plenary', { webhooksAllowLoopback: true, webhookBaseDelayMs: 50 });
    nats = await testClient(system.namespace);
    secretariat = await system.token({ role: 'secretariat' });
    for (const [code, name, status] of [
      ['FR', 'France', 'member'],
      ['DE', 'Germany', 'member'],
      ['NO', 'Norway', 'observer'],
      ['GM', 'The Gambia', 'guest'],
    ] as const) {
      await system.ok('PUT', `/v1/states/${code}`, secretariat, {
        name,
        status,
        effectiveFrom: '2002-06-13',
      });
    }
    iccId = (
      await system.ok('POST', '/v1/liaison-organisations', secretariat, {
        name: 'International Criminal Court',
        acronym: 'ICC',
        kind: 'international-court',
      })
    ).body.id;
    tokens.FR = await system.token({ role: 'member-state', state: 'FR' });
    tokens.DE = await system.token({ role: 'member-state', state: 'DE' });
    tokens.NO = await system.token({ role: 'observer-state', state: 'NO' });
    tokens.GM = await system.token({ role: 'guest-state', state: 'GM' });
    tokens.ICC = await system.token({ role: 'liaison-organisation', organisation: iccId });
    for (const [key, state, fullName] of [
      ['FR-1', 'FR', 'Camille Exemple'],
      ['FR-2', 'FR', 'Dominique Exemple'],
      ['DE-1', 'DE', 'Erika Beispiel'],
      ['NO-1', 'NO', 'Kari Eksempel'],
    ] as const) {
      contactPoints[key] = (
        await system.ok('POST', '/v1/contact-points', tokens[state]!, {
          state,
          fullName,
          email: `${key.toLowerCase()}@justice.example`,
          role: 'prosecutor',
          authority: 'War crimes unit',
          languages: ['en'],
          primary: false,
        })
      ).body.id;
    }
  });

  afterAll(async () => {
    await nats?.close();
    await system?.stop();
  });

  it('convened, registered, refused where it must be, attended, concluded, reported and replayed', async () => {
    // The organisation's webhook receives what its updates would: nothing of the closed session.
    const hook = await receiver();
    await system.ok('POST', '/v1/webhooks', tokens.ICC!, { url: hook.url });
    // The secretariat convenes the 39th meeting with an open and a closed agenda.
    const meetingId = (
      await system.ok('POST', '/v1/plenary-meetings', secretariat, {
        number: 39,
        title: '39th plenary meeting of the Genocide Network',
        theme: 'Accountability for crimes against children',
        startsOn,
        endsOn,
        venue: 'Eurojust, The Hague',
        presidency: 'CY',
      })
    ).body.id as string;
    const path = `/v1/plenary-meetings/${meetingId}`;
    await system.ok('POST', `${path}/agenda-items`, secretariat, {
      session: 'open',
      title: 'Digital evidence in core international crimes cases',
      summary: 'Open source information and its verification',
    });
    await system.ok('POST', `${path}/agenda-items`, secretariat, {
      session: 'closed',
      title: 'Operation Nightjar: preparing extradition requests',
    });
    const byState = await system.call('POST', `${path}/agenda-items`, {
      token: tokens.FR!,
      body: { session: 'open', title: 'x' },
    });
    expect(byState.status).toBe(403);

    // FR and NO register delegates for both sessions; DE for the closed one only.
    const register = (token: string, body: object) =>
      system.call('POST', `${path}/delegates`, { token, body });
    const delegates: Record<string, string> = {};
    for (const [key, token, session, contactPointId, name] of [
      ['FR-closed', tokens.FR, 'closed', contactPoints['FR-1'], 'Camille Exemple'],
      ['FR-open', tokens.FR, 'open', contactPoints['FR-2'], 'Dominique Exemple'],
      ['NO-closed', tokens.NO, 'closed', contactPoints['NO-1'], 'Kari Eksempel'],
      ['NO-open', tokens.NO, 'open', contactPoints['NO-1'], 'Kari Eksempel'],
      ['DE-closed', tokens.DE, 'closed', contactPoints['DE-1'], 'Erika Beispiel'],
    ] as const) {
      const registered = await register(token!, { session, name, contactPointId });
      expect(registered.status).toBe(201);
      delegates[key] = registered.body.id;
    }
    const others = await register(tokens.FR!, {
      session: 'open',
      name: 'Erika Beispiel',
      contactPointId: contactPoints['DE-1'],
    });
    expect(others.status).toBe(403);
    expect(others.body.reason).toBe('plenary/own-contact-points-only');

    // A liaison organisation and a guest state register for the open session, and are refused the closed one.
    for (const guest of ['ICC', 'GM']) {
      const open = await register(tokens[guest]!, { session: 'open', name: `${guest} delegation` });
      expect(open.status).toBe(201);
      // No version or ETag: it would count the closed session's events before this one.
      expect(open.body.version).toBeUndefined();
      expect(open.headers.get('etag')).toBeNull();
      delegates[`${guest}-open`] = open.body.id;
      const closed = await register(tokens[guest]!, { session: 'closed', name: `${guest} delegation` });
      expect(closed.status).toBe(403);
      expect(closed.body).toMatchObject({
        reason: 'plenary/closed-session-member-and-observer-states-only',
        detail: expect.stringMatching(
          /held solely for national contact points of member and observer states/,
        ),
      });
    }

    // What the organisation reads: the open session only, and no version that would count the closed one.
    const asOrganisation = await system.ok('GET', path, tokens.ICC!, undefined, { 'focal-read-after': '0' });
    expect(asOrganisation.headers.get('etag')).toBeNull();
    expect(asOrganisation.body.version).toBeUndefined();
    expect(asOrganisation.body.agenda.map((item: { session: string }) => item.session)).toEqual(['open']);
    expect(asOrganisation.body.delegates.map((d: { id: string }) => d.id).sort()).toEqual(
      [delegates['FR-open'], delegates['NO-open'], delegates['ICC-open'], delegates['GM-open']].sort(),
    );
    expect(JSON.stringify(asOrganisation.body)).not.toMatch(/Nightjar|Camille|Erika/);
    const asFrance = await system.ok('GET', path, tokens.FR!);
    expect(asFrance.body.agenda).toHaveLength(2);
    expect(asFrance.body.delegates).toHaveLength(7);
    // A closed session's delegate does not exist for the organisation: withdrawing one is 404, as for none.
    const hidden = await system.call('DELETE', `${path}/delegates/${delegates['FR-closed']}`, {
      token: tokens.ICC!,
    });
    const unknown = await system.call('DELETE', `${path}/delegates/${meetingId}`, { token: tokens.ICC! });
    expect([hidden.status, unknown.status]).toEqual([404, 404]);
    expect(hidden.body.detail.replace(delegates['FR-closed']!, 'X')).toBe(
      unknown.body.detail.replace(meetingId, 'X'),
    );

    // Attendance and conclusions wait for the meeting itself.
    const early = await system.call('POST', `${path}/attendance`, {
      token: secretariat,
      body: { delegateId: delegates['FR-open'] },
    });
    expect(early.status).toBe(422);
    expect(early.body.reason).toBe('plenary/not-yet-started');
    const conclusions = {
      text: 'The Network calls for common standards for verifying digital evidence.',
      topics: ['digital evidence', 'children'],
    };
    const premature = await system.call('POST', `${path}/conclusions`, {
      token: secretariat,
      body: conclusions,
    });
    expect(premature.status).toBe(422);
    expect(premature.body.reason).toBe('plenary/not-yet-ended');

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
    const readAfter = { 'focal-read-after': published.position! };

    // The conclusions are open and found by text and by topic.
    for (const query of ['q=standards%20digital', 'topic=Children', 'status=concluded']) {
      const found = await system.ok(
        'GET',
        `/v1/plenary-meetings?${query}`,
        tokens.ICC!,
        undefined,
        readAfter,
      );
      expect(found.body.items).toEqual([
        expect.objectContaining({ id: meetingId, status: 'concluded', conclusions }),
      ]);
    }
    const none = await system.ok('GET', '/v1/plenary-meetings?q=Nightjar', secretariat, undefined, readAfter);
    expect(none.body.items).toEqual([]);

    // The participation report: the secretariat's has both sessions, the organisation's the open one.
    const full = await system.ok('GET', `${path}/participation`, secretariat, undefined, readAfter);
    expect(full.body.countries).toBe(4);
    const [openSession, closedSession] = full.body.sessions;
    expect(openSession).toMatchObject({ session: 'open', delegates: 4, attended: 3, countries: 3 });
    expect(openSession.byKind).toEqual([
      { kind: 'member-state', delegates: 1, attended: 1 },
      { kind: 'observer-state', delegates: 1, attended: 0 },
      { kind: 'guest-state', delegates: 1, attended: 1 },
      { kind: 'liaison-organisation', delegates: 1, attended: 1 },
    ]);
    expect(closedSession).toMatchObject({ session: 'closed', delegates: 3, attended: 2, countries: 3 });
    expect(closedSession.byCountry).toEqual([
      { country: 'DE', delegates: 1, attended: 0 },
      { country: 'FR', delegates: 1, attended: 1 },
      { country: 'NO', delegates: 1, attended: 1 },
    ]);
    const open = await system.ok('GET', `${path}/participation`, tokens.ICC!, undefined, readAfter);
    expect(open.body.sessions.map((session: { session: string }) => session.session)).toEqual(['open']);
    expect(open.body.countries).toBe(3);

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
    const contactPointId = (
      await system.ok('POST', '/v1/contact-points', tokens.FR!, {
        state: 'FR',
        fullName,
        email: 'ondine@justice.example',
        role: 'prosecutor',
        authority: 'War crimes unit',
        languages: ['fr'],
        primary: false,
      })
    ).body.id as string;
    const meetingId = (
      await system.ok('POST', '/v1/plenary-meetings', secretariat, {
        number: 40,
        title: '40th plenary meeting of the Genocide Network',
        theme: 'Delegates and their personal data',
        startsOn,
        endsOn,
        venue: 'Eurojust, The Hague',
        presidency: 'FR',
      })
    ).body.id as string;
    const path = `/v1/plenary-meetings/${meetingId}`;
    // The body's name is accepted for compatibility and ignored: the contact point's is the delegate's.
    const registered = await system.ok('POST', `${path}/delegates`, tokens.FR!, {
      session: 'closed',
      name: 'Not The Contact Point',
      contactPointId,
    });
    const organisations = await system.ok('POST', `${path}/delegates`, tokens.ICC!, {
      session: 'open',
      name: 'ICC delegation',
    });
    const readAfter = { 'focal-read-after': organisations.headers.get('focal-position')! };
    const delegatesAs = async (token: string) =>
      (await system.ok('GET', path, token, undefined, readAfter)).body.delegates as {
        id: string;
        name: string | null;
      }[];

    expect(await delegatesAs(tokens.FR!)).toEqual([
      expect.objectContaining({ id: registered.body.id, contactPointId, name: fullName }),
      expect.objectContaining({ id: organisations.body.id, name: 'ICC delegation' }),
    ]);
    expect(await delegatesAs(tokens.ICC!)).toEqual([
      expect.objectContaining({ id: organisations.body.id, name: 'ICC delegation' }),
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
    await system.ok('DELETE', `/v1/contact-points/${contactPointId}/personal-data`, secretariat);
    const afterErasure = await delegatesAs(secretariat);
    expect(afterErasure).toEqual([
      expect.objectContaining({ id: registered.body.id, contactPointId, name: null }),
      expect.objectContaining({ id: organisations.body.id, name: 'ICC delegation' }),
    ]);
    expect(JSON.stringify(afterErasure)).not.toMatch(/Ondine|Chiffr/);
  }, 60_000);
});
