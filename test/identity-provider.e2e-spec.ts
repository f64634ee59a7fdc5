import { DEFAULT_OIDC_CLAIMS } from '../apps/gateway/src/auth/identity-provider.js';
import {
  AUDIENCE,
  startTestIdentityProvider,
  type ProviderKey,
  type TestIdentityProvider,
} from './support/identity-provider.js';
import { startSystem, STORES, type TestSystem } from './support/system.js';

/**
 * The running system with an OpenID Connect provider (discovery document and key set over HTTP on loopback):
 * its tokens name the caller through the claim mapping, the domain still judges the caller's standing, a key
 * rotation is followed, and refusals are 401 problems a person can act on. HS256 development tokens keep
 * working beside it, or are turned off.
 */
describe.each(STORES)('OpenID Connect tokens over HTTP (%s store)', (store) => {
  let idp: TestIdentityProvider;
  let key: ProviderKey;
  let system: TestSystem;
  let secretariat: string;

  beforeAll(async () => {
    idp = await startTestIdentityProvider();
    key = await idp.key('rsa-1');
    idp.publish(key);
    system = await startSystem(store, 'oidc', {
      oidc: {
        issuer: idp.issuer,
        audience: [AUDIENCE],
        algorithms: ['RS256', 'ES256', 'EdDSA'],
        clockToleranceSeconds: 30,
        claims: DEFAULT_OIDC_CLAIMS,
        // Rotation is asked for at once here; a deployment waits 30 s between two refreshes.
        jwksCooldownMs: 0,
      },
    });
    secretariat = await system.token({ role: 'secretariat' });
    await system.ok('PUT', '/v1/states/FR', secretariat, {
      name: 'France',
      status: 'member',
      effectiveFrom: '2002-06-13',
    });
  });
  afterAll(async () => {
    await system?.stop();
    await idp?.close();
  });

  const claire = { sub: 'claire.martin@justice.example', focal_role: 'member-state', focal_state: 'FR' };

  it("a member state's token from the provider writes under its own principal; the domain judges its standing", async () => {
    const token = await idp.sign(key, claire);
    const created = await system.ok('POST', '/v1/contact-points', token, {
      state: 'FR',
      fullName: 'Claire Martin',
      email: 'claire.martin@justice.example',
      role: 'prosecutor',
      authority: 'Parquet national antiterroriste',
      languages: ['fr', 'en'],
    });
    expect(created.status).toBe(201);
    const [registered] = await system.persistence.store.readStream(`contact-point-${created.body.id}`);
    expect(registered!.metadata.actor).toEqual({
      principal: 'claire.martin@justice.example',
      role: 'member-state',
      state: 'FR',
    });
    const asObserver = await idp.sign(key, { ...claire, focal_role: 'observer-state' });
    expect(await system.call('GET', '/v1/states', { token: asObserver })).toMatchObject({
      status: 403,
      body: { reason: 'principal/role-mismatch' },
    });
  });

  it('follows a rotation: a token of the new key is refused until the provider publishes it, then taken', async () => {
    const next = await idp.key('rsa-2');
    const token = await idp.sign(next, claire);
    const refused = await system.call('GET', '/v1/states', { token });
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused).toMatchObject({
      status: 401,
      body: {
        type: 'urn:focal:problem:unauthenticated',
        detail: `the token is signed with a key (kid "rsa-2") that the identity provider does not publish at ${idp.issuer}/.well-known/jwks.json: get a new token`,
      },
    });
    idp.publish(key, next);
    expect((await system.call('GET', '/v1/states', { token })).status).toBe(200);
  });

  it('refuses another issuer, another audience and an expired token with 401 saying what to do', async () => {
    const cases = [
      [
        { ...claire, iss: 'https://login.example.org' },
        /^the token was issued by "https:\/\/login\.example\.org"/,
      ],
      [{ ...claire, aud: 'another-app' }, /^the token is meant for "another-app", not for this gateway/],
      [{ ...claire, exp: Math.floor(Date.now() / 1000) - 3600 }, /^the token expired at .*: get a new one$/],
    ] as const;
    for (const [claims, detail] of cases) {
      const refused = await system.call('POST', '/v1/liaison-organisations', {
        token: await idp.sign(key, claims),
        body: { name: 'X', acronym: 'X', kind: 'other' },
      });
      expect(refused).toMatchObject({
        status: 401,
        body: { reason: 'unauthenticated', detail: expect.stringMatching(detail) },
      });
    }
  });

  it("development tokens work beside the provider's, or not at all when the gateway takes the provider's only", async () => {
    expect((await system.call('GET', '/v1/states', { token: secretariat })).status).toBe(200);
    await system.restartGateway({ developmentTokens: false });
    expect(await system.call('GET', '/v1/states', { token: secretariat })).toMatchObject({
      status: 401,
      body: {
        detail: `this gateway takes the tokens of its identity provider (${idp.issuer}) only, not HS256 development tokens: get a token from that provider`,
      },
    });
    const provided = await idp.sign(key, { sub: 'secretariat-1', focal_role: 'secretariat' });
    expect((await system.call('GET', '/v1/states', { token: provided })).status).toBe(200);
  });
});
