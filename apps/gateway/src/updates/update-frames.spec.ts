import { randomBytes, randomUUID } from 'node:crypto';

import { CONTACT_POINT_PERSONAL_FIELDS } from '@focal/contracts';
import type { Actor } from '@focal/domain';
import {
  LocalKeyring,
  PersonalDataCodec,
  PGliteDriver,
  SqlKeyStore,
  type JsonObject,
  type KeyStore,
  type RecordedEvent,
} from '@focal/events';
import { HTTP, type CloudEventV1 } from 'cloudevents';

import { PositionCursors } from '../http/position-cursors.js';
import { cloudEventSource, UpdateFrames } from './update-frames.js';

const recorded = (overrides: Partial<RecordedEvent>): RecordedEvent => ({
  eventId: randomUUID(),
  type: 'StateStatusChanged',
  schemaVersion: 1,
  streamId: 'state-FR',
  streamVersion: 3,
  globalPosition: '1150418944' as RecordedEvent['globalPosition'],
  recordedAt: new Date('2026-11-28T21:35:11.123Z'),
  visibility: { level: 'open' },
  data: { from: 'observer', to: 'member', effectiveFrom: '2026-12-01' },
  metadata: { actor: { principal: 'test', role: 'secretariat' }, correlationId: 'frames' },
  hash: '',
  previousHash: '',
  ...overrides,
});

/** As a CloudEvents receiver reads a structured-mode message: the SDK validates every attribute. */
const parse = (body: string) =>
  HTTP.toEvent({
    headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
    body,
  }) as CloudEventV1<unknown>;

const cursors = new PositionCursors(randomBytes(32));

