import { randomUUID } from 'node:crypto';

import { PGlite } from '@electric-sql/pglite';
import {
  DomainError,
  meetingRequestDecider,
  meetingRequestStreamId,
  type Actor,
  type MeetingRequestCommand,
} from '@focal/domain';

import { testKeyring } from '../../../test/support/secrets.js';
import {
  handleCommand,
  PersonalDataCodec,
  PGliteDriver,
  SqlEventStore,
  SqlKeyStore,
  type CommandContext,
  type EventStore,
} from '../src/index.js';

// handleCommand against a real store and a real decider (ad hoc meeting requests, whose closed ones do not exist
// for those outside them): what If-Match answers must not tell who may not see a stream that it exists.
const AT = '2026-11-22T10:00:00.000Z';
const member = { actorStateStatus: 'member', actorStateStatusSince: '2002-06-13' } as const;
const FR: Actor = { principal: 'fr-1', role: 'member-state', state: 'FR' };
const NL: Actor = { principal: 'nl-1', role: 'member-state', state: 'NL' };
const DE: Actor = { principal: 'de-1', role: 'member-state', state: 'DE' };
const IT: Actor = { principal: 'it-1', role: 'member-state', state: 'IT' };
const ICC: Actor = {
  principal: 'icc-1',
  role: 'liaison-organisation',
  organisation: '0b5e3c4e-4e0f-4b47-9a43-6f8f6c5b2a11',
};
const GUEST: Actor = { principal: 'gm-1', role: 'guest-state', state: 'GM' };

let db: PGlite;
let driver: PGliteDriver;
let store: SqlEventStore;
beforeAll(async () => {
  db = await PGlite.create();
  driver = new PGliteDriver(db);
  store = await SqlEventStore.open(driver);
});
afterAll(() => db.close());

const context = (actor: Actor, expectedVersion?: number): CommandContext => ({
  metadata: { actor, correlationId: randomUUID() },
  idempotencyKey: randomUUID(),
  fingerprint: randomUUID(),
  ...(expectedVersion !== undefined ? { expectedVersion } : {}),
});

/** FR requests a meeting (closed: it invites NL only; open: anyone may see it); answers its id. */
async function requested(
  confidentiality: 'open' | 'closed',
  expectedVersion?: number,
  requestId = randomUUID(),
): Promise<string> {
  await handleCommand(
    { store },
    meetingRequestDecider,
    meetingRequestStreamId(requestId),
    {
      type: 'RequestAdHocMeeting',
      actor: FR,
      at: AT,
      requestId,
      facts: { ...member, suspendedOrganisations: [], guestStates: [] },
      subjectKind: 'situation',
      title: 'Crimes against the Yazidi',
      summary: 'Coordination of structural investigations',
      confidentiality,
      proposedDates: ['2027-02-10'],
      invitedStates: ['NL'],
      invitedOrganisations: [],
    },
    context(FR, expectedVersion),
  );
  return requestId;
}

const coSponsor = (requestId: string, actor: Actor, expectedVersion?: number) =>
  handleCommand(
    { store },
    meetingRequestDecider,
    meetingRequestStreamId(requestId),
    {
      type: 'CoSponsorAdHocMeeting',
      actor,
      at: AT,
      requestId,
      facts: actor.role === 'member-state' ? member : {},
    } satisfies MeetingRequestCommand,
    context(actor, expectedVersion),
  );

/** The refusal as a caller sees it, with the request's id taken out so that two requests can be compared. */
async function refusal(attempt: Promise<unknown>, requestId: string) {
  const error = await attempt.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DomainError);
  const { code, reason, message } = error as DomainError;
  return { code, reason, message: message.replaceAll(requestId, '<id>') };
}

