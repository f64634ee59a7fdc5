import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { NewEvent } from '@focal/events';

import { startSystem, STORES, type TestSystem } from './support/system.js';
import { until } from './support/until.js';

interface Delivery {
  eventId: string;
  type: string;
  body: string;
  signature: string;
}

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
        accepted.push({
          eventId: String(request.headers['focal-event-id']),
          type: String(request.headers['focal-event-type']),
          body,
          signature: String(request.headers['focal-signature']),
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
  type: visibility === 'open' ? 'StateStatusChanged' : 'LiaisonOrganisationSuspended',
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
    expect(secret).toMatch(/^[0-9a-f]{64}$/);

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

    expect(hook.accepted.map((delivery) => delivery.eventId)).toEqual(expected);
    expect(hook.attempts()).toBe(expected.length + 2);
    for (const delivery of hook.accepted) {
      const [, timestamp, signature] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(delivery.signature)!;
      const mac = createHmac('sha256', secret).update(`${timestamp}.${delivery.body}`).digest('hex');
      expect(signature).toBe(mac);
      expect(JSON.parse(delivery.body)).toMatchObject({
        position: delivery.eventId,
        type: 'StateStatusChanged',
      });
    }
    const state = await system.call('GET', `/v1/webhooks/${id}`, { token: iccToken });
    // The position covers the closed events passed over too: they are not the organisation's to receive.
    expect(state.body).toMatchObject({ status: 'active', failures: 0, deliveredUpTo: lastOfAll });

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
    await until(() => hook.accepted.length >= expected.length + 2, 'the delivery held back', 30_000);
    // What was held back, then the reinstatement itself (an open event), each once.
    expect(hook.accepted.slice(expected.length).map(({ eventId, type }) => [eventId, type])).toEqual([
      [whileSuspended[0], 'StateStatusChanged'],
      [expect.any(String), 'LiaisonOrganisationReinstated'],
    ]);
    expect(await row()).toMatchObject({ status: 'active', held_reason: null });
    await hook.close();
  });

  it('a suspension written while a delivery is under way stops the very next one', async () => {
    const { body: organisation } = await system.call('POST', '/v1/liaison-organisations', {
      token: secretariat,
      body: { name: 'Eurojust partner', acronym: 'EJP', kind: 'international-organisation' },
    });
    const token = await system.token({ role: 'liaison-organisation', organisation: organisation.id });
    const openEvent = async () =>
      (
        await system.persistence.store.append(`thread-${randomUUID()}`, [event('open')], {
          expectedVersion: 'no-stream',
        })
      ).lastPosition;
    // The first delivery is answered once the organisation is suspended and one more open event is written: the
    // deliverer, which read the organisation's standing a moment before, comes to those two events at once.
    let afterSuspension: string | undefined;
    const hook = await receiver(async (attempt) => {
      if (attempt === 1) {
        await system.call('POST', `/v1/liaison-organisations/${organisation.id}/suspend`, {
          token: secretariat,
          body: { reason: 'review' },
        });
        afterSuspension = await openEvent();
      }
      return 200;
    });
    const created = await system.call('POST', '/v1/webhooks', { token, body: { url: hook.url } });
    const first = await openEvent();
    const held = async () =>
      (
        await system.persistence.sql.query<{ held_reason: string | null }>(
          'SELECT held_reason FROM focal_webhooks WHERE id = $1',
          [created.body.id],
        )
      )[0]?.held_reason ?? '';
    await until(async () => /EJP is suspended/.test(await held()), 'the hold');
    expect(hook.accepted.map((delivery) => delivery.eventId)).toEqual([first]);
    // Reinstated, it goes on from there: the event held back, then the reinstatement.
    await system.call('POST', `/v1/liaison-organisations/${organisation.id}/reinstate`, {
      token: secretariat,
    });
    await until(() => hook.accepted.length >= 3, 'the deliveries held back', 30_000);
    expect(hook.accepted.map(({ eventId, type }) => [eventId, type])).toEqual([
      [first, 'StateStatusChanged'],
      [afterSuspension, 'StateStatusChanged'],
      [expect.any(String), 'LiaisonOrganisationReinstated'],
    ]);
    await hook.close();
  });

  it('pauses a subscription after repeated failures, and its owner sees why', async () => {
    const hook = await receiver(() => 503);
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
      pausedReason: expect.stringMatching(/3 deliveries failed.*HTTP 503/),
    });
    expect(hook.attempts()).toBe(3);
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
  });
});
