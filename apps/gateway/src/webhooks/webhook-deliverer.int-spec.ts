import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Actor } from '@focal/domain';
import {
  LocalKeyring,
  PGliteDriver,
  SqlEventStore,
  SqlKeyStore,
  type EventStore,
  type NewEvent,
} from '@focal/events';

import { PositionCursors } from '../http/position-cursors.js';
import { cloudEventSource, UpdateFrames } from '../updates/update-frames.js';

const cursors = new PositionCursors(randomBytes(32));
import { WebhookDeliverer } from './webhook-deliverer.js';
import { WebhookStore } from './webhook-store.js';

const secretariat: Actor = { principal: 'deliverer-spec', role: 'secretariat' };

const openEvent = (): NewEvent => ({
  eventId: randomUUID(),
  type: 'StateStatusChanged',
  data: { note: randomUUID() },
  metadata: { actor: secretariat, correlationId: 'deliverer-spec' },
  visibility: { level: 'open' },
});

const until = async (condition: () => boolean, what: string, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('WebhookDeliverer (PGlite)', () => {
  let sql: PGliteDriver;
  let store: EventStore;
  let webhooks: WebhookStore;
  let server: Server;
  const received: string[] = [];

  beforeAll(async () => {
    sql = await PGliteDriver.open();
    store = await SqlEventStore.open(sql, { closeDriver: false });
    webhooks = new WebhookStore(sql);
    await webhooks.setUp();
    server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        received.push(String(request.headers['webhook-id']).split(':')[1]!);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await store.close();
    await sql.close();
  });

  it('a subscription whose serving failed on the store is served again within seconds, not after its lease', async () => {
    const keys = await SqlKeyStore.open(sql, LocalKeyring.parse(LocalKeyring.newLine('deliverer')));
    // The store fails one read of the log: what a dropped connection or a restarting server does.
    let failNextRead = false;
    const failing = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'readAll') {
          return (...args: Parameters<EventStore['readAll']>) => {
            if (failNextRead) {
              failNextRead = false;
              return Promise.reject(new Error('connection terminated unexpectedly'));
            }
            return target.readAll(...args);
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const errors: unknown[] = [];
    const deliverer = new WebhookDeliverer(
      failing,
      webhooks,
      new UpdateFrames(keys, cursors, cloudEventSource()),
      cursors,
      {
        maxAttempts: 3,
        baseDelayMs: 50,
        maxDelayMs: 1_000,
        timeoutMs: 5_000,
        pollMs: 100,
        target: { allowLoopback: true },
      },
      (error) => errors.push(error),
    );
    await webhooks.create({
      id: randomUUID(),
      owner: 'secretariat/-/deliverer-spec',
      actor: secretariat,
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
      types: null,
      secret: `whsec_${randomBytes(32).toString('base64')}`,
      cursor: (await store.headPosition()) ?? null,
    });
    deliverer.start();
    try {
      const first = await store.append(`state-${randomUUID()}`, [openEvent()], { expectedVersion: 'any' });
      deliverer.wake();
      await until(() => received.includes(first.lastPosition), 'the first delivery', 10_000);

      failNextRead = true;
      const second = await store.append(`state-${randomUUID()}`, [openEvent()], { expectedVersion: 'any' });
      deliverer.wake();
      // The lease is a minute: within ten seconds only a subscription handed back after the failure gets it.
      await until(() => received.includes(second.lastPosition), 'the delivery after the failed read', 10_000);
      expect(errors.map(String)).toEqual(['Error: connection terminated unexpectedly']);
      expect(received).toEqual([first.lastPosition, second.lastPosition]);
    } finally {
      await deliverer.stop();
    }
  });
});