describe('handleCommand and If-Match', () => {
  it.each([
    ['a state it does not invite', IT],
    ['a liaison organisation', ICC],
    ['a guest state', GUEST],
  ])(
    'answers %s on a closed request exactly as on no request at all, whatever the If-Match',
    async (_who, actor) => {
      const closed = await requested('closed');
      const nowhere = randomUUID();
      for (const expectedVersion of [undefined, 0, 1, 99]) {
        const onClosed = await refusal(coSponsor(closed, actor, expectedVersion), closed);
        const onNothing = await refusal(coSponsor(nowhere, actor, expectedVersion), nowhere);
        expect(onClosed).toEqual(onNothing);
        expect(onClosed.code).toBe('NotFound');
      }
    },
  );

  it('refuses with a stale If-Match (412) one whom the decider would let act, without naming the version', async () => {
    const closed = await requested('closed');
    const refused = await refusal(coSponsor(closed, NL, 99), closed);
    expect(refused.reason).toBe('version-mismatch');
    expect(refused.message).toContain('99');
    // The current version (1) is not stated: a caller may be allowed to act and not to count every event.
    expect(refused.message).not.toMatch(/\b1\b/);
    expect((await store.readStream(meetingRequestStreamId(closed))).length).toBe(1);
  });

  it('refuses an If-Match on a command that opens its stream, saying the stream does not exist yet', async () => {
    const requestId = randomUUID();
    const refused = await refusal(requested('open', 3, requestId), requestId);
    expect(refused).toEqual({
      code: 'Conflict',
      reason: 'version-mismatch',
      message:
        'meeting-request-<id> does not exist yet, so it cannot be at version 3: send the command without If-Match to create it',
    });
    expect(await store.readStream(meetingRequestStreamId(requestId))).toEqual([]);
  });

  it('acts with the current If-Match', async () => {
    const closed = await requested('closed');
    const result = await coSponsor(closed, NL, 1);
    expect(result.version).toBe(2);
  });

  it('answers a forbidden caller as such before its stale If-Match', async () => {
    // An open request is visible to all; a guest state may still not co-sponsor it.
    const openRequest = await requested('open');
    const refused = await refusal(coSponsor(openRequest, GUEST, 99), openRequest);
    expect(refused.reason).toBe('meeting-request/member-states-only');
  });

  it('answers a stale If-Match before a business rule on a visible request (precondition first)', async () => {
    // DE co-sponsors; a second attempt by DE breaks a rule (already a sponsor), but with a stale If-Match the
    // caller decided on an old version: 412 tells them to read again, as for any other visible item.
    const openRequest = await requested('open');
    await coSponsor(openRequest, DE);
    const stale = await refusal(coSponsor(openRequest, DE, 1), openRequest);
    expect(stale.reason).toBe('version-mismatch');
    const current = await refusal(coSponsor(openRequest, DE, 2), openRequest);
    expect(current.reason).toBe('meeting-request/already-sponsor');
  });
});

