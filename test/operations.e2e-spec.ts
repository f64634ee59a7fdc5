import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { DEFAULT_LIMITS, jsonLogger, startService, type RunningService } from '@focal/service';

import { DirectoryModule } from '../apps/directory/src/directory.module.js';
import { signToken } from '../apps/gateway/src/auth/authenticator.js';
import { GATEWAY_DEFAULTS } from '../apps/gateway/src/gateway.config.js';
import { MessagingModule } from '../apps/messaging/src/messaging.module.js';
import { startFocal, type RunningSystem } from '../apps/system/src/system.js';
import { assertDocumented } from './support/openapi-conformance.js';
import { createTestDatabase, proxiedDatabase, type TestDatabase } from './support/postgres.js';
import { readAnswer } from './support/problems.js';
import { spawnService, stopProcess, waitForLine, type ServiceProcess } from './support/processes.js';
import { scrape, valueOf } from './support/prometheus.js';
import { testSecrets } from './support/secrets.js';
import {
  actors,
  natsUrl,
  testClient,
  testConfig,
  testNamespace,
  type TestClient,
} from './support/services.js';
import type { TcpProxy } from './support/tcp-proxy.js';
import { until } from './support/until.js';

/** A pino destination that keeps every line written to it, as the process's stdout would show them. */
function capturedLogs() {
  const lines: string[] = [];
  let partial = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      const text = partial + chunk.toString();
      const complete = text.split('\n');
      partial = complete.pop()!;
      lines.push(...complete.filter(Boolean));
      done();
    },
  });
  return {
    lines,
    stream,
    logger: (part: string) => jsonLogger(part, ['log', 'warn', 'error', 'fatal'], stream),
  };
}

const personal = { fullName: 'Zofia Wiśniewska-Operacyjna', email: 'zofia.ops@pk.gov.pl' };
const post = { role: 'prosecutor' as const, authority: 'Prokuratura Krajowa', languages: ['pl'] };

/** Every process metric the issue asks for, by the names prom-client's defaults give them. */
function expectProcessMetrics(samples: Awaited<ReturnType<typeof scrape>>) {
  for (const name of [
    'process_cpu_user_seconds_total',
    'process_start_time_seconds',
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
    'nodejs_eventloop_lag_seconds',
    'nodejs_eventloop_lag_p99_seconds',
  ]) {
    expect({ name, value: valueOf(samples, name) }).toEqual({ name, value: expect.any(Number) });
  }
}

