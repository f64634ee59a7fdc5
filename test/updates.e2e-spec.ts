import { randomUUID } from 'node:crypto';
import { once } from 'node:events';

import { maySee, type Actor, type Visibility } from '@focal/domain';
import type { NewEvent, RecordedEvent } from '@focal/events';
import { EventSource } from 'eventsource';
import { decodeJwt } from 'jose';

import { signToken } from '../apps/gateway/src/auth/authenticator.js';
import { DEFAULT_ABUSE_LIMITS } from '../apps/gateway/src/http/abuse.js';
import { parseCloudEvent } from './support/cloud-events.js';
import {
  cloudEventOf,
  openEventSource,
  subscribe,
  typeOf,
  unreadSubscription,
  type SseFrame,
} from './support/sse.js';
import { startSystem, STORES, type TestSystem } from './support/system.js';
import { testSecrets } from './support/secrets.js';
import { until } from './support/until.js';

const metadata = {
  actor: { principal: 'test', role: 'secretariat' as const },
  correlationId: 'updates-test',
};

/** Events written straight to the store, as the services would: open, closed, or restricted to others. */
function syntheticEvent(kind: 'open' | 'closed' | 'restricted', size = 0): NewEvent {
  const visibility: Visibility =
    kind === 'open'
      ? { level: 'open' }
      : kind === 'closed'
        ? { level: 'closed' }
        : { level: 'restricted', participants: ['secretariat', 'state:FR'] };
  return {
    eventId: randomUUID(),
    type:
      kind === 'restricted'
        ? 'MessageRead'
        : kind === 'closed'
          ? 'PlenaryAgendaItemAdded'
          : 'StateStatusChanged',
    data:
      kind === 'restricted'
        ? { messageId: randomUUID(), reader: 'secretariat' }
        : { padding: 'x'.repeat(size), kind },
    metadata,
    visibility,
  };
}

/** The chunks of an HTTP/1.1 response with chunked transfer encoding, as far as they came whole. */
function chunksOf(response: string): string[] {
  let rest = response.slice(response.indexOf('\r\n\r\n') + 4);
  const chunks: string[] = [];
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = lineEnd < 0 ? 0 : parseInt(rest.slice(0, lineEnd), 16);
    if (!size || rest.length < lineEnd + 2 + size) return chunks;
    chunks.push(rest.slice(lineEnd + 2, lineEnd + 2 + size));
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}

/** The body of an HTTP/1.1 response with chunked transfer encoding, headers dropped. */
function dechunk(response: string): string {
  let rest = response.slice(response.indexOf('\r\n\r\n') + 4);
  let body = '';
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (!size) return body;
    body += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}