describe('handleCommand and a command that opens its stream', () => {
  /** The store, counting the streams it is asked to read. */
  const counting = () => {
    const reads: string[] = [];
    const counted = new Proxy(store, {
      get: (target, name, receiver) =>
        name === 'readStream'
          ? (streamId: string) => (reads.push(streamId), target.readStream(streamId))
          : (Reflect.get(target, name, receiver) as unknown),
    }) as EventStore;
    return { store: counted, reads };
  };
  type Standing = { actorStateStatus: 'member' | 'observer'; actorStateStatusSince: string };
  const request = (requestId: string, facts: Standing = member): MeetingRequestCommand => ({
    type: 'RequestAdHocMeeting',
    actor: FR,
    at: AT,
    requestId,
    facts: { ...facts, suspendedOrganisations: [], guestStates: [] },
    subjectKind: 'situation',
    title: 'Crimes against the Yazidi',
    summary: 'Coordination of structural investigations',
    confidentiality: 'open',
    proposedDates: ['2027-02-10'],
    invitedStates: ['NL'],
    invitedOrganisations: [],
  });

  it('is decided without reading the stream, the store proving it new', async () => {
    const { store: counted, reads } = counting();
    const requestId = randomUUID();
    const result = await handleCommand(
      { store: counted },
      meetingRequestDecider,
      meetingRequestStreamId(requestId),
      request(requestId),
      context(FR),
    );
    expect(reads).toEqual([]);
    expect(result.version).toBe(1);
    expect(result.appended).toHaveLength(1);
  });

  it('answers a retry with its first result and appends nothing, even when its facts changed since', async () => {
    const requestId = randomUUID();
    const streamId = meetingRequestStreamId(requestId);
    const once = context(FR);
    const first = await handleCommand({ store }, meetingRequestDecider, streamId, request(requestId), once);
    // A client's retry: the same key and command in a new request (its own correlation id).
    const retry = { ...once, metadata: { ...once.metadata, correlationId: randomUUID() } };
    const { store: counted, reads } = counting();
    const again = await handleCommand(
      { store: counted },
      meetingRequestDecider,
      streamId,
      request(requestId),
      retry,
    );
    expect(again).toEqual({ ...first, appended: [] });
    expect(reads.length).toBeGreaterThan(0);
    // The very same envelope again (a resend after a lost reply): the store takes it as the append it already
    // holds, the same events at the same places.
    const resent = await handleCommand({ store }, meetingRequestDecider, streamId, request(requestId), once);
    expect(resent).toEqual(first);
    // FR an observer since: on the initial state the decider refuses, but the command took effect before.
    const observer = { actorStateStatus: 'observer', actorStateStatusSince: '2026-11-01' } as const;
    const later = await handleCommand(
      { store },
      meetingRequestDecider,
      streamId,
      request(requestId, observer),
      once,
    );
    expect(later).toEqual({ ...first, appended: [] });
    expect(await store.readStream(streamId)).toHaveLength(1);
  });

  it('keeps the fingerprint of a command with personal data under its key, comparable until the erasure and never after', async () => {
    const keys = await SqlKeyStore.open(driver, testKeyring, { logInSameDatabase: true });
    // The summary stands in for a personal field: encrypted under the request's own key.
    const codec = new PersonalDataCodec(keys, {
      fields: { AdHocMeetingRequested: 'summary' },
      subjectOf: (streamId) => streamId.replace(/^meeting-request-/, ''),
    });
    const requestId = randomUUID();
    const streamId = meetingRequestStreamId(requestId);
    const once = context(FR);
    const first = await handleCommand(
      { store, codec },
      meetingRequestDecider,
      streamId,
      request(requestId),
      once,
    );
    // A plain hash of the command in the log would confirm a guess of the personal data it carried, even
    // after the erasure: it is an HMAC under the data key.
    const [stored] = await store.readStream(streamId);
    const kept = stored!.metadata.commandFingerprint!;
    expect(kept).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(kept).not.toContain(once.fingerprint);
    const retry = { ...once, metadata: { ...once.metadata, correlationId: randomUUID() } };
    const another = { ...retry, fingerprint: randomUUID() };
    const handle = (commandContext: CommandContext) =>
      handleCommand({ store, codec }, meetingRequestDecider, streamId, request(requestId), commandContext);

    // While the key lives: a retry gets the first result, another command with the same key is refused.
    expect(await handle(retry)).toEqual({ ...first, appended: [] });
    expect((await refusal(handle(another), requestId)).reason).toBe('idempotency-key-reused');

    // Once the key is destroyed the fingerprint cannot be compared: every command with that key gets the first
    // result, so the answer tells nothing of what the erased command held.
    await keys.destroy(requestId);
    expect(await handle(retry)).toEqual({ ...first, appended: [] });
    expect(await handle(another)).toEqual({ ...first, appended: [] });
    // The command's type is no personal data: another command with that key is still refused.
    const withdraw = await refusal(
      handleCommand(
        { store, codec },
        meetingRequestDecider,
        streamId,
        { type: 'WithdrawAdHocMeeting', actor: FR, at: AT, requestId },
        retry,
      ),
      requestId,
    );
    expect(withdraw.reason).toBe('idempotency-key-reused');
    expect(await store.readStream(streamId)).toHaveLength(1);
  });

  it('keeps the plain fingerprint of a command on a stream without personal data', async () => {
    const requestId = randomUUID();
    const streamId = meetingRequestStreamId(requestId);
    const once = context(FR);
    await handleCommand({ store }, meetingRequestDecider, streamId, request(requestId), once);
    const [stored] = await store.readStream(streamId);
    expect(stored!.metadata.commandFingerprint).toBe(once.fingerprint);
  });

  it('refuses the same key with another command, and another command on a stream that exists, as after a read', async () => {
    const requestId = randomUUID();
    const streamId = meetingRequestStreamId(requestId);
    const once = context(FR);
    await handleCommand({ store }, meetingRequestDecider, streamId, request(requestId), once);
    const reused = await refusal(
      handleCommand({ store }, meetingRequestDecider, streamId, request(requestId), {
        ...once,
        fingerprint: randomUUID(),
      }),
      requestId,
    );
    expect(reused.reason).toBe('idempotency-key-reused');
    const twice = await refusal(
      handleCommand({ store }, meetingRequestDecider, streamId, request(requestId), context(FR)),
      requestId,
    );
    expect(twice.code).toBe('Conflict');
    expect(await store.readStream(streamId)).toHaveLength(1);
  });

  it('lets one of several racing openings of the same stream through', async () => {
    const requestId = randomUUID();
    const streamId = meetingRequestStreamId(requestId);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 6 }, () =>
        handleCommand({ store }, meetingRequestDecider, streamId, request(requestId), context(FR)),
      ),
    );
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect((outcome.reason as DomainError).code).toBe('Conflict');
    }
    expect(await store.readStream(streamId)).toHaveLength(1);
  });
});
