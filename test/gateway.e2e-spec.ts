import { once } from 'node:events';
import { connect, type Socket } from 'node:net';

import { startSystem, STORES, type TestSystem } from './support/system.js';
import { until } from './support/until.js';

describe.each(STORES)('gateway basics (%s store)', (store) => {
  let system: TestSystem;
  beforeAll(async () => {
    // A command may take a minute here: a stop that waited out the command timeout would fail its test's.
    system = await startSystem(store, 'gateway', { commandTimeoutMs: 60_000 });
  });
  afterAll(() => system?.stop());

  it('answers health, readiness and docs without a token, and metrics on its operations listener', async () => {
    expect(await system.call('GET', '/health/live')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await system.call('GET', '/health/ready')).toMatchObject({
      status: 200,
      body: { status: 'ready', checks: { nats: 'ok', store: 'ok' } },
    });
    const metrics = await system.metrics();
    expect(metrics).toMatch(/focal_http_requests_total/);
    expect(metrics).toMatch(/focal_projection_lag_events\{projection="gateway\.directory\.gateway_v1"\} 0/);
    expect(new URL(system.gateway.operationsUrl!).port).not.toBe(new URL(system.url).port);
    const docs = await system.call('GET', '/docs-json');
    expect(docs.status).toBe(200);
    expect(Object.keys(docs.body.paths)).toEqual(expect.arrayContaining(['/v1/contact-points', '/v1/inbox']));
    expect((await fetch(`${system.url}/docs`)).status).toBe(200);
  });

  // Its counters are of every principal's commands and requests, closed ones too: on the API's port a guest would
  // count closed agenda items or thread posts by difference (SPEC §1: counts answer from the one rule).
  it("does not serve the metrics on the API's port, with a token or without", async () => {
    const guest = await system.token({ role: 'guest-state', state: 'UA' });
    const before = await system.metrics();
    for (const token of [undefined, guest]) {
      const answer = await fetch(`${system.url}/metrics`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      expect(answer.status).toBe(404);
      expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const text = await answer.text();
      expect(text).not.toMatch(/focal_/);
      expect(JSON.parse(text)).toMatchObject({
        status: 404,
        detail: expect.stringContaining('FOCAL_OPERATIONS_PORT'),
      });
    }
    expect(before).toMatch(/focal_commands_total|focal_http_requests_total/);
  });

  it('answers the requests in flight when it stops, and keeps what it acknowledged', async () => {
    const secretariat = await system.token({ role: 'secretariat' });
    await system.ok('PUT', '/v1/states/FR', secretariat, {
      name: 'France',
      status: 'member',
      effectiveFrom: '2002-06-13',
    });
    const france = await system.token({ role: 'member-state', state: 'FR' });
    const url = system.url;
    // The log held for two seconds: the registrations sent meanwhile are in flight when the stop begins.
    let locked!: () => void;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const held = system.persistence.sql.transaction(async (tx) => {
      await tx.exec('LOCK TABLE focal_events IN ACCESS EXCLUSIVE MODE');
      locked();
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    });
    await lockTaken;
    const sent: Promise<{ status: number; id?: string; error?: string }>[] = Array.from(
      { length: 8 },
      (_, n) =>
        fetch(`${url}/v1/contact-points`, {
          method: 'POST',
          headers: { authorization: `Bearer ${france}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            state: 'FR',
            fullName: `In Flight ${n}`,
            email: `in.flight.${n}@justice.example`,
            role: 'prosecutor',
            authority: 'Parquet national antiterroriste',
            languages: ['fr'],
          }),
        }).then(
          async (response) => ({
            status: response.status,
            id: ((await response.json()) as { id?: string }).id,
          }),
          (error: Error) => ({
            status: 0,
            error: `${error.message} (${String((error.cause as Error)?.message)})`,
          }),
        ),
    );
    // Connections that have sent no whole request: a client's spare socket, a half-sent header.
    const { port } = new URL(url);
    const idle = [connect(Number(port), '127.0.0.1'), connect(Number(port), '127.0.0.1')];
    idle[1]!.write('POST /v1/contact-points HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const closedByServer = idle.map(
      (socket: Socket) => new Promise<boolean>((resolve) => socket.once('close', () => resolve(true))),
    );
    await until(() => system.gateway.requestsInFlight() >= 8, 'the registrations to reach the gateway');
    const restarted = system.restartGateway();
    const answers = await Promise.all(sent);
    await held;
    await restarted;
    expect(answers.map(({ status }) => status)).toEqual(Array(8).fill(201));
    // Closed once the requests in flight were answered, not a command timeout later.
    expect(await Promise.all(closedByServer)).toEqual([true, true]);
    for (const { id } of answers) {
      expect((await system.call('GET', `/v1/contact-points/${id}`, { token: france })).status).toBe(200);
    }
  }, 30_000);

  it('answers a connection made just before it stops, or while it stops, instead of resetting it', async () => {
    const secretariat = await system.token({ role: 'secretariat' });
    const { port } = new URL(system.url);
    /** A whole HTTP exchange on a raw socket: the answer's text, or the error that ended it. */
    const exchange = async (socket: Socket) => {
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
      const ended = new Promise<string>((resolve) => {
        socket.once('close', () => resolve(text));
        socket.once('error', (error) => resolve(`error: ${error.message}`));
        setTimeout(() => resolve(`no answer within 10 s: ${text}`), 10_000).unref();
      });
      socket.write(
        `GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${secretariat}\r\n\r\n`,
      );
      return ended;
    };
    // Connected before the stop (a client's socket still waiting in the kernel's queue, or just accepted),
    // its request sent once the stop has begun; and a connection made while it stops.
    const early = connect(Number(port), '127.0.0.1');
    await once(early, 'connect');
    const stopping = system.restartGateway();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const answers = await Promise.all([exchange(early), exchange(connect(Number(port), '127.0.0.1'))]);
    await stopping;
    for (const answer of answers) {
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      expect(answer.toLowerCase()).toContain('connection: close');
    }
  });

  it('refuses a request without a token with 401 problem details', async () => {
    const response = await system.call('GET', '/v1/states');
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(response.body).toMatchObject({
      type: 'urn:focal:problem:unauthenticated',
      status: 401,
      detail: expect.any(String),
    });
  });
});
