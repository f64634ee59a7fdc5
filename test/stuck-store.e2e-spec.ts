import { randomUUID } from 'node:crypto';

import type { RunningService } from '@focal/service';

import { createTestDatabase, proxiedDatabase, type TestDatabase } from './support/postgres.js';
import { spawnService, stopProcess, waitForLine, type ServiceProcess } from './support/processes.js';
import {
  actors,
  natsUrl,
  startDirectory,
  testClient,
  testConfig,
  testNamespace,
  type TestClient,
} from './support/services.js';
import { startSystem, type TestSystem } from './support/system.js';
import type { TcpProxy } from './support/tcp-proxy.js';

const registerOrganisation = (client: TestClient) =>
  client.send('focal.directory.liaison-organisation.register', actors.secretariat, {
    organisationId: randomUUID(),
    name: 'International Commission on Missing Persons',
    acronym: 'ICMP',
    kind: 'international-organisation',
  });

/** The exit code, or a failure naming what the process printed: the defect under test is a process that stays. */
async function exitOf(service: ServiceProcess, timeoutMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`still running after ${timeoutMs} ms:\n${service.lines.join('\n')}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([service.exited, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A directory instance whose store stops answering, as its own process with its PostgreSQL behind a proxy
 * this test controls, beside a healthy instance of the same queue group.
 */
describe('a service whose store stops answering', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let namespace: string;
  let healthy: RunningService;
  let client: TestClient;
  let stuck: ServiceProcess;

  beforeEach(async () => {
    db = await createTestDatabase('stuck');
    const proxied = await proxiedDatabase(db);
    proxy = proxied.proxy;
    namespace = testNamespace('stuck');
    healthy = await startDirectory(testConfig(db.url, namespace));
    stuck = spawnService('directory', {
      NATS_URL: natsUrl,
      FOCAL_NATS_NAMESPACE: namespace,
      FOCAL_STORE: 'postgres',
      DATABASE_URL: proxied.url,
      FOCAL_STORE_TIMEOUT_MS: '1000',
      FOCAL_STORE_GIVE_UP_MS: '6000',
    });
    await waitForLine(stuck, /listening on/);
    client = await testClient(namespace, { timeoutMs: 4_000 });
  });
  afterEach(async () => {
    await client?.close();
    await stopProcess(stuck.child);
    proxy.restore();
    await healthy?.stop();
    await proxy.close();
    await db.drop();
  });

  it('frozen: leaves its queue group at once, so the other instance answers every command; then exits 1', async () => {
    proxy.freeze();
    await waitForLine(stuck, /the store does not answer \(no answer for \d+ s\): left queue group/, 10_000);
    const before = healthy.host.handled;
    const replies = await Promise.all(Array.from({ length: 20 }, () => registerOrganisation(client)));
    expect(replies).toHaveLength(20);
    expect(healthy.host.handled - before).toBe(20);
    // Still frozen after the bound: it gives up, for its supervisor to start it afresh.
    expect(await exitOf(stuck, 20_000)).toBe(1);
    expect(stuck.lines.join('\n')).toMatch(/has not answered for \d+ s .*giving up/);
  });

  it('cut off and back within the bound: leaves its queue group, then joins it again and takes commands', async () => {
    proxy.cut();
    await waitForLine(stuck, /the store does not answer \(unreachable: .*\): left queue group/, 10_000);
    proxy.restore();
    await waitForLine(stuck, /the store answers again after .* back in 'directory'/, 10_000);
    const before = healthy.host.handled;
    await Promise.all(Array.from({ length: 40 }, () => registerOrganisation(client)));
    // NATS spreads a queue group's messages at random: both instances took some of the forty.
    const byHealthy = healthy.host.handled - before;
    expect(byHealthy).toBeGreaterThan(0);
    expect(byHealthy).toBeLessThan(40);
    expect(stuck.child.exitCode).toBeNull();
  });

  it('on SIGTERM with a command stuck on the frozen store, exits once the grace period is over', async () => {
    stuck.child.kill('SIGTERM');
    await stopProcess(stuck.child);
    const graceful = spawnService('directory', {
      NATS_URL: natsUrl,
      FOCAL_NATS_NAMESPACE: namespace,
      FOCAL_STORE: 'postgres',
      DATABASE_URL: (() => {
        const proxied = new URL(db.url);
        proxied.port = String(proxy.port);
        return proxied.toString();
      })(),
      FOCAL_STORE_TIMEOUT_MS: '60000',
      FOCAL_SHUTDOWN_GRACE_MS: '1500',
    });
    stuck = graceful;
    await waitForLine(graceful, /listening on/);
    await healthy.stop();
    proxy.freeze();
    // The only instance takes this command, and it hangs on the frozen store.
    const pending = registerOrganisation(client).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const sentAt = Date.now();
    graceful.child.kill('SIGTERM');
    expect(await exitOf(graceful, 10_000)).toBe(1);
    expect(Date.now() - sentAt).toBeLessThan(5_000);
    expect(graceful.lines.join('\n')).toMatch(/still stopping after 1500 ms/);
    expect(await pending).toMatchObject({ name: 'ServiceUnavailableError' });
    healthy = await startDirectory(testConfig(db.url, namespace));
  });
});

/** The embedded system, as npm start runs it, when its one PGlite connection is held and never freed. */
describe('the embedded system when its store is held', () => {
  let system: TestSystem;
  afterEach(() => system?.stop());

  it('is not ready within the bound, answers 503 instead of hanging, and recovers when the store is free', async () => {
    system = await startSystem('pglite', 'held', {
      limits: { storeTimeoutMs: 500, storeGiveUpMs: 60_000, shutdownGraceMs: 5_000 },
    });
    const secretariat = await system.token({ role: 'secretariat' });
    expect((await system.call('GET', '/health/ready')).status).toBe(200);

    // A transaction that never ends: PGlite's one connection waits behind it, as it did behind the defect
    // that froze npm start on the first contact point.
    let release!: () => void;
    const held = system.persistence.sql.transaction(
      () => new Promise<void>((resolve) => (release = resolve)),
    );
    const startedAt = Date.now();
    const waiting = system.call('GET', '/v1/states', { token: secretariat });
    const ready = await system.call('GET', '/health/ready');
    expect(ready).toMatchObject({
      status: 503,
      body: { checks: { store: expect.stringMatching(/no answer/) } },
    });
    expect(Date.now() - startedAt).toBeLessThan(3_000);
    // The request that was waiting on the store is answered too, and so is the next one.
    expect(await waiting).toMatchObject({ status: 503, body: { reason: 'store-unavailable' } });
    const next = await system.call('PUT', '/v1/states/FR', {
      token: secretariat,
      body: { name: 'France', status: 'member', effectiveFrom: '2002-06-13' },
    });
    expect(next).toMatchObject({ status: 503, body: { reason: 'store-unavailable' } });
    expect(next.headers.get('retry-after')).toBe('1');

    release();
    await held;
    for (const deadline = Date.now() + 10_000; ;) {
      if ((await system.call('GET', '/health/ready')).status === 200) break;
      if (Date.now() > deadline) throw new Error('not ready again 10 s after the store was freed');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const admitted = await system.call('PUT', '/v1/states/FR', {
      token: secretariat,
      body: { name: 'France', status: 'member', effectiveFrom: '2002-06-13' },
    });
    expect(admitted.status).toBe(201);
  });
});
