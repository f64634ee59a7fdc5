import { randomUUID } from 'node:crypto';

import type { Actor } from '@focal/domain';
import { openPostgresEventStore, type EventStore } from '@focal/events';
import type { RunningService } from '@focal/service';

import { createTestDatabase, type TestDatabase } from '../../../test/support/postgres.js';
import {
  actors,
  failureOf,
  registerOrganisations,
  startDirectory,
  startMessaging,
  testClient,
  testConfig,
  testNamespace,
  type TestClient,
} from '../../../test/support/services.js';

/**
 * Plenary meetings over NATS: registrations decided on the directory's facts as messaging projects them,
 * idempotent by key and safe under concurrent registrations.
 */
describe('plenary meetings in the messaging service', () => {
  let db: TestDatabase;
  let directory: RunningService;
  let messaging: RunningService;
  let client: TestClient;
  let store: EventStore;
  const icc = randomUUID();
  const unitad = randomUUID();
  const gambia: Actor = { principal: 'gm-1', role: 'guest-state', state: 'GM' };
  const frenchContactPoint = randomUUID();
  const germanContactPoint = randomUUID();
  const retiredContactPoint = randomUUID();

  const registerContactPoint = (actor: Actor, contactPointId: string, state: string) =>
    client.send('focal.directory.contact-point.register', actor, {
      contactPointId,
      state,
      personal: { fullName: `Delegate ${state}`, email: `delegate@${state.toLowerCase()}.example` },
      primary: false,
      role: 'prosecutor',
      authority: 'War crimes unit',
      languages: ['en'],
      expertise: [],
    });

  const convene = (meetingId: string) =>
    client.send('focal.messaging.plenary-meeting.convene', actors.secretariat, {
      meetingId,
      number: 39,
      title: '39th plenary meeting',
      theme: 'Accountability for crimes against children',
      startsOn: '2031-05-12',
      endsOn: '2031-05-13',
      venue: 'Eurojust, The Hague',
      presidency: 'NL',
    });

  const register = (
    actor: Actor,
    meetingId: string,
    fields: { session: 'open' | 'closed'; contactPointId?: string; organisation?: string; state?: string },
    options: { idempotencyKey?: string } = {},
  ) =>
    client.send(
      'focal.messaging.plenary-meeting.register-delegate',
      actor,
      { meetingId, delegateId: randomUUID(), name: 'Delegate', ...fields },
      options,
    );

  beforeAll(async () => {
    db = await createTestDatabase('plenary');
    const config = testConfig(db.url, testNamespace('plenary'));
    directory = await startDirectory(config);
    messaging = await startMessaging(config);
    client = await testClient(config.natsNamespace!);
    store = await openPostgresEventStore({ connectionString: db.url });
    for (const [code, status] of [
      ['FR', 'member'],
      ['DE', 'member'],
      ['NO', 'observer'],
      ['GM', 'guest'],
    ] as const) {
      await client.send('focal.directory.state.admit', actors.secretariat, {
        code,
        name: code,
        status,
        effectiveFrom: '2002-06-13',
      });
    }
    await registerOrganisations(
      client,
      [
        [icc, 'ICC'],
        [unitad, 'UNITAD'],
      ],
      [unitad],
    );
    await registerContactPoint(actors.france, frenchContactPoint, 'FR');
    await registerContactPoint(actors.germany, germanContactPoint, 'DE');
    await registerContactPoint(actors.france, retiredContactPoint, 'FR');
    await client.send('focal.directory.contact-point.retire', actors.france, {
      contactPointId: retiredContactPoint,
      reason: 'moved to another post',
    });
  });

  afterAll(async () => {
    await client?.close();
    await messaging?.stop();
    await directory?.stop();
    await store?.close();
    await db?.drop();
  });

  it('registrations follow the directory: own, active contact points; organisations not suspended', async () => {
    const meetingId = randomUUID();
    await convene(meetingId);
    const own = await register(actors.france, meetingId, {
      session: 'closed',
      contactPointId: frenchContactPoint,
    });
    expect(own.version).toBe(2);
    // A state's delegate's name is its contact point's, personal data sealed in the directory: the plenary's
    // log never holds it, whatever name the command carried (SPEC §6).
    const [, registered] = await store.readStream(`plenary-meeting-${meetingId}`);
    expect(registered).toMatchObject({
      type: 'PlenaryDelegateRegistered',
      data: { contactPointId: frenchContactPoint, participant: 'state:FR' },
    });
    expect(registered!.data).not.toHaveProperty('name');
    expect(
      await failureOf(
        register(actors.france, meetingId, { session: 'open', contactPointId: germanContactPoint }),
      ),
    ).toMatchObject({ code: 'Forbidden', reason: 'plenary/own-contact-points-only' });
    expect(
      await failureOf(
        register(actors.france, meetingId, { session: 'open', contactPointId: retiredContactPoint }),
      ),
    ).toMatchObject({ code: 'RuleViolated', reason: 'plenary/contact-point-retired' });
    expect(
      await failureOf(register(actors.secretariat, meetingId, { session: 'open', organisation: unitad })),
    ).toMatchObject({ code: 'RuleViolated', reason: 'plenary/organisation-suspended' });
    const organisation: Actor = { principal: 'icc-1', role: 'liaison-organisation', organisation: icc };
    await register(organisation, meetingId, { session: 'open' });
    expect(await failureOf(register(organisation, meetingId, { session: 'closed' }))).toMatchObject({
      code: 'Forbidden',
      reason: 'plenary/closed-session-member-and-observer-states-only',
    });
    await register(gambia, meetingId, { session: 'open' });
    expect(await failureOf(register(gambia, meetingId, { session: 'closed' }))).toMatchObject({
      code: 'Forbidden',
    });

    // Attendance once the meeting has begun, conclusions once it has ended: each decided on the command's time.
    const delegateId = (await store.readStream(`plenary-meeting-${meetingId}`)).find(
      (event) => event.type === 'PlenaryDelegateRegistered',
    )!.data.delegateId as string;
    await client.send(
      'focal.messaging.plenary-meeting.record-attendance',
      actors.secretariat,
      { meetingId, delegateId },
      { at: '2031-05-12T09:00:00Z' },
    );
    await client.send(
      'focal.messaging.plenary-meeting.publish-conclusions',
      actors.secretariat,
      { meetingId, text: 'Conclusions', topics: ['children'] },
      { at: '2031-05-14T09:00:00Z' },
    );
    expect((await store.readStream(`plenary-meeting-${meetingId}`)).map((event) => event.type)).toEqual([
      'PlenaryMeetingConvened',
      'PlenaryDelegateRegistered',
      'PlenaryDelegateRegistered',
      'PlenaryDelegateRegistered',
      'PlenaryAttendanceRecorded',
      'PlenaryConclusionsPublished',
    ]);
  });

  it('a retry with the same key registers once and answers the same', async () => {
    const meetingId = randomUUID();
    await convene(meetingId);
    const fields = { meetingId, delegateId: randomUUID(), name: 'Delegate', session: 'open' as const };
    const send = () =>
      client.send(
        'focal.messaging.plenary-meeting.register-delegate',
        actors.germany,
        { ...fields, contactPointId: germanContactPoint },
        { idempotencyKey: `register-${meetingId}` },
      );
    const [first, second] = await Promise.all([send(), send()]);
    expect(second).toEqual(first);
    expect(await send()).toEqual(first);
    expect(await store.readStream(`plenary-meeting-${meetingId}`)).toHaveLength(2);
  });

  it('concurrent registrations of several states all land, with contiguous versions', async () => {
    const meetingId = randomUUID();
    await convene(meetingId);
    const results = await Promise.all([
      register(actors.france, meetingId, { session: 'open', contactPointId: frenchContactPoint }),
      register(actors.france, meetingId, { session: 'closed', contactPointId: frenchContactPoint }),
      register(actors.germany, meetingId, { session: 'open', contactPointId: germanContactPoint }),
      register(actors.germany, meetingId, { session: 'closed', contactPointId: germanContactPoint }),
      register(gambia, meetingId, { session: 'open' }),
    ]);
    expect(results.map((result) => result.version).sort()).toEqual([2, 3, 4, 5, 6]);
    const events = await store.readStream(`plenary-meeting-${meetingId}`);
    expect(events.map((event) => event.streamVersion)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
