import { randomUUID } from 'node:crypto';

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

const today = () => new Date().toISOString().slice(0, 10);

describe('messaging service over NATS, with directory facts from its own projection', () => {
  let db: TestDatabase;
  let directory: RunningService;
  let messaging: RunningService;
  let client: TestClient;
  let store: EventStore;
  const icc = randomUUID();
  const suspendedOrganisation = randomUUID();

  const admit = (code: string, status: 'member' | 'observer', effectiveFrom = '2002-06-13') =>
    client.send('focal.directory.state.admit', actors.secretariat, {
      code,
      name: code,
      status,
      effectiveFrom,
    });

  const requestMeeting = (
    actor: (typeof actors)[keyof typeof actors],
    overrides: Partial<Parameters<TestClient['send']>[2] & object> = {},
    requestId = randomUUID(),
  ) =>
    client.send('focal.messaging.meeting-request.request', actor, {
      requestId,
      subjectKind: 'case',
      title: 'Joint investigation on crimes committed in the region',
      summary: 'Coordination of witness hearings',
      confidentiality: 'open',
      proposedDates: ['2031-03-02'],
      invitedStates: ['DE'],
      invitedOrganisations: [],
      ...overrides,
    });

  beforeAll(async () => {
    db = await createTestDatabase('messaging');
    const config = testConfig(db.url, testNamespace('messaging'));
    directory = await startDirectory(config);
    messaging = await startMessaging(config);
    client = await testClient(config.natsNamespace!);
    store = await openPostgresEventStore({ connectionString: db.url });
    await admit('FR', 'member');
    await admit('DE', 'member');
    await admit('NL', 'member');
    await admit('NO', 'observer');
    await registerOrganisations(
      client,
      [
        [icc, 'ICC'],
        [suspendedOrganisation, 'XYZ'],
      ],
      [suspendedOrganisation],
    );
  });

  afterAll(async () => {
    await client?.close();
    await messaging?.stop();
    await directory?.stop();
    await store?.close();
    await db?.drop();
  });

  describe('ad hoc meeting requests', () => {
    it('requested, co-sponsored, refused to an observer, accepted and concluded', async () => {
      const requestId = randomUUID();
      const requested = await requestMeeting(actors.france, {}, requestId);
      expect(requested).toMatchObject({ streamId: `meeting-request-${requestId}`, version: 1 });
      await client.send('focal.messaging.meeting-request.co-sponsor', actors.germany, { requestId });
      const observer = await failureOf(
        client.send('focal.messaging.meeting-request.co-sponsor', actors.norway, { requestId }),
      );
      expect(observer).toMatchObject({ code: 'Forbidden', reason: 'meeting-request/member-states-only' });
      // A token that still says member-state: the directory's facts decide.
      const staleToken = { principal: 'no-2', role: 'member-state' as const, state: 'NO' };
      const refused = await failureOf(
        client.send('focal.messaging.meeting-request.co-sponsor', staleToken, { requestId }),
      );
      expect(refused.message).toMatch(/NO is an observer since 2002-06-13/);
      const twice = await failureOf(
        client.send('focal.messaging.meeting-request.co-sponsor', actors.germany, { requestId }),
      );
      expect(twice).toMatchObject({ code: 'Conflict', reason: 'meeting-request/already-sponsor' });
      const byState = await failureOf(
        client.send('focal.messaging.meeting-request.accept', actors.france, {
          requestId,
          scheduledFor: '2031-03-02T10:00:00Z',
          venue: 'Eurojust, The Hague',
        }),
      );
      expect(byState).toMatchObject({ code: 'Forbidden', reason: 'meeting-request/secretariat-only' });
      await client.send('focal.messaging.meeting-request.accept', actors.secretariat, {
        requestId,
        scheduledFor: '2031-03-02T10:00:00Z',
        venue: 'Eurojust, The Hague',
      });
      const conclude = { requestId, conclusions: 'Joint investigation team proposed' };
      // Not before the meeting was held: refused now, concluded on its scheduled day.
      const early = await failureOf(
        client.send('focal.messaging.meeting-request.conclude', actors.secretariat, conclude),
      );
      expect(early).toMatchObject({
        code: 'RuleViolated',
        reason: 'meeting-request/not-yet-held',
        message: expect.stringMatching(/conclude it on or after 2031-03-02/),
      });
      const concluded = await client.send(
        'focal.messaging.meeting-request.conclude',
        actors.secretariat,
        conclude,
        {
          at: '2031-03-02T17:00:00Z',
        },
      );
      expect(concluded.version).toBe(4);
      expect((await store.readStream(`meeting-request-${requestId}`)).map((event) => event.type)).toEqual([
        'AdHocMeetingRequested',
        'AdHocMeetingCoSponsored',
        'AdHocMeetingAccepted',
        'AdHocMeetingConcluded',
      ]);
    });

    it('withdrawn by the requester, declined and cancelled by the secretariat', async () => {
      const withdrawn = randomUUID();
      await requestMeeting(actors.france, {}, withdrawn);
      const notRequester = await failureOf(
        client.send('focal.messaging.meeting-request.withdraw', actors.germany, { requestId: withdrawn }),
      );
      expect(notRequester).toMatchObject({ code: 'Forbidden', reason: 'meeting-request/requesters-only' });
      await client.send('focal.messaging.meeting-request.withdraw', actors.france, { requestId: withdrawn });

      const declined = randomUUID();
      await requestMeeting(actors.germany, { invitedStates: [] }, declined);
      await client.send('focal.messaging.meeting-request.decline', actors.secretariat, {
        requestId: declined,
        reason: 'better handled at the plenary',
      });

      const cancelled = randomUUID();
      await requestMeeting(actors.netherlands, { invitedStates: [] }, cancelled);
      const early = await failureOf(
        client.send('focal.messaging.meeting-request.cancel', actors.secretariat, {
          requestId: cancelled,
          reason: 'x',
        }),
      );
      expect(early).toMatchObject({ code: 'RuleViolated', reason: 'meeting-request/lifecycle' });
      await client.send('focal.messaging.meeting-request.accept', actors.secretariat, {
        requestId: cancelled,
        scheduledFor: '2031-05-01T09:00:00Z',
        venue: 'online',
      });
      const done = await client.send('focal.messaging.meeting-request.cancel', actors.secretariat, {
        requestId: cancelled,
        reason: 'the requesting authority asked to postpone',
      });
      expect(done.version).toBe(3);
    });

    it('applies the rules that need directory facts: closed meetings, suspended organisations', async () => {
      const closedWithOrganisation = await failureOf(
        requestMeeting(actors.france, { confidentiality: 'closed', invitedOrganisations: [icc] }),
      );
      expect(closedWithOrganisation).toMatchObject({ code: 'RuleViolated' });
      const suspended = await failureOf(
        requestMeeting(actors.france, { invitedOrganisations: [suspendedOrganisation] }),
      );
      expect(suspended).toMatchObject({
        code: 'RuleViolated',
        reason: 'meeting-request/organisation-suspended',
      });
      // An id no registration made (a typo, another deployment's) would invite no one, for good.
      const nowhere = randomUUID();
      const unknown = await failureOf(
        requestMeeting(actors.france, { invitedOrganisations: [icc, nowhere] }),
      );
      expect(unknown).toMatchObject({
        code: 'RuleViolated',
        reason: 'meeting-request/unknown-organisation',
        message: expect.stringContaining(nowhere),
      });
      const invited = await requestMeeting(actors.france, { invitedOrganisations: [icc] });
      expect(invited.version).toBe(1);
      const past = await failureOf(requestMeeting(actors.france, { proposedDates: ['2001-01-01'] }));
      expect(past).toMatchObject({ code: 'Invalid', fields: { proposedDates: expect.any(String) } });
    });

    it("judges a state by the status in force on the command's date, not one recorded for later", async () => {
      const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      await admit('PT', 'member');
      await client.send('focal.directory.state.change-status', actors.secretariat, {
        code: 'PT',
        to: 'observer',
        effectiveFrom: tomorrow,
      });
      const portugal = { principal: 'pt-1', role: 'member-state' as const, state: 'PT' };
      expect((await requestMeeting(portugal, { invitedStates: [] })).version).toBe(1);
      const fromTomorrow = await failureOf(
        client.send(
          'focal.messaging.meeting-request.request',
          portugal,
          {
            requestId: randomUUID(),
            subjectKind: 'case',
            title: 'Joint investigation',
            summary: 'Witness hearings',
            confidentiality: 'open',
            proposedDates: ['2031-03-02'],
            invitedStates: [],
            invitedOrganisations: [],
          },
          { at: `${tomorrow}T08:00:00Z` },
        ),
      );
      expect(fromTomorrow).toMatchObject({
        code: 'Forbidden',
        reason: 'meeting-request/member-states-only',
        message: expect.stringContaining(`PT is an observer since ${tomorrow}`),
      });
    });

    it('decides on the directory as it stands when the command arrives, under concurrency', async () => {
      // Ten states at once, each flipped between member and observer ten times; after each flip a request
      // must be decided on the status just set, never on an older one.
      const codes = ['AT', 'BE', 'BG', 'CY', 'CZ', 'DK', 'EE', 'ES', 'HR', 'HU'];
      await Promise.all(codes.map((code) => admit(code, 'member', today())));
      const outcomes = await Promise.all(
        codes.map(async (code) => {
          const actor = { principal: `${code}-1`, role: 'member-state' as const, state: code };
          const seen: string[] = [];
          for (let round = 0; round < 10; round++) {
            const status = round % 2 === 0 ? 'observer' : 'member';
            await client.send('focal.directory.state.change-status', actors.secretariat, {
              code,
              to: status,
              effectiveFrom: today(),
            });
            const outcome = await requestMeeting(actor, { invitedStates: [] }).then(
              () => 'member',
              (error: { reason?: string }) =>
                error.reason === 'meeting-request/member-states-only' ? 'observer' : String(error.reason),
            );
            seen.push(`${status}:${outcome}`);
          }
          return seen;
        }),
      );
      for (const seen of outcomes) {
        for (const entry of seen) {
          const [status, outcome] = entry.split(':');
          expect(outcome).toBe(status);
        }
      }
    });
  });

  describe('threads', () => {
    it('an urgent H2 thread: opened, posted to, delivered and read; outsiders refused', async () => {
      const threadId = randomUUID();
      const messageId = randomUUID();
      await client.send('focal.messaging.thread.open', actors.france, {
        threadId,
        subject: 'Request for witness contact',
        visibility: 'restricted',
        participants: ['secretariat'],
        replyBy: '2031-01-01T12:00:00Z',
      });
      await client.send('focal.messaging.thread.post-message', actors.france, {
        threadId,
        messageId,
        body: 'Please confirm the hearing schedule.',
        handlingCode: 'H2',
        attachments: [{ name: 'schedule.pdf', sha256: 'a'.repeat(64), size: 1024 }],
      });
      await client.send('focal.messaging.thread.record-delivered', actors.secretariat, {
        threadId,
        messageId,
      });
      const read = await client.send('focal.messaging.thread.mark-read', actors.secretariat, {
        threadId,
        messageId,
      });
      expect(read.version).toBe(4);
      const outsider = await failureOf(
        client.send('focal.messaging.thread.post-message', actors.germany, {
          threadId,
          messageId: randomUUID(),
          body: 'hello',
          handlingCode: 'H0',
          attachments: [],
        }),
      );
      expect(outsider).toMatchObject({ code: expect.stringMatching(/Forbidden|NotFound/) });
      const events = await store.readStream(`thread-${threadId}`);
      expect(events.map((event) => event.type)).toEqual([
        'ThreadOpened',
        'MessagePosted',
        'MessageDelivered',
        'MessageRead',
      ]);
      expect(events[0]!.visibility).toEqual({
        level: 'restricted',
        participants: ['secretariat', 'state:FR'],
        closed: false,
      });
    });

    it('refuses a suspended organisation as a participant, and organisations in closed threads', async () => {
      const suspended = await failureOf(
        client.send('focal.messaging.thread.open', actors.secretariat, {
          threadId: randomUUID(),
          subject: 'Update',
          visibility: 'open',
          participants: [`organisation:${suspendedOrganisation}`],
        }),
      );
      expect(suspended).toMatchObject({ code: 'RuleViolated', reason: 'thread/organisation-suspended' });
      const unknown = await failureOf(
        client.send('focal.messaging.thread.open', actors.secretariat, {
          threadId: randomUUID(),
          subject: 'Update',
          visibility: 'open',
          participants: [`organisation:${randomUUID()}`],
        }),
      );
      expect(unknown).toMatchObject({ code: 'RuleViolated', reason: 'thread/unknown-organisation' });
      const closed = await failureOf(
        client.send('focal.messaging.thread.open', actors.secretariat, {
          threadId: randomUUID(),
          subject: 'Update',
          visibility: 'closed',
          participants: [`organisation:${icc}`],
        }),
      );
      expect(closed).toMatchObject({ code: 'RuleViolated', reason: 'thread/closed-no-organisations' });
    });
  });
});
