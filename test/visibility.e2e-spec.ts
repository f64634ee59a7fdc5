import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { EventSource } from 'eventsource';

import { parseCloudEvent } from './support/cloud-events.js';
import { receiver } from './support/receiver.js';
import { cloudEventOf, openEventSource, subscribe, typeOf, type SseFrame } from './support/sse.js';
import { startSystem, STORES, type TestSystem } from './support/system.js';
import { until } from './support/until.js';

const dataOf = (frames: SseFrame[]) =>
  frames
    .filter((frame) => frame.data)
    .map((frame) => frame.data!)
    .join('\n');

/**
 * The cases of the visibility issue, each as the caller met it over HTTP: what SPEC §1 says each answers now.
 */
describe.each(STORES)('one visibility rule on every path (%s store)', (store) => {
  let system: TestSystem;
  let secretariat: string;
  let auditor: string;
  const tokens: Record<string, string> = {};
  let iccId: string;

  beforeAll(async () => {
    system = await startSystem(store, 'visibility', {
      webhooksAllowLoopback: true,
      webhookBaseDelayMs: 50,
      webhookMaxAttempts: 3,
    });
    secretariat = await system.token({ role: 'secretariat' });
    auditor = await system.token({ role: 'auditor' });
    for (const [code, status] of [
      ['FR', 'member'],
      ['DE', 'member'],
      ['IT', 'member'],
      ['NO', 'observer'],
      ['GB', 'observer'],
      ['GM', 'guest'],
    ] as const) {
      await system.ok('PUT', `/v1/states/${code}`, secretariat, {
        name: code,
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
    tokens.FR = await system.token({ role: 'member-state', state: 'FR', principal: 'desk-1' });
    tokens.IT = await system.token({ role: 'member-state', state: 'IT', principal: 'desk-1' });
    tokens.DE = await system.token({ role: 'member-state', state: 'DE' });
    tokens.NO = await system.token({ role: 'observer-state', state: 'NO' });
    tokens.GB = await system.token({ role: 'observer-state', state: 'GB' });
    tokens.GM = await system.token({ role: 'guest-state', state: 'GM' });
    tokens.ICC = await system.token({ role: 'liaison-organisation', organisation: iccId });
  });
  afterAll(() => system?.stop());

  it('a closed ad hoc meeting request does not exist for a state it does not invite, on every write as on reads', async () => {
    const requested = await system.ok('POST', '/v1/meeting-requests', tokens.FR!, {
      subjectKind: 'case',
      title: 'Hearings of a protected witness',
      summary: 'Coordinate the hearing of a witness under protection',
      confidentiality: 'closed',
      proposedDates: ['2031-05-04'],
      invitedStates: ['DE'],
    });
    const id = requested.body.id as string;
    const unknown = randomUUID();
    for (const action of ['co-sponsor', 'withdraw']) {
      const refused = await system.call('POST', `/v1/meeting-requests/${id}/${action}`, { token: tokens.IT });
      const missing = await system.call('POST', `/v1/meeting-requests/${unknown}/${action}`, {
        token: tokens.IT,
      });
      // The same answer as for an id that names nothing: the status never reveals the request.
      expect(refused.status).toBe(404);
      expect({ ...refused.body, instance: '', detail: '' }).toEqual({
        ...missing.body,
        instance: '',
        detail: '',
      });
    }
    expect((await system.call('GET', `/v1/meeting-requests/${id}`, { token: tokens.IT })).status).toBe(404);
    // After the refusals the request is as FR left it: IT neither co-sponsored nor withdrew it.
    const seen = await system.call('GET', `/v1/meeting-requests/${id}`, {
      token: tokens.DE,
      headers: { 'focal-read-after': requested.headers.get('focal-position')! },
    });
    expect(seen.body).toMatchObject({ status: 'requested', coSponsors: [] });
    // DE, invited, co-sponsors; the secretariat sees it; an invited state that only may see it gets a reason.
    await system.ok('POST', `/v1/meeting-requests/${id}/co-sponsor`, tokens.DE!);
    const notRequester = await system.call('POST', `/v1/meeting-requests/${id}/accept`, {
      token: tokens.DE,
      body: { scheduledFor: '2031-05-04T09:00:00Z', venue: 'Eurojust' },
    });
    expect(notRequester).toMatchObject({ status: 403, body: { reason: 'meeting-request/secretariat-only' } });
  });

  it('If-Match tells nothing of a closed request or session: the same 404 as for no request, 412 only to who may act and see the versions', async () => {
    const requested = await system.ok('POST', '/v1/meeting-requests', tokens.FR!, {
      subjectKind: 'case',
      title: 'Extradition of a suspect',
      summary: 'Coordinate the requests of two states',
      confidentiality: 'closed',
      proposedDates: ['2031-06-04'],
      invitedStates: ['DE'],
    });
    const id = requested.body.id as string;
    const unknown = randomUUID();
    const coSponsor = (requestId: string, token: string, ifMatch?: string) =>
      system.call('POST', `/v1/meeting-requests/${requestId}/co-sponsor`, {
        token,
        headers: ifMatch ? { 'if-match': ifMatch } : {},
      });
    // Status, reason and detail (its id aside) as the caller reads them.
    const seen = (
      answer: { status: number; body: { reason: string; detail: string } },
      requestId: string,
    ) => ({
      status: answer.status,
      reason: answer.body.reason,
      detail: answer.body.detail.replaceAll(requestId, '<id>'),
    });
    for (const caller of ['IT', 'ICC', 'GM']) {
      for (const ifMatch of [undefined, '"0"', '"1"', '"99"']) {
        const closed = seen(await coSponsor(id, tokens[caller]!, ifMatch), id);
        const missing = seen(await coSponsor(unknown, tokens[caller]!, ifMatch), unknown);
        expect({ caller, ifMatch, ...closed }).toEqual({ caller, ifMatch, ...missing });
        expect(closed).toMatchObject({ status: 404, reason: 'meeting-request/not-found' });
      }
    }
    // DE, invited, may act: its stale If-Match is a 412 that does not say where the request is now.
    const stale = await coSponsor(id, tokens.DE!, '"99"');
    expect(stale).toMatchObject({ status: 412, body: { reason: 'version-mismatch' } });
    expect(stale.body.detail).toContain('not at version 99 (it moved on since, or never was)');
    expect(stale.body.detail).not.toMatch(/version 1\b/);
    expect((await coSponsor(id, tokens.DE!, '"1"')).status).toBe(200);

    // A plenary meeting's version counts its closed session's events: never told to a guest or an organisation.
    const convened = await system.ok('POST', '/v1/plenary-meetings', secretariat, {
      number: 41,
      title: '41st plenary meeting of the Genocide Network',
      theme: 'Preconditions',
      startsOn: '2031-11-19',
      endsOn: '2031-11-20',
      venue: 'Eurojust, The Hague',
      presidency: 'FR',
    });
    const meeting = `/v1/plenary-meetings/${convened.body.id as string}`;
    for (const session of ['open', 'closed', 'closed']) {
      await system.ok('POST', `${meeting}/agenda-items`, secretariat, {
        session,
        title: `a ${session} item`,
      });
    }
    const asGuest = await system.call('POST', `${meeting}/agenda-items`, {
      token: tokens.GM,
      body: { session: 'open', title: 'x' },
      headers: { 'if-match': '"99"' },
    });
    expect(asGuest).toMatchObject({ status: 403, body: { reason: 'plenary/secretariat-only' } });
    // A 412 for each wrong guess and the write for the right one would count the closed session: who may
    // not see it is refused If-Match outright, whatever the version named, and nothing is written.
    const head = await system.persistence.store.headPosition();
    for (const caller of ['ICC', 'GM']) {
      for (const version of ['"99"', '"4"', '"5"']) {
        const register = await system.call('POST', `${meeting}/delegates`, {
          token: tokens[caller],
          body: { session: 'open', name: `${caller} delegation` },
          headers: { 'if-match': version },
        });
        expect(register).toMatchObject({ status: 400, body: { reason: 'invalid-if-match' } });
        expect(register.body.detail).not.toMatch(/[0-9]/);
      }
    }
    expect(await system.persistence.store.headPosition()).toBe(head);
  });

  it('ids made from an Idempotency-Key belong to the whole caller: FR and IT sharing a sub share nothing', async () => {
    const key = 'shared-key-1';
    const body = (state: string) => ({
      state,
      fullName: `Desk ${state}`,
      email: `desk@${state.toLowerCase()}.example`,
      role: 'prosecutor',
      authority: `${state} prosecution`,
      languages: ['en'],
    });
    const france = await system.ok('POST', '/v1/contact-points', tokens.FR!, body('FR'), {
      'idempotency-key': key,
    });
    const italy = await system.ok('POST', '/v1/contact-points', tokens.IT!, body('IT'), {
      'idempotency-key': key,
    });
    expect(italy.body.id).not.toBe(france.body.id);
    const again = await system.ok('POST', '/v1/contact-points', tokens.IT!, body('IT'), {
      'idempotency-key': key,
    });
    expect(again.body).toEqual(italy.body);
  });

  it('a closed thread reaches its participants, the secretariat and auditors, and nobody else by any path', async () => {
    const hook = await receiver();
    const webhook = await system.ok('POST', '/v1/webhooks', tokens.NO!, { url: hook.url });
    const norwayStream = await subscribe(`${system.url}/v1/updates`, tokens.NO!, { 'last-event-id': '0' });
    const italyStream = await subscribe(`${system.url}/v1/updates`, tokens.IT!, { 'last-event-id': '0' });
    const opened = await system.ok('POST', '/v1/threads', tokens.FR!, {
      subject: 'Suspect travelling to Germany next week',
      visibility: 'closed',
      participants: ['state:DE'],
    });
    const threadId = opened.body.id as string;
    const posted = await system.ok('POST', `/v1/threads/${threadId}/messages`, tokens.FR!, {
      body: 'Flight LH1035 on Tuesday',
      handlingCode: 'H2',
    });
    const after = posted.headers.get('focal-position')!;
    for (const [who, token] of [
      ['secretariat', secretariat],
      ['auditor', auditor],
      ['DE', tokens.DE!],
    ] as const) {
      const read = await system.call('GET', `/v1/threads/${threadId}`, {
        token,
        headers: { 'focal-read-after': after },
      });
      expect({ who, status: read.status, body: read.body.messages?.[0]?.body }).toEqual({
        who,
        status: 200,
        body: 'Flight LH1035 on Tuesday',
      });
    }
    for (const token of [tokens.NO!, tokens.IT!, tokens.ICC!, tokens.GM!]) {
      expect((await system.call('GET', `/v1/threads/${threadId}`, { token })).status).toBe(404);
      expect(
        (
          await system.call('POST', `/v1/threads/${threadId}/messages`, {
            token,
            body: { body: 'x', handlingCode: 'H0' },
          })
        ).status,
      ).toBe(404);
    }
    // The secretariat read it from outside: no receipt is recorded in its name.
    const asFrance = await system.ok('GET', `/v1/threads/${threadId}`, tokens.FR!);
    expect(asFrance.body.messages[0].deliveredTo).toEqual(['state:DE']);

    // Everything after the thread reaches NO's stream and webhook; none of the thread does.
    const marker = await system.ok('PUT', '/v1/states/SE', secretariat, {
      name: 'Sweden',
      status: 'member',
      effectiveFrom: '2002-06-13',
    });
    const markerPosition = marker.headers.get('focal-position')!;
    for (const stream of [norwayStream, italyStream]) {
      await stream.waitFor((frames) =>
        frames.some((frame) => system.positionOf(frame.id) === markerPosition),
      );
      expect(dataOf(stream.frames)).not.toMatch(/Suspect travelling|LH1035/);
      expect(stream.frames.map(typeOf)).not.toContain('ThreadOpened');
      stream.close();
    }
    await until(
      () => hook.received.some((delivery) => delivery.type === 'StateAdmitted'),
      'the marker by webhook',
    );
    expect(hook.received.map((delivery) => delivery.body).join('\n')).not.toMatch(
      /Suspect travelling|LH1035/,
    );
    await system.ok('DELETE', `/v1/webhooks/${webhook.body.id}`, tokens.NO!);
    await hook.close();
  });

  it('a closed thread and a closed meeting request stay closed to a participant that becomes a guest state, on every path', async () => {
    const today = new Date().toISOString().slice(0, 10);
    await system.ok('PUT', '/v1/states/US', secretariat, {
      name: 'United States',
      status: 'observer',
      effectiveFrom: '2002-06-13',
    });
    const asObserver = await system.token({ role: 'observer-state', state: 'US' });
    const opened = await system.ok('POST', '/v1/threads', tokens.FR!, {
      subject: 'Extradition of a suspect',
      visibility: 'closed',
      participants: ['state:US', 'state:NO'],
    });
    const threadId = opened.body.id as string;
    await system.ok('POST', `/v1/threads/${threadId}/messages`, tokens.FR!, {
      body: 'The file goes out on Monday',
      handlingCode: 'H2',
    });
    // CH is invited before it is in the network at all.
    const requested = await system.ok('POST', '/v1/meeting-requests', tokens.FR!, {
      subjectKind: 'case',
      title: 'Assets held in Switzerland',
      summary: 'Coordinate the freezing of assets',
      confidentiality: 'closed',
      proposedDates: ['2031-06-04'],
      invitedStates: ['CH'],
    });
    const requestId = requested.body.id as string;
    // While an observer, US reads the thread it takes part in: the refusals below are the status change's.
    const before = await system.call('GET', `/v1/threads/${threadId}`, {
      token: asObserver,
      headers: { 'focal-read-after': requested.headers.get('focal-position')! },
    });
    expect(before).toMatchObject({
      status: 200,
      body: { messages: [{ body: 'The file goes out on Monday' }] },
    });

    await system.ok('PUT', '/v1/states/US', secretariat, {
      name: 'United States',
      status: 'guest',
      effectiveFrom: today,
    });
    const admitted = await system.ok('PUT', '/v1/states/CH', secretariat, {
      name: 'Switzerland',
      status: 'guest',
      effectiveFrom: today,
    });
    const after = { 'focal-read-after': admitted.headers.get('focal-position')! };
    const guests = {
      US: await system.token({ role: 'guest-state', state: 'US' }),
      CH: await system.token({ role: 'guest-state', state: 'CH' }),
    };
    for (const token of Object.values(guests)) {
      expect((await system.call('GET', '/v1/inbox', { token, headers: after })).status).toBe(200);
    }

    expect((await system.call('GET', `/v1/threads/${threadId}`, { token: guests.US })).status).toBe(404);
    const post = await system.call('POST', `/v1/threads/${threadId}/messages`, {
      token: guests.US,
      body: { body: 'Still here', handlingCode: 'H0' },
    });
    expect(post.status).toBe(404);
    const inbox = await system.ok('GET', '/v1/inbox', guests.US);
    expect(inbox.body.items.map((item: { id: string }) => item.id)).not.toContain(threadId);
    expect((await system.call('GET', `/v1/meeting-requests/${requestId}`, { token: guests.CH })).status).toBe(
      404,
    );
    const listed = await system.ok('GET', '/v1/meeting-requests', guests.CH);
    expect(listed.body.items.map((item: { id: string }) => item.id)).not.toContain(requestId);
    expect(
      (await system.call('POST', `/v1/meeting-requests/${requestId}/co-sponsor`, { token: guests.CH }))
        .status,
    ).toBe(404);

    // The member and observer participants, and the secretariat, still read both; the guest's post left nothing.
    for (const token of [tokens.FR!, tokens.NO!, secretariat]) {
      const read = await system.call('GET', `/v1/threads/${threadId}`, { token });
      expect({ status: read.status, messages: read.body.messages?.length }).toEqual({
        status: 200,
        messages: 1,
      });
    }
    expect((await system.ok('GET', '/v1/inbox', tokens.NO!)).body.items).toContainEqual(
      expect.objectContaining({ id: threadId }),
    );
    expect((await system.call('GET', `/v1/meeting-requests/${requestId}`, { token: tokens.FR })).status).toBe(
      200,
    );

    // A replay from the start brings the guests nothing of either; the requester's brings both.
    const marker = admitted.headers.get('focal-position')!;
    const replays = {
      US: await subscribe(`${system.url}/v1/updates`, guests.US, { 'last-event-id': '0' }),
      CH: await subscribe(`${system.url}/v1/updates`, guests.CH, { 'last-event-id': '0' }),
      FR: await subscribe(`${system.url}/v1/updates`, tokens.FR!, { 'last-event-id': '0' }),
    };
    for (const replay of Object.values(replays)) {
      await replay.waitFor((frames) => frames.some((frame) => system.positionOf(frame.id) === marker));
      replay.close();
    }
    for (const guest of [replays.US, replays.CH]) {
      expect(dataOf(guest.frames)).not.toContain(threadId);
      expect(dataOf(guest.frames)).not.toContain(requestId);
      expect(dataOf(guest.frames)).not.toMatch(/Extradition of a suspect|Assets held in Switzerland/);
    }
    expect(dataOf(replays.FR.frames)).toContain(threadId);
    expect(dataOf(replays.FR.frames)).toContain(requestId);
  });

  it('a guest state is served as a guest: no closed field, and an observer-state token for it is refused', async () => {
    const registered = await system.ok('POST', '/v1/contact-points', secretariat, {
      state: 'DE',
      fullName: 'Jonas Weber',
      email: 'jonas.weber@gba.example',
      phone: '+4972181910',
      role: 'prosecutor',
      authority: 'Generalbundesanwalt',
      languages: ['de'],
    });
    const read = await system.call('GET', `/v1/contact-points/${registered.body.id}`, {
      token: tokens.GM,
      headers: { 'focal-read-after': registered.headers.get('focal-position')! },
    });
    expect(read.body).toMatchObject({ fullName: 'Jonas Weber' });
    expect(read.body).not.toHaveProperty('email');
    const asObserver = await system.token({ role: 'observer-state', state: 'GM' });
    expect(await system.call('GET', '/v1/states', { token: asObserver })).toMatchObject({
      status: 403,
      body: { reason: 'principal/role-mismatch' },
    });
    const replay = await subscribe(`${system.url}/v1/updates`, tokens.GM!, { 'last-event-id': '0' });
    await replay.waitFor((frames) =>
      frames.some((frame) => system.positionOf(frame.id) === registered.headers.get('focal-position')),
    );
    replay.close();
    expect(dataOf(replay.frames)).not.toMatch(/jonas\.weber@|\+4972181910/);
  });

  it('a change of closed fields alone does not reach a liaison organisation at all', async () => {
    const registered = await system.ok('POST', '/v1/contact-points', secretariat, {
      state: 'FR',
      fullName: 'Claire Martin',
      email: 'claire@pnat.example',
      role: 'prosecutor',
      authority: 'Parquet national antiterroriste',
      languages: ['fr'],
    });
    // Where the organisation would have stood: it is given cursors, not positions.
    const stream = await subscribe(`${system.url}/v1/updates`, tokens.ICC!, {
      'last-event-id': system.cursorOf(registered.headers.get('focal-position')!),
    });
    await system.ok('PATCH', `/v1/contact-points/${registered.body.id}`, secretariat, {
      email: 'c.martin@pnat.example',
    });
    const open = await system.ok('PATCH', `/v1/contact-points/${registered.body.id}`, secretariat, {
      authority: 'PNAT',
    });
    await stream.waitFor((frames) =>
      frames.some((frame) => system.positionOf(frame.id) === open.headers.get('focal-position')),
    );
    stream.close();
    const changes = stream.frames.filter((frame) => typeOf(frame) === 'ContactPointDetailsChanged');
    expect(changes).toHaveLength(1);
    expect(cloudEventOf(changes[0]!)!.data).toEqual({
      changes: { authority: 'PNAT' },
      personalChanges: {},
    });
    // Nor does its place in the stream's versions: no streamversion, no version or ETag on a read.
    expect(cloudEventOf(changes[0]!)!).not.toHaveProperty('streamversion');
    const readAfter = { 'focal-read-after': open.headers.get('focal-position')! };
    const asOrganisation = await system.call('GET', `/v1/contact-points/${registered.body.id}`, {
      token: tokens.ICC,
      headers: readAfter,
    });
    expect(asOrganisation.status).toBe(200);
    expect(asOrganisation.body).not.toHaveProperty('version');
    expect(asOrganisation.headers.get('etag')).toBeNull();
    const listed = await system.call('GET', '/v1/contact-points?state=FR', {
      token: tokens.ICC,
      headers: readAfter,
    });
    expect(listed.body.items.some((item: Record<string, unknown>) => 'version' in item)).toBe(false);
    const asFrance = await system.call('GET', `/v1/contact-points/${registered.body.id}`, {
      token: tokens.FR,
      headers: readAfter,
    });
    expect({ version: asFrance.body.version, etag: asFrance.headers.get('etag') }).toEqual({
      version: 3,
      etag: '"3"',
    });
  });

  it('a retirement reaches everyone, as the status it sets does; its reason only who may see closed fields', async () => {
    const registered = await system.ok('POST', '/v1/contact-points', secretariat, {
      state: 'FR',
      fullName: 'Marc Petit',
      email: 'marc.petit@pnat.example',
      role: 'investigator',
      authority: 'OCLCH',
      languages: ['fr'],
    });
    // Who may not see every event is given cursors, not positions; the same one for both.
    const from = { 'last-event-id': system.cursorOf(registered.headers.get('focal-position')!) };
    const asOrganisation = await subscribe(`${system.url}/v1/updates`, tokens.ICC!, from);
    const asFrance = await subscribe(`${system.url}/v1/updates`, tokens.FR!, from);
    const reason = 'left the service after a family bereavement';
    await system.ok('POST', `/v1/contact-points/${registered.body.id}/retire`, secretariat, { reason });
    const back = await system.ok('POST', `/v1/contact-points/${registered.body.id}/reinstate`, secretariat);
    const lifecycle = async (stream: Awaited<ReturnType<typeof subscribe>>) => {
      await stream.waitFor((frames) =>
        frames.some((frame) => system.positionOf(frame.id) === back.headers.get('focal-position')),
      );
      stream.close();
      return stream.frames
        .filter((frame) => ['ContactPointRetired', 'ContactPointReinstated'].includes(typeOf(frame) ?? ''))
        .map((frame) => ({ type: typeOf(frame), data: cloudEventOf(frame)!.data }));
    };
    expect(await lifecycle(asOrganisation)).toEqual([
      { type: 'ContactPointRetired', data: { wasPrimary: false } },
      { type: 'ContactPointReinstated', data: {} },
    ]);
    expect(dataOf(asOrganisation.frames)).not.toContain('bereavement');
    expect(await lifecycle(asFrance)).toEqual([
      { type: 'ContactPointRetired', data: { reason, wasPrimary: false } },
      { type: 'ContactPointReinstated', data: {} },
    ]);
  });

  it('a state that leaves stops receiving at once, on its open stream and its webhook, also after a restart', async () => {
    const hook = await receiver();
    await system.ok('POST', '/v1/webhooks', tokens.GB!, { url: hook.url });
    const stream = await subscribe(`${system.url}/v1/updates`, tokens.GB!);
    const left = await system.ok('PUT', '/v1/states/GB', secretariat, {
      status: 'former',
      effectiveFrom: new Date().toISOString().slice(0, 10),
    });
    await stream.ended;
    const closed = stream.frames.at(-1)!;
    expect(closed).toMatchObject({ event: 'closed', id: expect.any(String) });
    expect(JSON.parse(closed.data!).reason).toMatch(/GB left the network on/);
    // A new contact point with closed fields, after it left: nothing of it reaches GB's webhook.
    const later = await system.ok('POST', '/v1/contact-points', secretariat, {
      state: 'DE',
      fullName: 'Lena Fischer',
      email: 'lena.fischer@bka.example',
      role: 'investigator',
      authority: 'Bundeskriminalamt',
      languages: ['de'],
    });
    await system.restartGateway();
    const marker = await system.ok('PUT', '/v1/states/PL', secretariat, {
      name: 'Poland',
      status: 'member',
      effectiveFrom: '2004-05-01',
    });
    const held = async () =>
      (
        await system.sql<{ held_reason: string | null }>(
          "SELECT held_reason FROM focal_webhooks WHERE owner LIKE 'observer-state/GB/%'",
        )
      )[0]?.held_reason ?? '';
    await until(async () => /GB left the network/.test(await held()), 'the webhook to be held');
    expect(hook.received.map((delivery) => delivery.body).join('\n')).not.toMatch(/lena\.fischer|Poland/);
    expect(left.status).toBe(200);
    expect(later.status).toBe(201);
    expect(marker.status).toBe(201);
    expect((await system.call('GET', '/v1/states', { token: tokens.GB })).body).toMatchObject({
      status: 403,
      reason: 'principal/former-state',
    });
    await hook.close();
  });

  it('webhooks belong to the whole caller; one paused after failures is resumed by its owner', async () => {
    let failing = true;
    const server: Server = createServer((request, response) => {
      request.resume();
      request.on('end', () => response.writeHead(failing ? 500 : 204).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const created = await system.ok('POST', '/v1/webhooks', tokens.FR!, { url });
    const id = created.body.id as string;
    // IT's token has FR's sub: it is still another principal.
    expect((await system.ok('GET', '/v1/webhooks', tokens.IT!)).body.items).toEqual([]);
    expect((await system.call('DELETE', `/v1/webhooks/${id}`, { token: tokens.IT })).status).toBe(404);
    expect((await system.call('POST', `/v1/webhooks/${id}/resume`, { token: tokens.IT })).status).toBe(404);

    await system.ok('PUT', '/v1/states/AT', secretariat, {
      name: 'Austria',
      status: 'member',
      effectiveFrom: '2002-06-13',
    });
    await until(
      async () => (await system.ok('GET', `/v1/webhooks/${id}`, tokens.FR!)).body.status === 'paused',
      'the pause after failures',
      30_000,
    );
    failing = false;
    const resumed = await system.ok('POST', `/v1/webhooks/${id}/resume`, tokens.FR!);
    expect(resumed.body).toMatchObject({ status: 'active', failures: 0 });
    await until(
      async () =>
        (await system.ok('GET', `/v1/webhooks/${id}`, tokens.FR!)).body.deliveredUpTo !==
        created.body.deliveredUpTo,
      'a delivery after the resume',
    );
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }, 60_000);

  it('a liaison organisation with a standard EventSource, across a suspension and a reinstatement, gets every open event once and nothing closed', async () => {
    const registered = await system.ok('POST', '/v1/liaison-organisations', secretariat, {
      name: 'International Residual Mechanism for Criminal Tribunals',
      acronym: 'IRMCT',
      kind: 'international-court',
    });
    const irmctId = registered.body.id as string;
    const token = await system.token({ role: 'liaison-organisation', organisation: irmctId });
    const received: { id: string; type: string; data: string }[] = [];
    const controls: { id: string; reason: string }[] = [];
    /** An EventSource as a client application opens it, resuming from `lastEventId` when it has one. */
    const open = (lastEventId?: string) => {
      const source = openEventSource(`${system.url}/v1/updates`, token, lastEventId);
      // Every event comes to onmessage, whatever its type: the type is the CloudEvent's.
      source.onmessage = (event) =>
        received.push({
          id: event.lastEventId,
          type: parseCloudEvent(event.data).type.replace(/^eu\.focal\./, ''),
          data: event.data,
        });
      source.addEventListener('closed', (event) =>
        controls.push({ id: event.lastEventId, reason: JSON.parse(event.data).reason }),
      );
      return source;
    };
    const connected = (source: EventSource) =>
      until(() => source.readyState === EventSource.OPEN, 'the EventSource to connect');
    /** An open event, known by the id the organisation is given for it: its position's cursor. */
    const openEvent = async (code: string) =>
      system.cursorOf(
        (
          await system.ok('PUT', `/v1/states/${code}`, secretariat, {
            name: code,
            status: 'member',
            effectiveFrom: '2004-05-01',
          })
        ).headers.get('focal-position')!,
      );
    const closedEvent = () =>
      system.ok('POST', '/v1/threads', tokens.FR!, {
        subject: 'Not for organisations',
        visibility: 'closed',
        participants: ['state:DE'],
      });

    let source = open();
    await connected(source);
    const before = [await openEvent('CZ')];
    await closedEvent();
    before.push(await openEvent('SK'));
    await until(
      () => received.filter((event) => event.type === 'StateAdmitted').length === 2,
      'the open events before the suspension',
    );

    await system.ok('POST', `/v1/liaison-organisations/${irmctId}/suspend`, secretariat, {
      reason: 'review',
    });
    await until(() => controls.length > 0, 'the stream to end on the suspension');
    // The EventSource reconnects by itself from the id of that frame, and is refused while suspended.
    await until(() => source.readyState === EventSource.CLOSED, 'the reconnection to be refused');
    const resumeFrom = controls[0]!.id;
    expect(resumeFrom).toBe(before.at(-1));
    expect(controls[0]!.reason).toMatch(/IRMCT is suspended/);

    const during = [await openEvent('HU')];
    await closedEvent();
    await system.ok('POST', `/v1/liaison-organisations/${irmctId}/reinstate`, secretariat);
    source = open(resumeFrom);
    await connected(source);
    const after = [await openEvent('SI')];
    await until(() => received.some((event) => event.id === after[0]), 'the events after the reinstatement');
    source.close();

    // Each open event once, in order, including the one written while suspended; nothing closed.
    const states = received.filter((event) => event.type === 'StateAdmitted').map((event) => event.id);
    expect(states).toEqual([...before, ...during, ...after]);
    expect(received.map((event) => event.type)).not.toContain('ThreadOpened');
    expect(received.map((event) => event.data).join('\n')).not.toMatch(/Not for organisations/);
  });
});
