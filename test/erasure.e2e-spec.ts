import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { DirectorySnapshots } from '@focal/audit';

import { rebuildReadModels } from '../apps/gateway/src/read-models/rebuild.js';
import { cloudEventOf, subscribe, typeOf, unreadSubscription, type SseFrame } from './support/sse.js';
import { startSystem, STORES, type TestSystem } from './support/system.js';

/** After erasure, no read path returns the personal fields, not even a replay of the events from before. */
describe.each(STORES)(
  'erasure of a contact point’s personal data, through every read path (%s store)',
  (store) => {
    let system: TestSystem;
    let secretariat: string;

    beforeAll(async () => {
      system = await startSystem(store, 'erasure', {
        webhooksAllowLoopback: true,
        webhookMaxAttempts: 10_000,
        webhookBaseDelayMs: 20,
        directorySnapshotEvery: 1,
      });
      secretariat = await system.token({ role: 'secretariat' });
      await system.call('PUT', '/v1/states/FR', {
        token: secretariat,
        body: { name: 'France', status: 'member', effectiveFrom: '2002-06-13' },
      });
    });
    afterAll(() => system?.stop());

    it('REST, search, SSE replay, a webhook, the audit export, asOf and a rebuild show no personal field; verify passes', async () => {
      // A liaison organisation's webhook whose receiver refuses everything until the erasure is done: its
      // deliveries of the contact point's events all happen afterwards.
      const organisation = await system.call('POST', '/v1/liaison-organisations', {
        token: secretariat,
        body: { name: 'International Criminal Court', acronym: 'ICC', kind: 'international-court' },
        headers: { 'idempotency-key': 'icc' },
      });
      const { body: organisations } = await system.call('GET', '/v1/liaison-organisations', {
        token: secretariat,
        headers: { 'focal-read-after': organisation.headers.get('focal-position')! },
      });
      expect(organisations.items).toHaveLength(1);
      const icc = await system.token({
        role: 'liaison-organisation',
        organisation: organisations.items[0].id,
      });
      let receiving = false;
      const delivered: string[] = [];
      const hook: Server = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk: Buffer) => (body += chunk.toString()));
        request.on('end', () => {
          if (receiving) delivered.push(body);
          response.writeHead(receiving ? 200 : 503).end();
        });
      });
      await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
      const subscribed = await system.call('POST', '/v1/webhooks', {
        token: icc,
        body: { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook` },
      });
      expect(subscribed.status).toBe(201);
      const before = (await system.persistence.store.headPosition())!;
      const live = await subscribe(`${system.url}/v1/updates`, secretariat, { 'last-event-id': before });
      const created = await system.call('POST', '/v1/contact-points', {
        token: secretariat,
        body: {
          state: 'FR',
          fullName: 'Hélène Dupont',
          email: 'helene.dupont@justice.gouv.fr',
          phone: '+33155555555',
          notes: 'speaks Arabic',
          role: 'investigator',
          authority: 'OCLCH',
          languages: ['fr', 'ar'],
        },
      });
      const id = created.body.id as string;
      // Before erasure the secretariat sees the data, live: the frame is built while the key exists.
      await live.waitFor((frames: SseFrame[]) => frames.some((frame) => frame.data?.includes('Hélène')));
      live.close();

      // Snapshots of the directory taken while the contact point still had its data hold only ciphertext.
      const snapshots = new DirectorySnapshots(
        system.persistence.store,
        system.persistence.sql,
        system.persistence.keys,
        { every: 1 },
      );
      await snapshots.catchUp();
      const beforeErasure = new Date();
      const erased = await system.call('DELETE', `/v1/contact-points/${id}/personal-data`, {
        token: secretariat,
      });
      expect(erased.status).toBe(200);
      const after = erased.headers.get('focal-position')!;
      const personal = /Hélène|helene\.dupont|33155555555|speaks Arabic/;

      const read = await system.call('GET', `/v1/contact-points/${id}`, {
        token: secretariat,
        headers: { 'focal-read-after': after },
      });
      expect(read.body).toMatchObject({ id, authority: 'OCLCH', personalData: { erased: true } });
      expect(JSON.stringify(read.body)).not.toMatch(personal);
      const search = await system.call('GET', '/v1/contact-points?q=Dupont', { token: secretariat });
      expect(search.body.total).toBe(0);

      const replay = await subscribe(`${system.url}/v1/updates`, secretariat, { 'last-event-id': before });
      await replay.waitFor((frames) =>
        frames.some((frame) => typeOf(frame) === 'ContactPointPersonalDataErased'),
      );
      replay.close();
      const registered = replay.frames.find((frame) => typeOf(frame) === 'ContactPointRegistered')!;
      expect(cloudEventOf(registered)!.data!.personal).toEqual({ erased: true });
      expect(JSON.stringify(replay.frames)).not.toMatch(personal);

      const exported = await fetch(`${system.url}/v1/audit/events`, {
        headers: { authorization: `Bearer ${secretariat}` },
      });
      expect(await exported.text()).not.toMatch(personal);
      expect((await system.call('GET', '/v1/audit/verify', { token: secretariat })).body).toMatchObject({
        ok: true,
      });

      await snapshots.catchUp();
      const stored = await system.persistence.sql.query<{ state: string }>(
        'SELECT state::text AS state FROM focal_directory_snapshots',
      );
      expect(stored.length).toBeGreaterThan(1);
      expect(stored.map((row) => row.state).join('\n')).not.toMatch(personal);

      // The directory before the erasure and now: the contact point as it stood, its data erased either way.
      for (const instant of [beforeErasure, new Date()]) {
        const asOf = await system.call(
          'GET',
          `/v1/directory?asOf=${encodeURIComponent(instant.toISOString())}`,
          {
            token: secretariat,
          },
        );
        expect(asOf.body.contactPoints).toEqual([
          expect.objectContaining({ id, personalData: { erased: true } }),
        ]);
        expect(JSON.stringify(asOf.body)).not.toMatch(personal);
      }

      receiving = true;
      await waitUntil(() => delivered.some((body) => body.includes('ContactPointPersonalDataErased')));
      hook.close();
      expect(delivered.some((body) => body.includes('ContactPointRegistered'))).toBe(true);
      expect(delivered.join('\n')).not.toMatch(personal);

      await rebuildReadModels(system.persistence);
      const rebuilt = await waitFor(async () => {
        const response = await system.call('GET', `/v1/contact-points/${id}`, { token: secretariat });
        return response.status === 200 ? response.body : undefined;
      });
      expect(rebuilt).toMatchObject({ id, personalData: { erased: true } });
      expect(JSON.stringify(rebuilt)).not.toMatch(personal);
    });

    it('a retry with the same Idempotency-Key after the erasure answers alike whatever it holds; the log keeps no plain hash of it', async () => {
      const france = await system.token({ role: 'member-state', state: 'FR' });
      const register = (fullName: string) =>
        system.call('POST', '/v1/contact-points', {
          token: france,
          headers: { 'idempotency-key': 'amelie-zorglub' },
          body: {
            state: 'FR',
            fullName,
            email: 'amelie.zorglub@justice.gouv.fr',
            role: 'prosecutor',
            authority: 'Parquet national antiterroriste',
            languages: ['fr'],
          },
        });
      const first = await register('Amélie Zorglub');
      expect(first.status).toBe(201);
      // While the data exists the key tells a retry from another command.
      expect((await register('Amélie Zorglub')).body).toEqual(first.body);
      const guessed = await register('Amélie Zorglob');
      expect(guessed.status).toBe(409);
      expect(guessed.body.type).toContain('idempotency-key-reused');

      const streamId = `contact-point-${first.body.id as string}`;
      const history = await fetch(`${system.url}/v1/audit/events?stream=${streamId}`, {
        headers: { authorization: `Bearer ${secretariat}` },
      });
      const [registered] = (await history.text())
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { metadata: { commandFingerprint?: string } });
      expect(registered!.metadata.commandFingerprint).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);

      const erased = await system.call(
        'DELETE',
        `/v1/contact-points/${first.body.id as string}/personal-data`,
        {
          token: secretariat,
        },
      );
      expect(erased.status).toBe(200);
      // Now no guess can be told from the truth: both get the first answer.
      for (const fullName of ['Amélie Zorglub', 'Amélie Zorglob']) {
        const again = await register(fullName);
        expect({ fullName, status: again.status, body: again.body }).toEqual({
          fullName,
          status: 201,
          body: first.body,
        });
      }
    });

    it('a replay waiting for its subscriber to read sees an erasure committed meanwhile in the rest of its page', async () => {
      const head = (await system.persistence.store.headPosition())!;
      // A live subscriber from the tail's head on: once it has the registration, the tail holds all of it.
      const probe = await subscribe(`${system.url}/v1/updates`, secretariat);
      // Events enough to fill the kernel's buffers and the gateway's bound before the contact point's.
      for (let start = 0; start < 450; start += 50) {
        await system.persistence.store.append(
          `state-${randomUUID()}`,
          Array.from({ length: 50 }, () => ({
            eventId: randomUUID(),
            type: 'StateStatusChanged',
            data: { padding: 'x'.repeat(20_000) },
            metadata: {
              actor: { principal: 'test', role: 'secretariat' as const },
              correlationId: 'erasure',
            },
            visibility: { level: 'open' as const },
          })),
          { expectedVersion: 'no-stream' },
        );
      }
      const created = await system.call('POST', '/v1/contact-points', {
        token: secretariat,
        body: {
          state: 'FR',
          fullName: 'Irène Laurent',
          email: 'irene.laurent@justice.gouv.fr',
          role: 'investigator',
          authority: 'OCLCH',
          languages: ['fr'],
        },
      });
      expect(created.status).toBe(201);
      // The replay's first page then holds them all, the registration last.
      await probe.waitFor((frames) =>
        frames.some((frame) => system.positionOf(frame.id) === created.headers.get('focal-position')),
      );
      probe.close();

      // A subscriber that does not read yet (HTTP/1.0: the body unchunked, until the gateway closes it).
      const socket = await unreadSubscription(system.url, secretariat, head, '1.0');
      // Time to read and decrypt its first page before the erasure (without it the test passes, never fails).
      await new Promise((resolve) => setTimeout(resolve, 500));
      const erased = await system.call('DELETE', `/v1/contact-points/${created.body.id}/personal-data`, {
        token: secretariat,
      });
      expect(erased.status).toBe(200);

      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.resume();
      await waitUntil(() => text.includes('ContactPointPersonalDataErased'), 30_000);
      socket.destroy();
      const registered = /^data: (.*ContactPointRegistered.*)$/m.exec(text);
      expect(JSON.parse(registered![1]!).data.personal).toEqual({ erased: true });
      expect(text).not.toMatch(/Irène|irene\.laurent/);
    });
  },
);

async function waitUntil(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function waitFor<T>(read: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