describe.each(STORES)('GET /v1/updates (Server-Sent Events) (%s store)', (store) => {
  let system: TestSystem;
  /** The positions the frames' ids name (the ids themselves, or cursors for who may not see every event). */
  const positions = (frames: SseFrame[]) =>
    frames.filter((frame) => frame.id).map((frame) => system.positionOf(frame.id)!);
  /** The id `role` is given for `position`, to resume after it. */
  const idFor = (role: string, position: string) =>
    role === 'secretariat' || role === 'auditor' ? position : system.cursorOf(position);
  let secretariat: string;
  let icc: string;
  let iccId: string;
  const viewers: Record<string, Actor> = {};

  let lastAppended: string | undefined;
  const append = async (kinds: ('open' | 'closed' | 'restricted')[], size = 0) => {
    for (let start = 0; start < kinds.length; start += 50) {
      const { lastPosition } = await system.persistence.store.append(
        `thread-${randomUUID()}`,
        kinds.slice(start, start + 50).map((kind) => syntheticEvent(kind, size)),
        { expectedVersion: 'no-stream' },
      );
      if (
        !lastAppended ||
        system.persistence.store.comparePositions(lastPosition, lastAppended as never) > 0
      ) {
        lastAppended = lastPosition;
      }
    }
  };
  /**
   * What `viewer` may see of the log after `after`, up to the last event appended, in order: the truth each
   * stream is held to. (Reads wait for every append to be readable: an older transaction still open elsewhere
   * can hold the newest events back for a moment.)
   */
  const visibleAfter = async (viewer: Actor, after: string) => {
    const seen: RecordedEvent[] = [];
    const store = system.persistence.store;
    let cursor = store.parsePosition(after);
    for (;;) {
      const page = await store.readAll({ after: cursor, limit: 10_000 });
      if (page.length === 0) {
        if (lastAppended && store.comparePositions(cursor, lastAppended as never) < 0) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          continue;
        }
        return seen.map((event) => event.globalPosition as string);
      }
      seen.push(...page.filter((event) => maySee(viewer, event.visibility as Visibility)));
      cursor = page.at(-1)!.globalPosition;
    }
  };

  beforeAll(async () => {
    system = await startSystem(store, 'updates', {
      sseMaxBufferedBytes: 64 * 1024,
      sseHeartbeatMs: 500,
      sseStallMs: 2_000,
      // 200 concurrent subscribers share five principals here: 40 streams each, above the default 30 a minute.
      abuseLimits: { ...DEFAULT_ABUSE_LIMITS, streamOpensPerMinute: 1_000 },
    });
    secretariat = await system.token({ role: 'secretariat' });
    for (const code of ['FR', 'DE']) {
      await system.call('PUT', `/v1/states/${code}`, {
        token: secretariat,
        body: { name: code, status: 'member', effectiveFrom: '2002-06-13' },
      });
    }
    const created = await system.call('POST', '/v1/liaison-organisations', {
      token: secretariat,
      body: { name: 'International Criminal Court', acronym: 'ICC', kind: 'international-court' },
    });
    iccId = created.body.id;
    icc = await system.token({ role: 'liaison-organisation', organisation: iccId, principal: 'icc-1' });
    Object.assign(viewers, {
      secretariat: { principal: 's', role: 'secretariat' },
      auditor: { principal: 'a', role: 'auditor' },
      france: { principal: 'f', role: 'member-state', state: 'FR' },
      germany: { principal: 'd', role: 'member-state', state: 'DE' },
      icc: { principal: 'icc-1', role: 'liaison-organisation', organisation: iccId },
    });
  });
  afterAll(() => system?.stop());

  it('a liaison organisation resumes with Last-Event-ID and gets exactly the missed open events, in order, once', async () => {
    const first = await subscribe(`${system.url}/v1/updates`, icc);
    expect(first.status).toBe(200);
    await append(['open']);
    await first.waitFor((frames) => positions(frames).length === 1);
    const lastSeen = positions(first.frames)[0]!;
    // An unnamed frame (a standard EventSource's `message`) whose data is a CloudEvent, its id the position's
    // cursor: the organisation may not see every event, and two positions would count those between them.
    expect(first.frames[0]!.event).toBeUndefined();
    expect(first.frames[0]!.id).toBe(system.cursorOf(lastSeen));
    expect(cloudEventOf(first.frames[0]!)).toMatchObject({
      specversion: '1.0',
      id: system.cursorOf(lastSeen),
      source: expect.stringMatching(/^\/focal\/t_updates_/),
      type: 'eu.focal.StateStatusChanged',
      subject: expect.stringMatching(/^thread-/),
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      datacontenttype: 'application/json',
      streamversion: 1,
      data: { kind: 'open' },
    });
    first.close();

    // 100 missed events: open, closed and restricted to others, mixed.
    await append(Array.from({ length: 100 }, (_, i) => (['open', 'closed', 'restricted'] as const)[i % 3]!));
    const expected = await visibleAfter(viewers.icc!, lastSeen);
    expect(expected).toHaveLength(34);

    const resumed = await subscribe(`${system.url}/v1/updates`, icc, {
      'last-event-id': system.cursorOf(lastSeen),
    });
    await resumed.waitFor((frames) => positions(frames).length >= expected.length);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(positions(resumed.frames)).toEqual(expected);
    for (const frame of resumed.frames.filter((f) => f.id)) expect(typeOf(frame)).toBe('StateStatusChanged');
    resumed.close();
  });

  it('200 concurrent subscribers of mixed roles during a burst of 2,000 events each get exactly what they may see', async () => {
    const head = (await system.persistence.store.headPosition())!;
    const roles = ['secretariat', 'auditor', 'france', 'germany', 'icc'] as const;
    const tokens = {
      secretariat,
      auditor: await system.token({ role: 'auditor' }),
      france: await system.token({ role: 'member-state', state: 'FR' }),
      germany: await system.token({ role: 'member-state', state: 'DE' }),
      icc,
    };
    const clients = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        subscribe(`${system.url}/v1/updates`, tokens[roles[i % roles.length]!], {
          'last-event-id': idFor(roles[i % roles.length]!, head),
        }),
      ),
    );
    const burst = Array.from(
      { length: 2_000 },
      (_, i) => (['open', 'closed', 'restricted'] as const)[(i * 7) % 3]!,
    );
    await Promise.all([0, 1, 2, 3].map((part) => append(burst.slice(part * 500, part * 500 + 500))));

    const expected = Object.fromEntries(
      await Promise.all(roles.map(async (role) => [role, await visibleAfter(viewers[role]!, head)] as const)),
    );
    await Promise.all(
      clients.map((client, i) =>
        client.waitFor(
          (frames) => positions(frames).length >= expected[roles[i % roles.length]!]!.length,
          60_000,
        ),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    clients.forEach((client, i) => {
      expect(positions(client.frames)).toEqual(expected[roles[i % roles.length]!]);
      client.close();
    });
    expect(expected.icc!.length).toBeLessThan(expected.france!.length);
    expect(expected.germany!.length).toBeLessThan(expected.france!.length);
    expect(expected.france).toEqual(expected.secretariat);
  });

  it('a subscriber that reads nothing is cut off at the bound; resuming from the named position loses nothing', async () => {
    const head = (await system.persistence.store.headPosition())!;
    const socket = await unreadSubscription(system.url, secretariat, head);
    await append(
      Array.from({ length: 600 }, () => 'open' as const),
      20_000,
    );
    const last = (await system.persistence.store.headPosition())!;
    const deadline = Date.now() + 30_000;
    while (!/focal_sse_overflows_total 1/.test(await system.metrics())) {
      if (Date.now() > deadline) {
        const m = await system.metrics();
        throw new Error(
          `the stream was never cut off: ${m
            .split('\n')
            .filter((l) => l.startsWith('focal_sse'))
            .join(' ')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.resume();
    await once(socket, 'end');
    socket.destroy();
    const text = dechunk(Buffer.concat(chunks).toString());
    const overflow = /event: overflow\ndata: (.*)\n\n$/.exec(text);
    expect(overflow).not.toBeNull();
    const { resumeFrom } = JSON.parse(overflow![1]!) as { resumeFrom: string };
    // Events, then the overflow frame, whose id is where to resume: an EventSource reconnects from it.
    const ids = [...text.matchAll(/^id: (\S+)$/gm)].map((match) => match[1]!);
    expect(ids.at(-1)).toBe(resumeFrom);
    const received = ids.slice(0, -1);
    expect(received.at(-1)).toBe(resumeFrom);
    expect(received.length).toBeLessThan(600);

    const rest = await subscribe(`${system.url}/v1/updates`, secretariat, { 'last-event-id': resumeFrom });
    await rest.waitFor((frames) => positions(frames).at(-1) === last, 30_000);
    rest.close();
    expect([...received, ...positions(rest.frames)]).toEqual(await visibleAfter(viewers.secretariat!, head));
  });

  it('writes a replay when it is caught up or large, never page by page: no write tells how many of a page were hidden', async () => {
    const head = (await system.persistence.store.headPosition())!;
    // Three pages of the log (1,100 events), one in ten open: the organisation's replay is 110 small frames.
    await append(Array.from({ length: 1_100 }, (_, i) => (i % 10 === 0 ? 'open' : 'closed')));
    // Every event in the gateway's tail first: a replay that met the tail's end would rightly be written there.
    const all = await subscribe(`${system.url}/v1/updates`, secretariat, { 'last-event-id': head });
    await all.waitFor((frames) => positions(frames).includes(lastAppended!), 30_000);
    all.close();
    const socket = await unreadSubscription(system.url, icc, system.cursorOf(head));
    let response = '';
    socket.on('data', (chunk: Buffer) => (response += chunk.toString()));
    socket.resume();
    await until(() => (response.match(/^id: /gm) ?? []).length >= 110, 'the replay');
    socket.destroy();
    // One write of all 110 after `: connected` (one per page of 500 would say 450 of each were hidden).
    const withFrames = chunksOf(response).filter((chunk) => chunk.includes('id: '));
    expect(withFrames.map((chunk) => (chunk.match(/^id: /gm) ?? []).length)).toEqual([110]);
  });

  it("closes a suspended organisation's stream at once", async () => {
    const stream = await subscribe(`${system.url}/v1/updates`, icc);
    await system.call('POST', `/v1/liaison-organisations/${iccId}/suspend`, {
      token: secretariat,
      body: { reason: 'review' },
    });
    await stream.ended;
    expect(stream.frames.at(-1)).toMatchObject({ event: 'closed' });
    expect(JSON.parse(stream.frames.at(-1)!.data!)).toMatchObject({
      reason: 'ICC is suspended: its principals are refused until it is reinstated',
    });
    expect(stream.frames.at(-1)!.id).toEqual(expect.any(String));
    await system.call('POST', `/v1/liaison-organisations/${iccId}/reinstate`, { token: secretariat });
  });

  it('ends a stream that sent nothing at the newest event its viewer may see, never at a hidden head', async () => {
    await append(['open']);
    const newestOpen = lastAppended!;
    // More hidden events than one page of the backward read, the newest a restricted one.
    await append([...Array.from({ length: 540 }, () => 'closed' as const), 'restricted']);
    const store = system.persistence.store;
    await until(async () => (await store.headPosition()) === lastAppended, 'the appends to be readable');

    const stream = await subscribe(`${system.url}/v1/updates`, icc);
    await system.call('POST', `/v1/liaison-organisations/${iccId}/suspend`, {
      token: secretariat,
      body: { reason: 'review' },
    });
    await stream.ended;
    const closing = stream.frames.at(-1)!;
    expect(closing).toMatchObject({ event: 'closed', id: system.cursorOf(newestOpen) });
    expect(JSON.parse(closing.data!)).toMatchObject({ resumeFrom: system.cursorOf(newestOpen) });
    await system.call('POST', `/v1/liaison-organisations/${iccId}/reinstate`, { token: secretariat });

    // Resuming there gives the organisation what comes after the head it was not told, nothing before it.
    const resumed = await subscribe(`${system.url}/v1/updates`, icc, {
      'last-event-id': system.cursorOf(newestOpen),
    });
    await append(['open']);
    await resumed.waitFor((frames) => positions(frames).includes(lastAppended!));
    resumed.close();
    const types = resumed.frames
      .filter((frame) => frame.data && frame.id)
      .map((frame) => (JSON.parse(frame.data!) as { type: string }).type);
    expect(types).toEqual([
      'eu.focal.LiaisonOrganisationSuspended',
      'eu.focal.LiaisonOrganisationReinstated',
      'eu.focal.StateStatusChanged',
    ]);
  });

  it('refuses a malformed resume position and unknown types with 400', async () => {
    const bad = await system.call('GET', '/v1/updates', {
      token: secretariat,
      headers: { 'last-event-id': 'yesterday' },
    });
    expect(bad).toMatchObject({ status: 400, body: { type: 'urn:focal:problem:invalid-last-event-id' } });
    // A position after the newest event is taken as given: refusing it would tell anyone where the head of the
    // log is, events they may not see included (SPEC §1).
    const beyond = '9000000000000000000';
    for (const [token, id] of [
      [secretariat, beyond],
      [icc, system.cursorOf(beyond)],
    ] as const) {
      for (const resume of [{ headers: { 'last-event-id': id } }, { query: id }]) {
        const after = await subscribe(
          `${system.url}/v1/updates${'query' in resume ? `?lastEventId=${resume.query}` : ''}`,
          token,
          'headers' in resume ? resume.headers : {},
        );
        expect(after.status).toBe(200);
        after.close();
      }
    }
    // A bare position only from who may see every event: with positions of its choosing, an organisation could
    // find by bisection where each event it sees stands, and so count those it does not.
    for (const resume of [{ 'last-event-id': '1' }, { 'last-event-id': beyond }]) {
      expect(await system.call('GET', '/v1/updates', { token: icc, headers: resume })).toMatchObject({
        status: 400,
        body: {
          type: 'urn:focal:problem:invalid-last-event-id',
          // Most likely an id kept from before cursors: what to send instead.
          detail: expect.stringMatching(/only the secretariat and auditors resume from .* 0 to replay/),
        },
      });
    }
    const types = await system.call('GET', '/v1/updates?types=ThreadOpened,Nonsense', { token: secretariat });
    expect(types).toMatchObject({
      status: 400,
      body: { errors: { types: expect.stringMatching(/Nonsense/) } },
    });
    // A name every object has is no event type either.
    for (const inherited of ['toString', '__proto__', 'constructor']) {
      expect(
        (await system.call('GET', `/v1/updates?types=${inherited}`, { token: secretariat })).status,
      ).toBe(400);
    }
    // What to write instead is in the answer: every type there is.
    expect(types.body.errors.types).toMatch(/one of .*ContactPointRegistered.*PlenaryMeetingConvened/);
    expect(types.body.detail).toMatch(/ContactPointRegistered/);
    // A filter that names nothing would take nothing, silently.
    for (const empty of ['', ',', '%20', ' , ']) {
      const none = await system.call('GET', `/v1/updates?types=${empty}`, { token: secretariat });
      expect(none).toMatchObject({
        status: 400,
        body: { reason: 'invalid-input', errors: { types: expect.stringMatching(/at least one/) } },
      });
    }
  });

  it('filters by type, named bare or as the CloudEvent type', async () => {
    for (const types of ['MessageRead', 'eu.focal.MessageRead']) {
      const stream = await subscribe(`${system.url}/v1/updates?types=${types}`, secretariat);
      await append(['open', 'restricted', 'open']);
      await stream.waitFor((frames) => positions(frames).length === 1);
      expect(typeOf(stream.frames[0]!)).toBe('MessageRead');
      stream.close();
    }
  });

  it('a standard EventSource receives every event through onmessage and resumes with Last-Event-ID', async () => {
    const received: { id: string; type: string }[] = [];
    const open = (lastEventId?: string) => {
      const source = openEventSource(`${system.url}/v1/updates`, icc, lastEventId);
      // No listener per type: every event comes to onmessage, its type in the CloudEvent.
      source.onmessage = (message) =>
        received.push({ id: message.lastEventId, type: parseCloudEvent(message.data).type });
      return source;
    };
    const head = (await system.persistence.store.headPosition())!;
    let source = open(system.cursorOf(head));
    await until(() => source.readyState === EventSource.OPEN, 'the EventSource to connect');
    await append(['open', 'closed', 'open', 'restricted', 'open']);
    const firstPart = await visibleAfter(viewers.icc!, head);
    expect(firstPart).toHaveLength(3);
    await until(
      () => received.some((event) => system.positionOf(event.id) === firstPart.at(-1)),
      'the events through onmessage',
    );
    source.close();
    expect(received).toEqual(
      firstPart.map((position) => ({ id: system.cursorOf(position), type: 'eu.focal.StateStatusChanged' })),
    );

    // Missed while away, then resumed after the last id received: the rest, each once, up to a last event
    // written after the resumption (so nothing is left to arrive).
    await append(['open', 'closed', 'open']);
    source = open(received.at(-1)!.id);
    await until(() => source.readyState === EventSource.OPEN, 'the EventSource to reconnect');
    await append(['open']);
    const rest = await visibleAfter(viewers.icc!, firstPart.at(-1)!);
    expect(rest).toHaveLength(3);
    await until(
      () => received.some((event) => system.positionOf(event.id) === rest.at(-1)),
      'the last event',
    );
    source.close();
    expect(received.slice(3).map((event) => system.positionOf(event.id))).toEqual(rest);
  });

  // Last: it restarts the gateway with another heartbeat.
  it('ends a stream with a `closed` frame when its token expires, even with no event, and delivers nothing after', async () => {
    // Heartbeats also look at the expiry: with none due for a minute, only the expiry's own timer can end it.
    await system.restartGateway({ sseHeartbeatMs: 60_000 });
    const short = await signToken(
      testSecrets.jwtSecret,
      { sub: 'icc-short', role: 'liaison-organisation', organisation: iccId },
      '6s',
    );
    const expiresAt = decodeJwt(short).exp! * 1_000;
    const stream = await subscribe(`${system.url}/v1/updates`, short);
    expect(stream.status).toBe(200);
    // Before the expiry the open event arrives, then events this caller may not see.
    await append(['open']);
    const before = lastAppended!;
    await append(['closed', 'restricted']);
    const hidden = lastAppended!;
    await stream.waitFor((frames) => positions(frames).includes(before), expiresAt - Date.now());
    // Then nothing is written, and the stream still ends at the expiry, not at the next event.
    await stream.waitFor((frames) => frames.some((frame) => frame.event === 'closed'), 10_000);
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAt);
    expect(Date.now()).toBeLessThan(expiresAt + 5_000);
    await stream.ended;
    const closed = stream.frames.at(-1)!;
    // It resumes from the last event delivered (at least the one above; others may have been written).
    const resumeFrom = stream.frames.filter((frame) => frame.id && !frame.event).at(-1)!.id!;
    expect(positions(stream.frames)).toContain(before);
    expect(closed).toMatchObject({ event: 'closed', id: resumeFrom });
    // The last event it was sent, not how far it looked: that would tell where the hidden events stand.
    expect(system.positionOf(resumeFrom)).toBe(before);
    expect(system.positionOf(resumeFrom)).not.toBe(hidden);
    expect(JSON.parse(closed.data!)).toEqual({
      reason: 'the token expired: reconnect with a new one',
      resumeFrom,
    });
    // An event after the expiry reaches no stream opened with that token: the stream is over, and a new one
    // with the expired token is refused.
    await append(['open']);
    expect(positions(stream.frames)).not.toContain(lastAppended);
    expect((await subscribe(`${system.url}/v1/updates`, short)).status).toBe(401);
    // The API description says so.
    const document = (await (await fetch(`${system.url}/docs-json`)).json()) as {
      paths: Record<string, { get: { responses: Record<string, { description: string }> } }>;
    };
    expect(document.paths['/v1/updates']!.get.responses['200']!.description).toMatch(/token .*expires/);
  });
});