describe('UpdateFrames', () => {
  let sql: PGliteDriver;
  let frames: UpdateFrames;
  let keys: SqlKeyStore;
  const organisation: Actor = { principal: 'o', role: 'liaison-organisation', organisation: randomUUID() };
  const secretariat: Actor = { principal: 's', role: 'secretariat' };

  beforeAll(async () => {
    sql = await PGliteDriver.open();
    keys = await SqlKeyStore.open(sql, LocalKeyring.parse(LocalKeyring.newLine('frames')));
    frames = new UpdateFrames(keys, cursors, cloudEventSource('eu-west'));
  });
  afterAll(() => sql.close());

  it('sends nothing of a closed meeting request to a guest state it invited, also from a log without the marker', async () => {
    const guest: Actor = { principal: 'g', role: 'guest-state', state: 'CH' };
    const observer: Actor = { principal: 'n', role: 'observer-state', state: 'CH' };
    const event = recorded({
      type: 'AdHocMeetingCoSponsored',
      streamId: `meeting-request-${randomUUID()}`,
      data: { state: 'DE' },
      visibility: { level: 'restricted', participants: ['state:CH', 'state:DE', 'state:FR'] },
    });
    expect(await frames.frameFor(event, guest)).toBeUndefined();
    expect(await frames.payloadFor(event, guest)).toBeUndefined();
    expect(await frames.frameFor(event, observer)).toBeDefined();
  });

  it("sends a liaison organisation's suspension to everyone, its reason only to those who may see closed fields", async () => {
    const guest: Actor = { principal: 'g', role: 'guest-state', state: 'SN' };
    const member: Actor = { principal: 'm', role: 'member-state', state: 'FR' };
    const event = recorded({
      type: 'LiaisonOrganisationSuspended',
      streamId: `liaison-organisation-${randomUUID()}`,
      data: { reason: 'under review by the secretariat' },
    });
    for (const viewer of [organisation, guest]) {
      const received = parse((await frames.payloadFor(event, viewer))!);
      expect(received).toMatchObject({ type: 'eu.focal.LiaisonOrganisationSuspended', streamversion: 3 });
      expect(received.data).toEqual({});
      expect(await frames.frameFor(event, viewer)).not.toContain('under review');
      expect(frames.frameAtHand(event, viewer)).not.toContain('under review');
    }
    for (const viewer of [member, secretariat]) {
      expect(parse((await frames.payloadFor(event, viewer))!).data).toEqual({
        reason: 'under review by the secretariat',
      });
    }
    // One recorded closed, before the reason was a closed field of an open event: the same.
    const recordedClosed = { ...event, eventId: randomUUID(), visibility: { level: 'closed' as const } };
    expect(parse((await frames.payloadFor(recordedClosed, guest))!).data).toEqual({});
  });

  it('asks whether a thread is closed for its events recorded before the marker, and only when it matters', async () => {
    const asked: string[] = [];
    const closedThreads = new Set(['closed-one']);
    const threadFrames = new UpdateFrames(keys, cursors, cloudEventSource(), async (id: string) => {
      asked.push(id);
      return id === 'unknown' ? undefined : closedThreads.has(id);
    });
    const guest: Actor = { principal: 'g', role: 'guest-state', state: 'US' };
    const member: Actor = { principal: 'm', role: 'member-state', state: 'FR' };
    const posted = (threadId: string) =>
      recorded({
        type: 'MessagePosted',
        streamId: `thread-${threadId}`,
        data: { messageId: randomUUID(), author: 'state:FR', body: 'x' },
        visibility: { level: 'restricted', participants: ['state:FR', 'state:US'] },
      });
    expect(await threadFrames.frameFor(posted('closed-one'), guest)).toBeUndefined();
    expect(await threadFrames.frameFor(posted('restricted-one'), guest)).toBeDefined();
    // Not in the read model yet: nothing that may be closed goes out meanwhile.
    expect(await threadFrames.frameFor(posted('unknown'), guest)).toBeUndefined();
    expect(asked).toEqual(['closed-one', 'restricted-one', 'unknown']);
    // A member participant sees a closed thread anyway: nothing to ask.
    expect(await threadFrames.frameFor(posted('closed-one'), member)).toBeDefined();
    expect(asked).toHaveLength(3);
    // An event recorded with the marker says it: a live event of a thread not projected yet goes out at once.
    const marked = { ...posted('unknown'), visibility: { ...posted('unknown').visibility, closed: false } };
    expect(await threadFrames.frameFor(marked, guest)).toBeDefined();
    expect(asked).toHaveLength(3);
  });

  it('sends each event as a CloudEvent in an unnamed frame, its id the position or, to who may not see every event, its cursor', async () => {
    const event = recorded({});
    const member: Actor = { principal: 'm', role: 'member-state', state: 'FR' };
    const cursor = cursors.cursorOf(event.globalPosition);
    expect(cursor).not.toContain('1150418944');
    for (const [viewer, id] of [
      [secretariat, '1150418944'],
      [member, cursor],
      [organisation, cursor],
    ] as const) {
      const frame = (await frames.frameFor(event, viewer))!;
      // No `event:` line: a standard EventSource's onmessage receives it.
      const [idLine, dataLine, ...rest] = frame.split('\n');
      expect(idLine).toBe(`id: ${id}`);
      expect(dataLine).toMatch(/^data: \{/);
      expect(rest).toEqual(['', '']);
      const cloudEvent = parse(dataLine!.slice('data: '.length));
      expect(cloudEvent).toMatchObject({
        specversion: '1.0',
        id,
        source: '/focal/eu-west',
        type: 'eu.focal.StateStatusChanged',
        subject: 'state-FR',
        time: '2026-11-28T21:35:11.123Z',
        datacontenttype: 'application/json',
        streamversion: 3,
        data: event.data,
      });
      // A webhook's body is the same CloudEvent.
      expect(await frames.payloadFor(event, viewer)).toBe(dataLine!.slice('data: '.length));
    }
    expect(cloudEventSource()).toBe('/focal');
  });

  it('sends nothing of an event the viewer may not see', async () => {
    const restricted = recorded({
      type: 'ThreadOpened',
      streamId: `thread-${randomUUID()}`,
      visibility: { level: 'restricted', participants: ['secretariat', 'state:FR'] },
      data: { subject: 'Suspect travelling' },
    });
    expect(await frames.frameFor(restricted, organisation)).toBeUndefined();
    expect(await frames.payloadFor(restricted, organisation)).toBeUndefined();
    expect(parse((await frames.payloadFor(restricted, secretariat))!).data).toEqual({
      subject: 'Suspect travelling',
    });
  });

  it('decrypts an event with personal data once for the subscribers asking at once, and keeps nothing after', async () => {
    let lookUps = 0;
    const counted: KeyStore = Object.assign(Object.create(keys) as SqlKeyStore, {
      find: (subject: string) => {
        lookUps++;
        return keys.find(subject);
      },
      findMany: (subjects: string[]) => {
        lookUps++;
        return keys.findMany(subjects);
      },
    });
    const personalFrames = new UpdateFrames(counted, cursors, cloudEventSource('eu-west'));
    const registered = async (personal: JsonObject) => {
      const id = randomUUID();
      const streamId = `contact-point-${id}`;
      const [data] = await new PersonalDataCodec(keys, CONTACT_POINT_PERSONAL_FIELDS).encode(streamId, [
        { type: 'ContactPointRegistered', data: { state: 'FR', personal }, visibility: { level: 'open' } },
      ] as never);
      return {
        id,
        event: recorded({ type: 'ContactPointRegistered', streamId, streamVersion: 1, data: data! }),
      };
    };
    const personal = { fullName: 'Hélène Dupont', email: 'helene.dupont@justice.gouv.fr' };
    const { id, event } = await registered(personal);
    const other = await registered({ fullName: 'Marc Petit', email: 'marc.petit@pnat.example' });
    const member: Actor = { principal: 'm', role: 'member-state', state: 'FR' };
    const personalOf = (frame: string | null | undefined) =>
      (parse(frame!.split('\n')[1]!.slice('data: '.length)).data as { personal: JsonObject }).personal;

    const asked = await Promise.all(
      [member, organisation, member, organisation].map((v) => frames.frameFor(event, v)),
    );
    expect(asked.map(personalOf)).toEqual([
      personal,
      { fullName: 'Hélène Dupont' },
      personal,
      { fullName: 'Hélène Dupont' },
    ]);
    const together = await Promise.all(
      [member, organisation, member, organisation].map((viewer) => personalFrames.frameFor(event, viewer)),
    );
    expect(together).toEqual(asked);
    expect(lookUps).toBe(1);

    // Not at hand until prepared (it needs the key), at hand while prepared, gone once let go.
    expect(personalFrames.frameAtHand(event, member)).toBeUndefined();
    // The keys of every subject prepared at once in one look-up.
    const letGo = await personalFrames.prepare([event, recorded({}), other.event]);
    expect(lookUps).toBe(2);
    expect(personalOf(personalFrames.frameAtHand(event, member))).toEqual(personal);
    expect(personalOf(personalFrames.frameAtHand(other.event, organisation))).toEqual({
      fullName: 'Marc Petit',
    });
    expect(personalOf(personalFrames.frameAtHand(event, organisation))).toEqual({
      fullName: 'Hélène Dupont',
    });
    letGo();
    expect(personalFrames.frameAtHand(event, member)).toBeUndefined();

    // A page of a stream behind the tail: what the viewer may see, decrypted with one look-up, for it alone.
    const closedChange = {
      ...(await registered({ email: 'h.dupont@justice.gouv.fr' })).event,
      type: 'ContactPointDetailsChanged',
      visibility: { level: 'closed' as const },
    };
    const page = await personalFrames.decryptFor(
      [event, recorded({}), closedChange, other.event],
      organisation,
    );
    expect(lookUps).toBe(3);
    expect([...page.keys()]).toEqual([event, other.event]);
    expect(personalOf(personalFrames.frameAtHand(event, organisation, page))).toEqual({
      fullName: 'Hélène Dupont',
    });
    expect(personalFrames.frameAtHand(closedChange, organisation, page)).toBeNull();
    expect(personalFrames.frameAtHand(event, member)).toBeUndefined();

    // Erased: the next ask looks the key up again and finds none.
    await keys.destroy(id);
    expect(personalOf(await personalFrames.frameFor(event, member))).toEqual({ erased: true });
    expect(lookUps).toBe(4);
  });
});
