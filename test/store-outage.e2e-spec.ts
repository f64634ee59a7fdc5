import {
  DEFAULT_LIMITS,
  jsonLogger,
  openPersistence,
  type Persistence,
  type RunningService,
} from '@focal/service';

import { signToken } from '../apps/gateway/src/auth/authenticator.js';
import { startGateway, type RunningGateway } from '../apps/gateway/src/gateway-app.js';
import { GATEWAY_DEFAULTS, type GatewayConfig } from '../apps/gateway/src/gateway.config.js';
import { createTestDatabase, proxiedDatabase, type TestDatabase } from './support/postgres.js';
import { readAnswer } from './support/problems.js';
import { testSecrets } from './support/secrets.js';
import { natsUrl, startDirectory, testConfig, testNamespace } from './support/services.js';
import type { TcpProxy } from './support/tcp-proxy.js';

/**
 * A gateway whose PostgreSQL goes away (behind a proxy this test cuts) while the directory service keeps
 * its own connection. The gateway's health probe runs every 2 s here: requests sent just after the cut meet
 * the broken connection in their own code path (authentication, reads) before the probe has noticed.
 */
describe('a gateway whose store is cut off', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let directory: RunningService;
  let persistence: Persistence;
  let gateway: RunningGateway;

  beforeAll(async () => {
    db = await createTestDatabase('outage');
    const proxied = await proxiedDatabase(db);
    proxy = proxied.proxy;
    const namespace = testNamespace('outage');
    directory = await startDirectory(testConfig(db.url, namespace));
    const config: GatewayConfig = {
      ...GATEWAY_DEFAULTS,
      natsUrl,
      natsNamespace: namespace,
      store: { kind: 'postgres', databaseUrl: proxied.url },
      limits: { ...DEFAULT_LIMITS, storeTimeoutMs: 60_000, storeGiveUpMs: 600_000 },
      port: 0,
      host: '127.0.0.1',
      jwtSecret: testSecrets.jwtSecret,
      masterKey: testSecrets.masterKey,
      commandTimeoutMs: 5_000,
    };
    persistence = await openPersistence(config);
    gateway = await startGateway({ config, persistence, logger: jsonLogger('gateway', ['fatal']) });
  });
  afterAll(async () => {
    await gateway?.stop();
    await persistence?.close();
    await directory?.stop();
    await proxy?.close();
    await db?.drop();
  });

  it('answers 503 store-unavailable, never 500, on every path that reads the store', async () => {
    const call = async (method: string, path: string, token: string, body?: unknown) =>
      readAnswer(
        await fetch(`${gateway.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          ...(body ? { body: JSON.stringify(body) } : {}),
        }),
      );
    const secretariat = await signToken(testSecrets.jwtSecret, { sub: 'sec-1', role: 'secretariat' });
    const france = await signToken(testSecrets.jwtSecret, { sub: 'fr-1', role: 'member-state', state: 'FR' });
    const admitted = await call('PUT', '/v1/states/FR', secretariat, {
      name: 'France',
      status: 'member',
      effectiveFrom: '2002-06-13',
    });
    expect(admitted.status).toBe(201);
    expect((await call('GET', '/v1/states', france)).status).toBe(200);

    proxy.cut();
    // A member state's token is checked against its state's standing in the log: the first read of all.
    const answers = [
      await call('GET', '/v1/states', france),
      await call('GET', '/v1/contact-points?state=FR', france),
      await call('GET', '/v1/states', secretariat),
      await call('GET', '/v1/inbox', france),
    ];
    for (const answer of answers) {
      expect(answer).toMatchObject({ status: 503, body: { reason: 'store-unavailable' } });
      expect(answer.headers.get('retry-after')).toMatch(/^[1-9][0-9]*$/);
    }

    proxy.restore();
    for (let attempt = 0; ; attempt++) {
      const answer = await call('GET', '/v1/states', france);
      if (answer.status === 200) break;
      expect(answer.status).toBe(503);
      if (attempt > 100) throw new Error('the gateway did not answer 200 again after the store came back');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  });
});
