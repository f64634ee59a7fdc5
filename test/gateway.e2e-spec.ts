import { startSystem, STORES, type TestSystem } from './support/system.js';

describe.each(STORES)('gateway basics (%s store)', (store) => {
  let system: TestSystem;
  beforeAll(async () => {
    system = await startSystem(store, 'gateway');
  });
  afterAll(() => system?.stop());

  it('answers health, readiness, metrics and docs without a token', async () => {
    expect(await system.call('GET', '/health/live')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await system.call('GET', '/health/ready')).toMatchObject({
      status: 200,
      body: { status: 'ready', checks: { nats: 'ok', store: 'ok' } },
    });
    const metrics = await system.call('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/focal_http_requests_total/);
    expect(metrics.body).toMatch(
      /focal_projection_lag_events\{projection="gateway\.directory\.gateway_v1"\} 0/,
    );
    const docs = await system.call('GET', '/docs-json');
    expect(docs.status).toBe(200);
    expect(Object.keys(docs.body.paths)).toEqual(expect.arrayContaining(['/v1/contact-points', '/v1/inbox']));
    expect((await fetch(`${system.url}/docs`)).status).toBe(200);
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