describe('the operations listener of each service', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let namespace: string;
  let client: TestClient;
  let directory: RunningService;
  let messaging: RunningService;
  const logs = capturedLogs();

  beforeAll(async () => {
    db = await createTestDatabase('operations');
    namespace = testNamespace('operations');
    // The directory reaches PostgreSQL through a proxy this test cuts; messaging directly.
    const proxied = await proxiedDatabase(db);
    proxy = proxied.proxy;
    const operations = { host: '127.0.0.1', port: 0 };
    directory = await startService({
      service: 'directory',
      module: DirectoryModule,
      config: {
        ...testConfig(proxied.url, namespace),
        limits: { ...DEFAULT_LIMITS, storeTimeoutMs: 1_000, storeGiveUpMs: 600_000 },
      },
      logger: logs.logger('directory'),
      operations,
    });
    messaging = await startService({
      service: 'messaging',
      module: MessagingModule,
      config: testConfig(db.url, namespace),
      logger: logs.logger('messaging'),
      operations,
    });
    client = await testClient(namespace, { timeoutMs: 5_000 });
  });
  afterAll(async () => {
    await client?.close();
    await directory?.stop();
    await messaging?.stop();
    await proxy?.close();
    await db?.drop();
  });

  it('serves /metrics that parse, with the process metrics and the commands by subject and outcome', async () => {
    const correlationId = `ops-${randomUUID()}`;
    await client.commands.send('focal.directory.contact-point.register', {
      actor: actors.secretariat,
      idempotencyKey: randomUUID(),
      correlationId,
      command: {
        contactPointId: randomUUID(),
        state: 'PL',
        personal,
        primary: false,
        expertise: [],
        ...post,
      },
    });
    await expect(
      client.send('focal.directory.contact-point.confirm', actors.secretariat, {
        contactPointId: randomUUID(),
      }),
    ).rejects.toMatchObject({ code: 'NotFound' });

    const register = 'focal.directory.contact-point.register';
    const confirm = 'focal.directory.contact-point.confirm';
    const samples = await scrape(directory.operationsUrl!);
    expectProcessMetrics(samples);
    expect(valueOf(samples, 'focal_commands_total', { subject: register, outcome: 'ok' })).toBe(1);
    expect(valueOf(samples, 'focal_commands_total', { subject: confirm, outcome: 'NotFound' })).toBe(1);
    expect(valueOf(samples, 'focal_command_duration_seconds_count', { subject: register })).toBe(1);
    expect(valueOf(samples, 'focal_command_duration_seconds_sum', { subject: register })).toBeGreaterThan(0);
    expect(valueOf(samples, 'focal_command_duration_seconds_bucket', { subject: register, le: '+Inf' })).toBe(
      1,
    );
    // The lag of the projection the directory keeps, read at the scrape.
    const primaries = { projection: 'directory.primary-contact-points.v1' };
    expect(valueOf(samples, 'focal_projection_lag_events', primaries)).toEqual(expect.any(Number));
    expect(valueOf(samples, 'focal_projection_lag_milliseconds', primaries)).toEqual(expect.any(Number));

    // Each service process counts its own commands.
    const messagingSamples = await scrape(messaging.operationsUrl!);
    expectProcessMetrics(messagingSamples);
    expect(
      messagingSamples.filter((sample) => sample.labels.subject?.startsWith('focal.directory.')),
    ).toEqual([]);

    // One JSON line per command, with the caller's correlation id, and nothing personal in any line.
    const lines = logs.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({
        service: 'directory',
        level: 'info',
        msg: 'command answered',
        subject: register,
        outcome: 'ok',
        correlationId,
        durationMs: expect.any(Number),
      }),
    );
    const text = logs.lines.join('\n');
    expect(text).not.toContain(personal.email);
    expect(text).not.toContain(personal.fullName);
  });

  it('is live, and ready with NATS, the store and the projections as Terminus reports them', async () => {
    const live = await fetch(`${directory.operationsUrl}/health/live`);
    expect({ status: live.status, body: await live.json() }).toMatchObject({
      status: 200,
      body: { status: 'ok' },
    });
    for (const service of [directory, messaging]) {
      const ready = await fetch(`${service.operationsUrl}/health/ready`);
      expect({ status: ready.status, body: await ready.json() }).toMatchObject({
        status: 200,
        body: {
          status: 'ok',
          details: {
            nats: { status: 'up' },
            store: { status: 'up' },
            projections: { status: 'up' },
          },
        },
      });
    }
    const ready = (await (await fetch(`${directory.operationsUrl}/health/ready`)).json()) as {
      details: { projections: Record<string, unknown> };
    };
    // Each projection of the service with its lag.
    const lags = Object.entries(ready.details.projections).filter(([key]) => key !== 'status');
    expect(lags.length).toBeGreaterThan(0);
    for (const [, lag] of lags)
      expect(lag).toEqual({ events: expect.any(Number), milliseconds: expect.any(Number) });
  });

  it('answers what it does not serve as problem details, never the framework body', async () => {
    for (const [path, init, status, reason] of [
      ['/', {}, 404, 'not-found'],
      ['/metrics/%zz', {}, 400, 'invalid-request'],
      [
        '/health/ready',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' },
        400,
        'invalid-request',
      ],
    ] as const) {
      const answer = await fetch(`${directory.operationsUrl}${path}`, init);
      expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect({ status: answer.status, body: await answer.json() }).toEqual({
        status,
        body: {
          type: `urn:focal:problem:${reason}`,
          title: expect.any(String),
          status,
          detail: expect.stringContaining('/health/live, /health/ready and /metrics'),
          reason,
        },
      });
    }
  });

  it('answers 503 naming the store when its store is cut off, within the bound, and 200 again after', async () => {
    proxy.cut();
    try {
      let answer: { status: number; body: unknown } | undefined;
      await until(async () => {
        const started = Date.now();
        const response = await fetch(`${directory.operationsUrl}/health/ready`);
        answer = { status: response.status, body: await response.json() };
        // The store's timeout (1 s here) bounds the answer, whatever the store does.
        expect(Date.now() - started).toBeLessThan(5_000);
        return response.status === 503;
      }, 'the directory to be not ready');
      expect(answer).toMatchObject({
        status: 503,
        body: {
          status: 'error',
          error: { store: { status: 'down', message: expect.stringMatching(/unreachable|no answer/) } },
          details: { nats: { status: 'up' } },
        },
      });
      // The other service, on its own connections, stays ready.
      expect((await fetch(`${messaging.operationsUrl}/health/ready`)).status).toBe(200);
    } finally {
      proxy.restore();
    }
    await until(
      async () => (await fetch(`${directory.operationsUrl}/health/ready`)).status === 200,
      'the directory to be ready again',
    );
  });
  it('refuses to start on an operations port already taken, saying what to do', async () => {
    const taken = Number(new URL(directory.operationsUrl!).port);
    await expect(
      startService({
        service: 'messaging',
        module: MessagingModule,
        config: testConfig(db.url, testNamespace('opstaken')),
        logger: jsonLogger('messaging', ['fatal']),
        operations: { host: '127.0.0.1', port: taken },
      }),
    ).rejects.toThrow(`the operations listener cannot listen on 127.0.0.1:${taken}`);
    // The instances already running are untouched.
    expect((await fetch(`${directory.operationsUrl}/health/live`)).status).toBe(200);
  });
});

