import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Resolver } from '../apps/gateway/src/webhooks/webhook-target.js';
import { startSystem, STORES, type TestSystem } from './support/system.js';
import { until } from './support/until.js';

/**
 * Webhook targets are checked at every delivery, not only at registration: the host is resolved again, every
 * address it has must be public (loopback only under the development flag, as it stands now), and the
 * delivery connects to the address checked. Host names here are under `.test`, which no real resolver
 * answers: they resolve only through the table the test swaps in, so a delivery that looked the name up a
 * second time would fail.
 */

/** The test's DNS: host name -> addresses, changed while the system runs. */
const dns: Record<string, string[]> = {};
const lookups: string[] = [];
const resolver: Resolver = async (hostname) => {
  lookups.push(hostname);
  const addresses = dns[hostname];
  if (!addresses) throw Object.assign(new Error(`no ${hostname}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

/** A receiver on loopback that records each request's webhook id and Host header. */
async function receiver() {
  const received: { webhookId: string; host: string }[] = [];
  const server: Server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received.push({
        webhookId: String(request.headers['focal-subscription-id']),
        host: String(request.headers.host),
      });
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe.each(STORES)('webhook targets checked at every delivery (%s store)', (store) => {
  let system: TestSystem;
  let secretariat: string;
  let hook: Awaited<ReturnType<typeof receiver>>;

  const appendOpenEvent = () =>
    system.persistence.store.append(
      `thread-${randomUUID()}`,
      [
        {
          eventId: randomUUID(),
          type: 'StateStatusChanged',
          data: { note: randomUUID() },
          metadata: { actor: { principal: 'test', role: 'secretariat' }, correlationId: 'targets' },
          visibility: { level: 'open' },
        },
      ],
      { expectedVersion: 'no-stream' },
    );
  const subscribe = async (url: string) => {
    const created = await system.call('POST', '/v1/webhooks', { token: secretariat, body: { url } });
    expect(created.status).toBe(201);
    return created.body.id as string;
  };
  const webhook = async (id: string) =>
    (await system.call('GET', `/v1/webhooks/${id}`, { token: secretariat })).body;
  const deliveriesTo = (id: string) => hook.received.filter((request) => request.webhookId === id);

  beforeAll(async () => {
    hook = await receiver();
    system = await startSystem(store, 'webhook_targets', {
      webhooksAllowLoopback: true,
      webhookMaxAttempts: 3,
      webhookBaseDelayMs: 50,
      webhookResolver: resolver,
    });
    secretariat = await system.token({ role: 'secretariat', principal: 'secretariat-targets' });
  });
  afterAll(async () => {
    await system?.stop();
    await hook?.close();
  });

  let registeredUnderTheFlag: string;

  it('connects to the address it checked, keeping the URL’s host in the Host header', async () => {
    dns['pinned.focal.test'] = ['127.0.0.1'];
    const id = await subscribe(`http://pinned.focal.test:${hook.port}/hook`);
    const before = lookups.filter((host) => host === 'pinned.focal.test').length;
    await appendOpenEvent();
    await until(() => deliveriesTo(id).length === 1, 'the delivery');
    expect(deliveriesTo(id)[0]!.host).toBe(`pinned.focal.test:${hook.port}`);
    // Looked up again for the delivery, through the resolver checked (the system's would not know the name).
    expect(lookups.filter((host) => host === 'pinned.focal.test').length).toBeGreaterThan(before);
    expect(await webhook(id)).toMatchObject({ status: 'active', failures: 0 });
    registeredUnderTheFlag = id;
  });

  it('a loopback target registered under the development flag is refused after a restart without it', async () => {
    await system.restartGateway({ webhooksAllowLoopback: false });
    const id = registeredUnderTheFlag;
    await appendOpenEvent();
    await until(async () => (await webhook(id)).status === 'paused', 'the pause');
    expect(await webhook(id)).toMatchObject({
      failures: 3,
      lastError:
        `not delivered: pinned.focal.test resolves to 127.0.0.1, a loopback address: webhooks go to public ` +
        'addresses only (loopback targets are for development, with FOCAL_WEBHOOKS_ALLOW_LOOPBACK=true)',
      pausedReason: expect.stringMatching(/^3 deliveries failed in a row \(last: not delivered: .*loopback/),
    });
    expect(deliveriesTo(id)).toHaveLength(1);
  });

  it('a host that starts resolving to loopback after registration is not delivered to', async () => {
    dns['rebind.focal.test'] = ['93.184.216.34'];
    const id = await subscribe(`http://rebind.focal.test:${hook.port}/hook`);
    dns['rebind.focal.test'] = ['127.0.0.1'];
    await appendOpenEvent();
    await until(async () => (await webhook(id)).status === 'paused', 'the pause');
    expect((await webhook(id)).lastError).toMatch(
      /rebind\.focal\.test resolves to 127\.0\.0\.1, a loopback address/,
    );
    expect(deliveriesTo(id)).toEqual([]);
  });

  const special = [
    ['198.18.0.1', /a benchmarking address \(198\.18\.0\.0\/15\)/],
    ['240.0.0.1', /a reserved address \(240\.0\.0\.0\/4\)/],
    ['255.255.255.255', /the broadcast address/],
    ['64:ff9b::7f00:1', /a NAT64 address \(64:ff9b::\/96\) carrying 127\.0\.0\.1, a loopback address/],
    ['2002:7f00:1::', /a 6to4 address \(2002::\/16\) carrying 127\.0\.0\.1, a loopback address/],
  ] as const;

  it('refuses the special-purpose ranges at registration, as literals and behind a name', async () => {
    for (const [address, description] of special) {
      const literal = address.includes(':') ? `[${address}]` : address;
      const host = `special-${randomUUID().slice(0, 8)}.focal.test`;
      dns[host] = [address];
      for (const url of [`http://${literal}/hook`, `https://${host}/hook`]) {
        const refused = await system.call('POST', '/v1/webhooks', { token: secretariat, body: { url } });
        expect(refused).toMatchObject({
          status: 400,
          body: {
            type: 'urn:focal:problem:invalid-webhook-url',
            detail: expect.stringMatching(description),
            errors: { url: expect.stringMatching(/webhooks go to public addresses only/) },
          },
        });
      }
    }
  });

  it('refuses them at delivery when a name registered on a public address moves there', async () => {
    const ids = await Promise.all(
      special.map(async ([address]) => {
        const host = `moved-${randomUUID().slice(0, 8)}.focal.test`;
        dns[host] = ['93.184.216.34'];
        const id = await subscribe(`http://${host}:${hook.port}/hook`);
        dns[host] = [address];
        return id;
      }),
    );
    await appendOpenEvent();
    for (const [index, [, description]] of special.entries()) {
      await until(async () => (await webhook(ids[index]!)).lastError !== undefined, `a failure for ${index}`);
      expect((await webhook(ids[index]!)).lastError).toMatch(description);
      expect(deliveriesTo(ids[index]!)).toEqual([]);
    }
  });
});
