import { randomUUID } from 'node:crypto';

import { openPostgresEventStore, type EventStore } from '@focal/events';
import type { RunningService } from '@focal/service';

import { createTestDatabase, type TestDatabase } from './support/postgres.js';
import {
  actors,
  startDirectory,
  startMessaging,
  testClient,
  testConfig,
  testNamespace,
  type TestClient,
} from './support/services.js';

const personal = { fullName: 'Jan de Vries', email: 'j.devries@om.nl' };
const post = { role: 'investigator' as const, authority: 'Openbaar Ministerie', languages: ['nl'] };
const MEMBERS = ['AT', 'BE', 'BG', 'CY', 'CZ', 'DK', 'EE', 'ES', 'HR', 'HU'];

describe('two instances of each service in one queue group', () => {
  let db: TestDatabase;
  let services: { directory: RunningService[]; messaging: RunningService[] };
  let client: TestClient;
  let store: EventStore;

  beforeAll(async () => {
    db = await createTestDatabase('scale');
    const config = testConfig(db.url, testNamespace('scale'));
    // Each instance has its own connections, as separate processes would.
    services = {
      directory: await Promise.all([startDirectory(config), startDirectory(config)]),
      messaging: await Promise.all([startMessaging(config), startMessaging(config)]),
    };
    client = await testClient(config.natsNamespace!, { timeoutMs: 30_000 });
    store = await openPostgresEventStore({ connectionString: db.url });
    for (const code of ['NL', ...MEMBERS]) {
      await client.send('focal.directory.state.admit', actors.secretariat, {
        code,
        name: code,
        status: 'member',
        effectiveFrom: '2002-06-13',
      });
    }
  });

  afterAll(async () => {
    await client?.close();
    for (const service of [...(services?.directory ?? []), ...(services?.messaging ?? [])])
      await service.stop();
    await store?.close();
    await db?.drop();
  });

  it('share 1,000 concurrent commands with no duplicate effect, and keep every invariant', async () => {
    const contested = randomUUID();
    await client.send('focal.directory.contact-point.register', actors.netherlands, {
      contactPointId: contested,
      state: 'NL',
      personal,
      primary: false,
      expertise: [],
      ...post,
    });
    const meeting = randomUUID();
    await client.send('focal.messaging.meeting-request.request', actors.netherlands, {
      requestId: meeting,
      subjectKind: 'situation',
      title: 'Situation in the region',
      summary: 'Exchange on ongoing investigations',
      confidentiality: 'open',
      proposedDates: ['2031-06-01'],
      invitedStates: [],
      invitedOrganisations: [],
    });
    const handledBefore = [...services.directory, ...services.messaging].map((s) => s.host.handled);

    const registrations = Array.from({ length: 350 }, () => randomUUID());
    const requests = Array.from({ length: 350 }, () => randomUUID());
    type Outcome = { ok: true } | { ok: false; code: string; reason: string };
    const outcome = (work: Promise<unknown>): Promise<Outcome> =>
      work.then(
        () => ({ ok: true }),
        (error: { code: string; reason: string }) => ({ ok: false, code: error.code, reason: error.reason }),
      );
    const retried = registrations.slice(0, 100).map((id) => ({ id, key: randomUUID() }));
    const register = (contactPointId: string, idempotencyKey?: string) =>
      client.send(
        'focal.directory.contact-point.register',
        actors.netherlands,
        { contactPointId, state: 'NL', personal, primary: false, expertise: [], ...post },
        idempotencyKey ? { idempotencyKey } : {},
      );

    const work: Promise<Outcome>[] = [
      // 350 registrations, the first 100 sent twice at once under the same key: 450 commands.
      ...registrations.map((id, index) => outcome(register(id, retried[index]?.key))),
      ...retried.map(({ id, key }) => outcome(register(id, key))),
      // 100 conflicting changes to one contact point.
      ...Array.from({ length: 100 }, (_, index) =>
        outcome(
          client.send('focal.directory.contact-point.change-details', actors.netherlands, {
            contactPointId: contested,
            changes: { authority: `Openbaar Ministerie, team ${index}` },
            personalChanges: {},
          }),
        ),
      ),
      // 350 meeting requests, and 100 co-sponsorings of one request by ten states, ten times each.
      ...requests.map((requestId) =>
        outcome(
          client.send('focal.messaging.meeting-request.request', actors.netherlands, {
            requestId,
            subjectKind: 'topic',
            title: 'Topic',
            summary: 'Summary',
            confidentiality: 'closed',
            proposedDates: ['2031-06-01'],
            invitedStates: ['DE'],
            invitedOrganisations: [],
          }),
        ),
      ),
      ...Array.from({ length: 100 }, (_, index) => {
        const code = MEMBERS[index % MEMBERS.length]!;
        const actor = { principal: `${code}-${index}`, role: 'member-state' as const, state: code };
        return outcome(
          client.send('focal.messaging.meeting-request.co-sponsor', actor, { requestId: meeting }),
        );
      }),
    ];
    expect(work).toHaveLength(1_000);
    const outcomes = await Promise.all(work);

    // Every refusal is a coded domain refusal, never a failure of the service.
    const failures = outcomes.filter((o): o is Extract<Outcome, { ok: false }> => !o.ok);
    for (const failure of failures) {
      expect(['concurrent-change', 'meeting-request/already-sponsor']).toContain(failure.reason);
    }

    // No duplicate effect: one registration event per contact point, one request per meeting.
    for (const id of registrations) expect(await store.readStream(`contact-point-${id}`)).toHaveLength(1);
    for (const id of requests) expect(await store.readStream(`meeting-request-${id}`)).toHaveLength(1);

    // The contested contact point: contiguous versions, one event per accepted change.
    const contestedEvents = await store.readStream(`contact-point-${contested}`);
    expect(contestedEvents.map((event) => event.streamVersion)).toEqual(
      contestedEvents.map((_, index) => index + 1),
    );
    const changesAccepted = outcomes.slice(450, 550).filter((o) => o.ok).length;
    expect(contestedEvents).toHaveLength(1 + changesAccepted);
    expect(changesAccepted).toBeGreaterThan(0);

    // Each state co-sponsors once, however often it asks.
    const sponsors = (await store.readStream(`meeting-request-${meeting}`))
      .filter((event) => event.type === 'AdHocMeetingCoSponsored')
      .map((event) => (event.data as { state: string }).state);
    expect(sponsors.sort()).toEqual([...MEMBERS].sort());

    // The load was shared: every instance handled a fair part of its service's commands.
    const handled = [...services.directory, ...services.messaging].map(
      (s, i) => s.host.handled - handledBefore[i]!,
    );
    const [directoryA, directoryB, messagingA, messagingB] = handled as [number, number, number, number];
    expect(directoryA + directoryB).toBe(550);
    expect(messagingA + messagingB).toBe(450);
    for (const share of [directoryA / 550, directoryB / 550, messagingA / 450, messagingB / 450]) {
      expect(share).toBeGreaterThan(0.2);
    }
  });
});