describe('a service process started from its main.ts', () => {
  let db: TestDatabase;
  let service: ServiceProcess | undefined;
  afterAll(async () => {
    if (service) await stopProcess(service.child);
    await db?.drop();
  });

  it('serves its health and metrics on FOCAL_OPERATIONS_PORT, and logs JSON lines only', async () => {
    db = await createTestDatabase('opsprocess');
    service = spawnService('messaging', {
      NATS_URL: natsUrl,
      FOCAL_NATS_NAMESPACE: testNamespace('opsprocess'),
      FOCAL_STORE: 'postgres',
      DATABASE_URL: db.url,
      FOCAL_OPERATIONS_PORT: '0',
    });
    await waitForLine(service, /health and metrics on http:/);
    const started = service.lines
      .map((line) => JSON.parse(line))
      .find((line) => /health and metrics on/.test(line.msg));
    expect(started).toMatchObject({ service: 'messaging', level: 'info' });
    const url = /health and metrics on (http:\/\/\S+)/.exec(started.msg)![1]!;
    expectProcessMetrics(await scrape(url));
    expect((await fetch(`${url}/health/ready`)).status).toBe(200);
    for (const line of service.lines) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('refuses a FOCAL_OPERATIONS_PORT that is not a port, beside every other problem', async () => {
    const refused = spawnService('directory', {
      NATS_URL: 'http://localhost:4222',
      FOCAL_STORE: 'postgres',
      DATABASE_URL: '',
      FOCAL_OPERATIONS_PORT: 'ninety',
    });
    expect(await refused.exited).toBe(1);
    const output = refused.lines.join('\n');
    expect(output).toMatch(/FOCAL_OPERATIONS_PORT=ninety is not a port/);
    expect(output).toMatch(/DATABASE_URL is not set/);
  });
});

describe('the embedded system (npm start): one place for logs, health and metrics', () => {
  let home: string;
  let system: RunningSystem;
  const logs = capturedLogs();

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'focal-ops-'));
    system = await startFocal(
      {
        ...GATEWAY_DEFAULTS,
        natsUrl,
        natsNamespace: testNamespace('opsembedded'),
        store: { kind: 'pglite', dataDir: join(home, 'data') },
        limits: DEFAULT_LIMITS,
        port: 0,
        host: '127.0.0.1',
        operations: { host: '127.0.0.1', port: 0 },
        jwtSecret: testSecrets.jwtSecret,
        masterKey: testSecrets.masterKey,
        commandTimeoutMs: 10_000,
      },
      { logger: logs.logger },
    );
  });
  afterAll(async () => {
    await system?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('logs each request and command as JSON with its correlation id, and no personal data', async () => {
    const token = await signToken(testSecrets.jwtSecret, { sub: 'ops-secretariat', role: 'secretariat' });
    const send = (method: string, path: string, body: unknown, correlationId: string) =>
      fetch(`${system.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'x-correlation-id': correlationId,
        },
        body: JSON.stringify(body),
      });
    const admitted = await send(
      'PUT',
      '/v1/states/PL',
      { name: 'Poland', status: 'member', effectiveFrom: '2004-05-01' },
      `ops-state-${randomUUID()}`,
    );
    expect(admitted.status).toBe(201);
    const correlationId = `ops-register-${randomUUID()}`;
    const registered = await send(
      'POST',
      '/v1/contact-points',
      { state: 'PL', ...personal, ...post },
      correlationId,
    );
    expect(registered.status).toBe(201);
    expect(registered.headers.get('x-correlation-id')).toBe(correlationId);

    await until(
      () => logs.lines.some((line) => line.includes(correlationId) && line.includes('request answered')),
      'the request line',
      5_000,
    );
    const lines = logs.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({
        service: 'gateway',
        level: 'info',
        msg: 'request answered',
        correlationId,
        method: 'POST',
        route: '/v1/contact-points',
        status: 201,
        durationMs: expect.any(Number),
      }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        service: 'directory',
        msg: 'command answered',
        subject: 'focal.directory.contact-point.register',
        outcome: 'ok',
        correlationId,
      }),
    );
    const text = logs.lines.join('\n');
    expect(text).not.toContain(personal.email);
    expect(text).not.toContain(personal.fullName);
    expect(text).not.toContain(token);
  });

  it("serves the process's metrics once, with the services' commands, on the gateway's operations listener", async () => {
    const operationsUrl = system.gateway.operationsUrl!;
    expect(logs.lines.some((line) => line.includes(`health and metrics on ${operationsUrl}`))).toBe(true);
    const samples = await scrape(operationsUrl);
    expectProcessMetrics(samples);
    expect(
      valueOf(samples, 'focal_commands_total', {
        subject: 'focal.directory.contact-point.register',
        outcome: 'ok',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      valueOf(samples, 'focal_http_requests_total', {
        route: '/v1/contact-points',
        method: 'POST',
        status: '201',
      }),
    ).toBe(1);
    // The services' projections beside the gateway's read models.
    expect(
      valueOf(samples, 'focal_projection_lag_events', { projection: 'directory.primary-contact-points.v1' }),
    ).toEqual(expect.any(Number));
    expect(
      valueOf(samples, 'focal_projection_lag_events', { projection: 'gateway.directory.gateway_v1' }),
    ).toEqual(expect.any(Number));
    // Each family once: nothing registered twice by the three parts.
    const types = (await (await fetch(`${operationsUrl}/metrics`)).text()).match(/^# TYPE \S+/gm)!;
    expect(new Set(types).size).toBe(types.length);
    // Not on the API's port, where every client could count what it may not see.
    expect((await fetch(`${system.url}/metrics`)).status).toBe(404);
    expect(system.services.every((service) => service.operationsUrl === undefined)).toBe(true);
  });

  it("reports readiness through Terminus' indicators in the documented shape", async () => {
    const ready = await readAnswer(await fetch(`${system.url}/health/ready`));
    // As the OpenAPI document at /docs-json describes it.
    await assertDocumented(system.url, { method: 'GET', path: '/health/ready', ...ready });
    expect(ready).toMatchObject({
      status: 200,
      body: {
        status: 'ready',
        checks: { nats: 'ok', store: 'ok', readModels: expect.any(String), projections: 'ok' },
      },
    });
    // Anyone may ask the API's port: no lag there, which would move as events, closed ones too, are recorded.
    expect(Object.keys(ready.body as object).sort()).toEqual(['checks', 'status']);
    // Each projection's lag on the operations listener, the services' too: in this process, the gateway
    // answers for them.
    const operations = await readAnswer(await fetch(`${system.gateway.operationsUrl}/health/ready`));
    expect(operations).toMatchObject({
      status: 200,
      body: {
        status: 'ok',
        details: {
          nats: { status: 'up' },
          store: { status: 'up' },
          projections: {
            status: 'up',
            'directory.primary-contact-points.v1': {
              events: expect.any(Number),
              milliseconds: expect.any(Number),
            },
            'gateway.directory.gateway_v1': { events: expect.any(Number), milliseconds: expect.any(Number) },
          },
        },
      },
    });
  });
});
