import { testSecrets } from './support/secrets.js';
import { startSystem, STORES, type TestSystem } from './support/system.js';
import { signClaims } from './support/tokens.js';

/**
 * Abuse limits over HTTP: per-principal rate limits on writes and on opening live streams (429 problems with
 * Retry-After, another principal unaffected), security headers on every answer with Swagger UI still whole,
 * and failed authentications counted by reason in /metrics.
 */
describe.each(STORES)('abuse limits (%s store)', (store) => {
  let system: TestSystem;
  let first: string;
  let second: string;

  beforeAll(async () => {
    system = await startSystem(store, 'abuse', {
      abuseLimits: { writesPerMinute: 5, streamOpensPerMinute: 2 },
    });
    // Two principals of the same role: a limit is the principal's own.
    first = await system.token({ role: 'secretariat', principal: 'secretariat-first' });
    second = await system.token({ role: 'secretariat', principal: 'secretariat-second' });
  });
  afterAll(() => system?.stop());

  const register = (token: string, acronym: string) =>
    system.call('POST', '/v1/liaison-organisations', {
      token,
      body: { name: `Organisation ${acronym}`, acronym, kind: 'other' },
    });
  const expectRateLimited = (answer: Awaited<ReturnType<TestSystem['call']>>, what: RegExp) => {
    expect(answer.status).toBe(429);
    expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const retryAfter = Number(answer.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(answer.body).toEqual({
      type: 'urn:focal:problem:rate-limited',
      title: 'Too many requests',
      status: 429,
      reason: 'rate-limited',
      detail: expect.stringMatching(what),
      instance: expect.any(String),
    });
    expect(answer.body.detail).toContain(`try again in ${retryAfter} s`);
  };

  it('a burst of writes past the limit is refused with 429 and Retry-After; another principal writes on', async () => {
    const answers = [];
    for (let i = 0; i < 7; i++) answers.push(await register(first, `B${i}`));
    expect(answers.map((answer) => answer.status)).toEqual([201, 201, 201, 201, 201, 429, 429]);
    expect(answers[0]!.headers.get('x-ratelimit-limit')).toBe('5');
    expect(answers[4]!.headers.get('x-ratelimit-remaining')).toBe('0');
    expectRateLimited(
      answers[5]!,
      /^at most 5 writes a minute per caller: try again in \d+ s \(after \d{4}-\d\d-\d\dT[\d:.]+Z\)$/,
    );
    // Refused before anything was written; the same principal still reads; the other one still writes.
    expect((await system.call('GET', '/v1/states', { token: first })).status).toBe(200);
    expect((await register(second, 'OTHER')).status).toBe(201);
    const acronyms = (
      await system.ok('GET', '/v1/liaison-organisations', second, undefined, {
        'focal-read-after': (await system.persistence.store.headPosition())!,
      })
    ).body.items.map((item: { acronym: string }) => item.acronym);
    expect(acronyms.sort()).toEqual(['B0', 'B1', 'B2', 'B3', 'B4', 'OTHER']);
  });

  it('opening live-update streams is limited per principal too', async () => {
    const streams: AbortController[] = [];
    const open = async (token: string) => {
      const controller = new AbortController();
      streams.push(controller);
      const response = await fetch(`${system.url}/v1/updates`, {
        headers: { authorization: `Bearer ${token}` },
        signal: controller.signal,
      });
      if (response.status === 200) return { status: 200, headers: response.headers, body: undefined };
      return { status: response.status, headers: response.headers, body: await response.json() };
    };
    try {
      const third = await system.token({ role: 'auditor', principal: 'auditor-streams' });
      expect((await open(third)).status).toBe(200);
      expect((await open(third)).status).toBe(200);
      expectRateLimited(await open(third), /^at most 2 live-update streams opened a minute per caller/);
      expect((await open(second)).status).toBe(200);
    } finally {
      for (const stream of streams) stream.abort();
    }
  });

  it('standard security headers on every answer, and Swagger UI at /docs whole under its policy', async () => {
    for (const answer of [
      await system.call('GET', '/v1/states', { token: second }),
      await system.call('GET', '/v1/states'),
      await system.call('GET', '/health/live'),
      await system.call('GET', '/nowhere'),
    ]) {
      expect(Object.fromEntries(answer.headers)).toMatchObject({
        'content-security-policy': expect.stringContaining("default-src 'self'"),
        'strict-transport-security': expect.stringMatching(/^max-age=\d+/),
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'SAMEORIGIN',
        'referrer-policy': 'no-referrer',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-resource-policy': 'same-origin',
      });
    }
    const docs = await fetch(`${system.url}/docs`);
    const policy = docs.headers.get('content-security-policy')!;
    const html = await docs.text();
    expect(docs.status).toBe(200);
    // Over plain HTTP a browser would otherwise ask for every script over https://.
    expect(policy).not.toContain('upgrade-insecure-requests');
    expect(policy).toContain("script-src 'self'");
    // Swagger UI's own page: scripts from the gateway only (no inline script the policy would block), an inline
    // style (allowed), and each asset it names served.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(policy).toMatch(/style-src [^;]*'unsafe-inline'/);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)].map((match) => match[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      expect(new URL(asset, `${system.url}/docs`).origin).toBe(new URL(system.url).origin);
      // Resolved as a browser reading /docs resolves them.
      expect((await fetch(new URL(asset, `${system.url}/docs`))).status).toBe(200);
    }
  });

  it('failed authentications are counted in /metrics, by reason', async () => {
    const counted = async () => {
      const text = await system.metrics();
      return Object.fromEntries(
        [...text.matchAll(/^focal_authentication_failures_total\{reason="([^"]+)"\} (\d+)$/gm)].map(
          (match) => [match[1]!, Number(match[2])],
        ),
      );
    };
    const before = await counted();
    expect(before).toMatchObject({ 'missing-token': expect.any(Number), expired: expect.any(Number) });
    const read = (token?: string) => system.call('GET', '/v1/states', token ? { token } : {});
    expect((await read()).status).toBe(401);
    expect((await read('not-a-jwt')).status).toBe(401);
    expect(
      (await read(await signClaims({ sub: 'x', role: 'auditor' }, testSecrets.jwtSecret, 0))).status,
    ).toBe(401);
    expect((await read(await signClaims({ sub: 'x', role: 'auditor' }, 'x'.repeat(40)))).status).toBe(401);
    expect((await read(await signClaims({ sub: 'x', role: 'member-state', state: 'ZZ' }))).status).toBe(403);
    // A write refused for its token counts once, though the rate limit looked at the token first.
    expect(
      (await system.call('POST', '/v1/liaison-organisations', { token: 'not-a-jwt', body: {} })).status,
    ).toBe(401);
    const after = await counted();
    const grown = Object.fromEntries(
      Object.entries(after)
        .map(([reason, count]) => [reason, count - (before[reason] ?? 0)])
        .filter(([, delta]) => delta !== 0),
    );
    expect(grown).toEqual({
      'missing-token': 1,
      'malformed-token': 2,
      expired: 1,
      'bad-signature': 1,
      'principal/unknown-state': 1,
    });
  });

  it('without a valid token, writes are limited by the address they come from', async () => {
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      statuses.push(
        (await system.call('POST', '/v1/liaison-organisations', { token: `junk-${i}`, body: {} })).status,
      );
    }
    // One write of the test above came from here already.
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429]);
    // A principal with a token is counted as itself, not as the address.
    expect((await register(second, 'AFTER')).status).toBe(201);
  });
});
