import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { NewEvent } from '@focal/events';
import { Webhook } from 'standardwebhooks';

import { parseCloudEvent } from './support/cloud-events.js';
import { startSystem, STORES, type TestSystem } from './support/system.js';
import { until } from './support/until.js';

interface Delivery {
  eventId: string;
  type: string;
  body: string;
  headers: Record<string, string>;
}

/** Whether a receiver holding `secret` accepts `delivery`, as the Standard Webhooks library judges it. */
const verifies = (secret: string, delivery: Delivery) => {
  try {
    new Webhook(secret).verify(delivery.body, delivery.headers);
    return true;
  } catch {
    return false;
  }
};

/** A receiver that answers `status(attempt)` (when it resolves) and records what it accepted. */
async function receiver(status: (attempt: number) => number | Promise<number>) {
  const accepted: Delivery[] = [];
  let attempts = 0;
  const server: Server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', async () => {
      const code = await status(++attempts);
      if (code < 300) {
        // Read as a CloudEvents receiver reads it: the SDK finds the event in the message.
        const cloudEvent = parseCloudEvent(body, request.headers);
        accepted.push({
          eventId: cloudEvent.id,
          type: cloudEvent.type.replace(/^eu\.focal\./, ''),
          body,
          headers: request.headers as Record<string, string>,
        });
      }
      response.writeHead(code).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    accepted,
    attempts: () => attempts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const event = (visibility: 'open' | 'closed'): NewEvent => ({
  eventId: randomUUID(),
  type: visibility === 'open' ? 'StateStatusChanged' : 'PlenaryAgendaItemAdded',
  data: { note: randomUUID() },
  metadata: { actor: { principal: 'test', role: 'secretariat' }, correlationId: 'webhooks' },
  visibility: { level: visibility },
});

describe.each(STORES)('webhooks (%s store)', (store) => {
  let system: TestSystem;
  let secretariat: string;

  beforeAll(async () => {
    system = await startSystem(store, 'webhooks', {
      webhooksAllowLoopback: true,
      webhookMaxAttempts: 3,
      webhookBaseDelayMs: 50,
    });
    secretariat = await system.token({ role: 'secretariat', principal: 'secretariat-hooks' });
  });
  afterAll(() => system?.stop());

  it('delivers every event once, in order, signed, through failures and a gateway restart', async () => {
    // The first two attempts fail; later ones succeed.
    const hook = await receiver((attempt) => (attempt <= 2 ? 500 : 200));
    await system.call('POST', '/v1/liaison-organisations', {
      token: secretariat,
      body: { name: 'International Criminal Court', acronym: 'ICC', kind: 'international-court' },
      headers: { 'idempotency-key': 'icc' },
    });
    // The organisation id comes from the idempotency key: look it up to sign its token.
    const { body: list } = await system.call('GET', '/v1/liaison-organisations', {
      token: secretariat,
      headers: { 'focal-read-after': (await system.persistence.store.headPosition())! },
    });
    const iccId = list.items[0].id as string;
    const iccToken = await system.token({
      role: 'liaison-organisation',
      organisation: iccId,
      principal: 'icc-hooks',
    });

    const created = await system.call('POST', '/v1/webhooks', { token: iccToken, body: { url: hook.url } });
    expect(created.status).toBe(201);
    const { id, secret } = created.body as { id: string; secret: string };
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    let lastOfAll = '';
    const append = async (count: number) => {
      const positions: string[] = [];
      for (let i = 0; i < count; i++) {
        const result = await system.persistence.store.append(
          `thread-${randomUUID()}`,
          [event(i % 3 === 2 ? 'closed' : 'open')],
          { expectedVersion: 'no-stream' },
        );
        if (i % 3 !== 2) positions.push(result.lastPosition);
        lastOfAll = result.lastPosition;
      }
      return positions;
    };
    const firstHalf = await append(15);
    await until(() => hook.accepted.length >= 5, 'the first deliveries');
    await system.restartGateway();
    const secondHalf = await append(15);
    const expected = [...firstHalf, ...secondHalf];
    await until(() => hook.accepted.length >= expected.length, `${expected.length} deliveries`);
    await new Promise((resolve) => setTimeout(resolve, 300));

    // The organisation may not see every event: each id is the position's cursor, never the position.
    expect(hook.accepted.map((delivery) => delivery.eventId)).toEqual(
      expected.map((position) => system.cursorOf(position)),
    );
    expect(hook.attempts()).toBe(expected.length + 2);
    for (const delivery of hook.accepted) {
      expect(delivery.headers).toMatchObject({
        'webhook-id': `${id}:${delivery.eventId}`,
        'webhook-timestamp': expect.stringMatching(/^\d+$/),
        'webhook-signature': expect.stringMatching(/^v1,[A-Za-z0-9+/]{43}=$/),
        'focal-subscription-id': id,
      });
      expect(verifies(secret, delivery)).toBe(true);
      // Signed over the id, the time and the body: a change to any of them is refused.
      expect(verifies(secret, { ...delivery, body: delivery.body.replace('StateStatusChanged', 'X') })).toBe(
        false,
      );
      expect(
        verifies(secret, { ...delivery, headers: { ...delivery.headers, 'webhook-id': `${id}:0` } }),
      ).toBe(false);
      expect(delivery.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
      expect(parseCloudEvent(delivery.body, delivery.headers)).toMatchObject({
        specversion: '1.0',
        id: delivery.eventId,
        source: expect.stringMatching(/^\/focal\/t_webhooks_/),
        type: 'eu.focal.StateStatusChanged',
        subject: expect.stringMatching(/^thread-/),
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        datacontenttype: 'application/json',
        streamversion: 1,
        data: { note: expect.any(String) },
      });
    }
    // The subscription moves past the closed events too (they are not the organisation's to receive), but
    // what it shows is the last event delivered: where the closed ones stand is not the organisation's to know.
    await until(
      async () =>
        (
          await system.persistence.sql.query<{ cursor: string }>(
            'SELECT cursor FROM focal_webhooks WHERE id = $1',
            [id],
          )
        )[0]?.cursor === lastOfAll,
      'the subscription past the last, closed, event',
    );
    const state = await system.call('GET', `/v1/webhooks/${id}`, { token: iccToken });
    expect(state.body).toMatchObject({
      status: 'active',
      failures: 0,
      deliveredUpTo: system.cursorOf(expected.at(-1)!),
    });

    // Suspending the organisation holds its deliveries where they stopped, with the reason...
    await system.call('POST', `/v1/liaison-organisations/${iccId}/suspend`, {
      token: secretariat,
      body: { reason: 'review' },
    });
    const whileSuspended = await append(1);
    const row = async () =>
      (
        await system.persistence.sql.query<{ status: string; held_reason: string | null }>(
          'SELECT status, held_reason FROM focal_webhooks WHERE id = $1',
          [id],
        )
      )[0]!;
    await until(async () => /ICC is suspended/.test((await row()).held_reason ?? ''), 'the hold');
    expect(await row()).toMatchObject({ status: 'active' });
    expect(hook.accepted).toHaveLength(expected.length);
    // ...and once it is reinstated they go on from there, by themselves.
    expect(
      (await system.call('POST', `/v1/liaison-organisations/${iccId}/reinstate`, { token: secretariat }))
        .status,
    ).toBe(200);
    await until(() => hook.accepted.length >= expected.length + 3, 'the delivery held back', 30_000);
    // What was held back (its own suspension, an open event, then the rest), then the reinstatement, each once.
    const heldBack = hook.accepted.slice(expected.length);
    expect(heldBack.map(({ eventId, type }) => [eventId, type])).toEqual([
      [expect.any(String), 'LiaisonOrganisationSuspended'],
      [system.cursorOf(whileSuspended[0]!), 'StateStatusChanged'],
      [expect.any(String), 'LiaisonOrganisationReinstated'],
    ]);
    // Why it was suspended is closed: not for the organisation's own feed.
    expect(JSON.parse(heldBack[0]!.body).data).toEqual({});
    expect(await row()).toMatchObject({ status: 'active', held_reason: null });
    await hook.close();
  });

  it.each([
    ['every type', undefined],
    ['only the type of the events after it', ['StateStatusChanged']],
  ])('a suspension written while a delivery is under way stops the very next one (%s)', async (_, types) => {
    const { body: organisation } = await system.call('POST', '/v1/liaison-organisations', {
      token: secretariat,
      body: { name: 'Eurojust partner', acronym: 'EJP', kind: 'international-organisation' },
    });
    const token = await system.token({ role: 'liaison-organisation', organisation: organisation.id });
    /** An open event, known by the id the organisation is given: its position's cursor. */
    const openEvent = async () =>
      system.cursorOf(
        (
          await system.persistence.store.append(`thread-${randomUUID()}`, [event('open')], {
            expectedVersion: 'no-stream',
          })
        ).lastPosition,
      );
    // The first delivery is answered once the organisation is suspended and one more open event is written: the
    // deliverer, which read the organisation's standing a moment before, comes to those two events at once.
    let afterSuspension: string | undefined;
    let beforeWritten: () => void = () => undefined;
    const written = new Promise<void>((resolve) => (beforeWritten = resolve));
    const hook = await receiver(async (attempt) => {
      if (attempt === 1) {
        await written;
        await system.call('POST', `/v1/liaison-organisations/${organisation.id}/suspend`, {
          token: secretariat,
          body: { reason: 'review' },
        });
        afterSuspension = await openEvent();
      }
      return 200;
    });
    const created = await system.call('POST', '/v1/webhooks', {
      token,
      body: { url: hook.url, ...(types ? { types } : {}) },
    });
    const first = await openEvent();
    // Recorded before the suspension, and delivered after it was written: not while the suspension lasts.
    const beforeSuspension = await openEvent();
    beforeWritten();
    const held = async () =>
      (
        await system.persistence.sql.query<{ held_reason: string | null }>(
          'SELECT held_reason FROM focal_webhooks WHERE id = $1',
          [created.body.id],
        )
      )[0]?.held_reason ?? '';
    await until(async () => /EJP is suspended/.test(await held()), 'the hold');
    expect(hook.accepted.map((delivery) => delivery.eventId)).toEqual([first]);
    // Reinstated, it goes on from there: the events held back (its suspension is open), then the reinstatement.
    await system.call('POST', `/v1/liaison-organisations/${organisation.id}/reinstate`, {
      token: secretariat,
    });
    const expected = [
      [first, 'StateStatusChanged'],
      [beforeSuspension, 'StateStatusChanged'],
      [expect.any(String), 'LiaisonOrganisationSuspended'],
      [afterSuspension, 'StateStatusChanged'],
      [expect.any(String), 'LiaisonOrganisationReinstated'],
    ].filter(([, type]) => !types || types.includes(type as string));
    await until(() => hook.accepted.length >= expected.length, 'the deliveries held back', 30_000);
    expect(hook.accepted.map(({ eventId, type }) => [eventId, type])).toEqual(expected);
    await hook.close();
  });

  it('a subscription held, then due again, is delivered to while twenty others are caught up and nothing is written', async () => {
    // The others are claimed first (due longest); caught up, they must not take every claim after that.
    const others = await receiver(() => 200);
    const many = await system.token({ role: 'secretariat', principal: 'secretariat-many-hooks' });
    for (let i = 0; i < 20; i++) await system.ok('POST', '/v1/webhooks', many, { url: others.url });
    const { body: organisation } = await system.ok('POST', '/v1/liaison-organisations', secretariat, {
      name: 'Held partner',
      acronym: 'HP',
      kind: 'international-organisation',
    });
    const token = await system.token({ role: 'liaison-organisation', organisation: organisation.id });
    const hook = await receiver(() => 200);
    const created = await system.ok('POST', '/v1/webhooks', token, { url: hook.url });
    await system.ok('POST', `/v1/liaison-organisations/${organisation.id}/suspend`, secretariat, {
      reason: 'review',
    });
    const held = await system.persistence.store.append(`thread-${randomUUID()}`, [event('open')], {
      expectedVersion: 'no-stream',
    });
    await until(
      async () =>
        (
          await system.persistence.sql.query<{ held_reason: string | null }>(
            'SELECT held_reason FROM focal_webhooks WHERE id = $1',
            [created.body.id],
          )
        )[0]?.held_reason !== null,
      'the hold',
    );
    // The last event written: the others deliver it at once, the held subscription only once it is due again.
    await system.ok('POST', `/v1/liaison-organisations/${organisation.id}/reinstate`, secretariat);
    await until(() => others.accepted.length >= 20 * 3, 'the others to deliver the three events');
    await until(() => hook.accepted.length >= 3, 'the held deliveries, once due again', 20_000);
    expect(hook.accepted.map(({ eventId, type }) => [eventId, type])).toEqual([
      [expect.any(String), 'LiaisonOrganisationSuspended'],
      [system.cursorOf(held.lastPosition), 'StateStatusChanged'],
      [expect.any(String), 'LiaisonOrganisationReinstated'],
    ]);
    for (const { id } of (await system.ok('GET', '/v1/webhooks', many)).body.items) {
      await system.ok('DELETE', `/v1/webhooks/${id}`, many);
    }
    await others.close();
    await hook.close();
  });

  it("a receiver that takes its time holds no other subscription's deliveries", async () => {
    // One round of claims once waited for all it had claimed: the slow receiver's events, one after another,
    // held the others', and a guest could count closed events by that delay (a tester).
    const slow = await receiver(() => new Promise((resolve) => setTimeout(() => resolve(200), 2_000)));
    const fast = await receiver(() => 200);
    const owner = await system.token({ role: 'secretariat', principal: 'secretariat-slow-hooks' });
    const hooks = [];
    for (const { url } of [slow, fast])
      hooks.push((await system.ok('POST', '/v1/webhooks', owner, { url })).body);
    const append = () =>
      system.persistence.store.append(`thread-${randomUUID()}`, [event('open')], {
        expectedVersion: 'no-stream',
      });
    await append();
    await until(() => fast.accepted.length >= 1 && slow.attempts() >= 1, 'the first event at both receivers');
    // The slow receiver is answering its first event for two seconds; two more events meanwhile.
    await append();
    await append();
    await until(() => fast.accepted.length >= 3, 'the fast receiver to have the three events');
    expect(slow.accepted.length).toBeLessThan(3);
    for (const { id } of hooks) await system.ok('DELETE', `/v1/webhooks/${id}`, owner);
    await fast.close();
    await slow.close();
  });

  it('a stopping gateway abandons a delivery under way, and the event is delivered after the restart', async () => {
    // A tester's gateway went on delivering to slow receivers past its shutdown grace, and the leases it then
    // left held kept their subscriptions waiting a minute after the restart.
    let slow = true;
    let arrived = 0;
    let abandoned = 0;
    const accepted: string[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        const answer = () => {
          if (response.destroyed) return;
          accepted.push(parseCloudEvent(body, request.headers).id);
          response.writeHead(204).end();
        };
        if (!slow) return answer();
        arrived++;
        response.once('close', () => {
          if (!response.writableEnded) abandoned++;
        });
        setTimeout(answer, 8_000);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const owner = await system.token({ role: 'secretariat', principal: 'secretariat-stopping-hooks' });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const { body: hook } = await system.ok('POST', '/v1/webhooks', owner, { url });
    const written = await system.persistence.store.append(`thread-${randomUUID()}`, [event('open')], {
      expectedVersion: 'no-stream',
    });
    await until(() => arrived === 1, 'the delivery under way');
    slow = false;
    await system.restartGateway();
    // Abandoned at the stop, not answered eight seconds later; and not lost.
    expect(abandoned).toBe(1);
    await until(() => accepted.includes(written.lastPosition), 'the event, delivered after the restart');
    await system.ok('DELETE', `/v1/webhooks/${hook.id}`, owner);
    await new Promise((resolve) => server.close(resolve));
  });

  it('rotates the secret: both sign during the overlap, the old one no longer once it ends', async () => {
    const hook = await receiver(() => 200);
    const created = await system.call('POST', '/v1/webhooks', {
      token: secretariat,
      body: { url: hook.url, types: ['StateStatusChanged'] },
    });
    const { id, secret: first } = created.body as { id: string; secret: string };
    const deliver = async () => {
      const before = hook.accepted.length;
      await system.persistence.store.append(`thread-${randomUUID()}`, [event('open')], {
        expectedVersion: 'no-stream',
      });
      await until(() => hook.accepted.length > before, 'a delivery');
      return hook.accepted.at(-1)!;
    };

    const beforeRotation = await deliver();
    expect(verifies(first, beforeRotation)).toBe(true);
    expect(beforeRotation.headers['webhook-signature']!.split(' ')).toHaveLength(1);

    // Rotated with an hour's overlap: a receiver with either secret accepts each delivery.
    const rotated = await system.call('POST', `/v1/webhooks/${id}/rotate-secret`, {
      token: secretariat,
      body: { previousSecretValidForSeconds: 3600 },
    });
    expect(rotated).toMatchObject({
      status: 200,
      body: { id, secret: expect.stringMatching(/^whsec_/), previousSecretValidUntil: expect.any(String) },
    });
    const second = rotated.body.secret as string;
    expect(second).not.toBe(first);
    const duringOverlap = await deliver();
    expect(duringOverlap.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verifies(second, duringOverlap)).toBe(true);
    expect(verifies(first, duringOverlap)).toBe(true);

    // Rotated again with no overlap: the new secret alone signs; neither older one is accepted.
    const again = await system.call('POST', `/v1/webhooks/${id}/rotate-secret`, {
      token: secretariat,
      body: { previousSecretValidForSeconds: 0 },
    });
    expect(again.status).toBe(200);
    expect(again.body).not.toHaveProperty('previousSecretValidUntil');
    const third = again.body.secret as string;
    const afterOverlap = await deliver();
    expect(verifies(third, afterOverlap)).toBe(true);
    expect(verifies(second, afterOverlap)).toBe(false);
    expect(verifies(first, afterOverlap)).toBe(false);

    // Only the owner rotates; a bad overlap is a 400 naming the field.
    const other = await system.token({ role: 'auditor', principal: 'auditor-rotate' });
    expect(
      (await system.call('POST', `/v1/webhooks/${id}/rotate-secret`, { token: other, body: {} })).status,
    ).toBe(404);
    expect(
      await system.call('POST', `/v1/webhooks/${id}/rotate-secret`, {
        token: secretariat,
        body: { previousSecretValidForSeconds: -1 },
      }),
    ).toMatchObject({ status: 400, body: { errors: { previousSecretValidForSeconds: expect.any(String) } } });
    await hook.close();
  });

  it('pauses a subscription after repeated failures, and its owner sees why and resumes it once mended', async () => {
    let answer = 503;
    const hook = await receiver(() => answer);
    const created = await system.call('POST', '/v1/webhooks', {
      token: secretariat,
      body: { url: hook.url, types: ['StateStatusChanged'] },
    });
    await system.persistence.store.append(`thread-${randomUUID()}`, [event('open')], {
      expectedVersion: 'no-stream',
    });
    await until(
      async () =>
        (await system.call('GET', `/v1/webhooks/${created.body.id}`, { token: secretariat })).body.status ===
        'paused',
      'the pause',
    );
    const paused = await system.call('GET', `/v1/webhooks/${created.body.id}`, { token: secretariat });
    expect(paused.body).toMatchObject({
      failures: 3,
      pausedReason: expect.stringMatching(
        /3 deliveries failed.*HTTP 503.*then resume: POST \/v1\/webhooks\/[0-9a-f-]+\/resume$/,
      ),
    });
    expect(hook.attempts()).toBe(3);

    // Mended, resumed: the event it stopped at is delivered.
    answer = 204;
    const resumed = await system.call('POST', `/v1/webhooks/${created.body.id}/resume`, {
      token: secretariat,
    });
    expect(resumed).toMatchObject({ status: 200, body: { status: 'active', failures: 0 } });
    await until(() => hook.accepted.length === 1, 'the delivery after resuming');
    // Resuming one that is not paused is refused: it would reset the failures counting towards a pause, and
    // make a retry due at once at its owner's will.
    const again = await system.call('POST', `/v1/webhooks/${created.body.id}/resume`, { token: secretariat });
    expect(again).toMatchObject({
      status: 422,
      body: { type: 'urn:focal:problem:webhook/not-paused', detail: expect.stringMatching(/is active/) },
    });
    await hook.close();
  });

  it('lists, reads and deletes only the caller’s subscriptions; refuses bad URLs and types', async () => {
    const mine = await system.call('GET', '/v1/webhooks', { token: secretariat });
    expect(mine.body.items.length).toBeGreaterThan(0);
    const other = await system.token({ role: 'auditor', principal: 'auditor-hooks' });
    expect((await system.call('GET', '/v1/webhooks', { token: other })).body.items).toEqual([]);
    const id = mine.body.items[0].id as string;
    expect((await system.call('GET', `/v1/webhooks/${id}`, { token: other })).status).toBe(404);
    expect((await system.call('DELETE', `/v1/webhooks/${id}`, { token: other })).status).toBe(404);
    expect((await system.call('DELETE', `/v1/webhooks/${id}`, { token: secretariat })).status).toBe(204);
    expect((await system.call('GET', `/v1/webhooks/${id}`, { token: secretariat })).status).toBe(404);

    const ftp = await system.call('POST', '/v1/webhooks', {
      token: secretariat,
      body: { url: 'ftp://example.org/x' },
    });
    expect(ftp).toMatchObject({ status: 400, body: { type: 'urn:focal:problem:invalid-webhook-url' } });
    const types = await system.call('POST', '/v1/webhooks', {
      token: secretariat,
      body: { url: 'http://127.0.0.1:9/x', types: ['Nonsense'] },
    });
    expect(types).toMatchObject({ status: 400, body: { errors: { types: expect.any(String) } } });
    // What to write instead is in the answer.
    expect(types.body.errors.types).toMatch(/one of .*ContactPointRegistered.*ThreadOpened/);
    // A filter that names nothing would deliver nothing, silently.
    const none = await system.call('POST', '/v1/webhooks', {
      token: secretariat,
      body: { url: 'http://127.0.0.1:9/x', types: [] },
    });
    expect(none).toMatchObject({
      status: 400,
      body: { errors: { types: expect.stringMatching(/at least one/) } },
    });
    // Named as a delivery names it (its CloudEvent type) or bare, as live updates' ?types= takes them.
    const named = await system.ok('POST', '/v1/webhooks', secretariat, {
      url: 'http://127.0.0.1:9/x',
      types: ['eu.focal.ThreadOpened', 'ThreadOpened', 'eu.focal.MessagePosted'],
    });
    expect(named.body.types).toEqual(['ThreadOpened', 'MessagePosted']);
    await system.ok('DELETE', `/v1/webhooks/${named.body.id}`, secretariat);
  });
});
