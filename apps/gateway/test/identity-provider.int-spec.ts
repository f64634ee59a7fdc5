import { createServer } from 'node:net';

import type { SqlEventStore } from '@focal/events';

import {
  AUDIENCE,
  startTestIdentityProvider,
  type ProviderKey,
  type TestIdentityProvider,
} from '../../../test/support/identity-provider.js';
import { testSecrets } from '../../../test/support/secrets.js';
import { Authenticator, signToken } from '../src/auth/authenticator.js';
import { DEFAULT_OIDC_CLAIMS, IdentityProvider, type OidcSettings } from '../src/auth/identity-provider.js';
import { Problem } from '../src/http/problem.js';

/**
 * The authenticator against an identity provider served over HTTP on loopback (discovery document and key
 * set), with keys made by jose: which tokens it takes, which it refuses and what it says, how it follows a
 * key rotation. The principal's standing is the domain's business, tested elsewhere: the store here has no
 * streams, and these callers are of roles (secretariat, auditor) or are only identified.
 */

// A store with no streams, that counts the lookups made.
const lookups: string[] = [];
const store = {
  readStream: async (streamId: string) => {
    lookups.push(streamId);
    return [];
  },
} as unknown as SqlEventStore;

const refusal = (work: Promise<unknown>) =>
  work.then(
    () => {
      throw new Error('expected a refusal');
    },
    (error: unknown) => {
      if (!(error instanceof Problem)) throw error;
      return { status: error.status, reason: error.reason, detail: error.message };
    },
  );

describe('OpenID Connect tokens, from a provider served over HTTP', () => {
  let idp: TestIdentityProvider;
  let rsa: ProviderKey;
  let ec: ProviderKey;
  let ed: ProviderKey;
  let settings: OidcSettings;
  const failures: string[] = [];
  const authenticatorFor = (oidc: Partial<OidcSettings> = {}, secret?: string) =>
    new Authenticator(secret, store, {
      oidc: new IdentityProvider({ ...settings, ...oidc }),
      onFailure: (reason) => failures.push(reason),
    });
  const bearer = (token: string) => `Bearer ${token}`;

  beforeAll(async () => {
    idp = await startTestIdentityProvider();
    [rsa, ec, ed] = await Promise.all([idp.key('rsa-1'), idp.key('ec-1', 'ES256'), idp.key('ed-1', 'EdDSA')]);
    idp.publish(rsa, ec, ed);
    // No JWKS URL: found through the issuer's discovery document.
    settings = {
      issuer: idp.issuer,
      audience: [AUDIENCE],
      algorithms: ['RS256', 'ES256', 'EdDSA'],
      clockToleranceSeconds: 30,
      claims: DEFAULT_OIDC_CLAIMS,
    };
  });
  afterAll(() => idp?.close());
  beforeEach(() => (failures.length = 0));

  it('takes RS256, ES256 and EdDSA tokens, the caller named by the default claims', async () => {
    const authenticator = authenticatorFor();
    for (const key of [rsa, ec, ed]) {
      const token = await idp.sign(key, {
        sub: `alice-${key.alg}`,
        focal_role: 'member-state',
        focal_state: 'FR',
      });
      await expect(authenticator.identify(bearer(token))).resolves.toEqual({
        principal: `alice-${key.alg}`,
        role: 'member-state',
        state: 'FR',
      });
    }
    const secretariat = await idp.sign(ec, { sub: 'sec-1', focal_role: 'secretariat' });
    await expect(authenticator.authenticate(bearer(secretariat))).resolves.toEqual({
      principal: 'sec-1',
      role: 'secretariat',
    });
    expect(failures).toEqual([]);
  });

  it('maps configured claim names: a URL-named claim, a dotted path, a list of roles', async () => {
    const authenticator = authenticatorFor({
      claims: {
        principal: 'preferred_username',
        role: 'realm_access.roles',
        state: 'https://focal.example/state',
        organisation: 'https://focal.example/organisation',
      },
    });
    const token = await idp.sign(rsa, {
      sub: '6b1f0c1e-opaque',
      preferred_username: 'ola.nordmann',
      realm_access: { roles: ['offline_access', 'observer-state', 'uma_authorization'] },
      'https://focal.example/state': 'NO',
    });
    await expect(authenticator.identify(bearer(token))).resolves.toEqual({
      principal: 'ola.nordmann',
      role: 'observer-state',
      state: 'NO',
    });
    const two = await idp.sign(rsa, {
      preferred_username: 'x',
      realm_access: { roles: ['auditor', 'secretariat'] },
    });
    expect(await refusal(authenticator.identify(bearer(two)))).toEqual({
      status: 401,
      reason: 'unauthenticated',
      detail: "the token's realm_access.roles claim names several Focal roles: it must name one",
    });
  });

  it('names the claim the provider must add, by its configured name', async () => {
    const authenticator = authenticatorFor();
    const noRole = await idp.sign(rsa, { sub: 'bob' });
    expect((await refusal(authenticator.identify(bearer(noRole)))).detail).toBe(
      'the token has no focal_role claim: the identity provider must map the user to a Focal role ' +
        '(secretariat, member-state, observer-state, guest-state, liaison-organisation, auditor)',
    );
    const noState = await idp.sign(rsa, { sub: 'bob', focal_role: 'member-state' });
    expect((await refusal(authenticator.identify(bearer(noState)))).detail).toBe(
      'a member-state token must name its state (focal_state claim)',
    );
    const badOrganisation = await idp.sign(rsa, {
      sub: 'bob',
      focal_role: 'liaison-organisation',
      focal_organisation: 'icc',
    });
    expect((await refusal(authenticator.identify(bearer(badOrganisation)))).detail).toBe(
      "the token's focal_organisation claim must be the organisation's id, a UUID",
    );
    expect(failures).toEqual(['invalid-claims', 'invalid-claims', 'invalid-claims']);
    expect(lookups).toEqual([]);
  });

  it('follows a key rotation: a new kid is fetched once published; an unknown key is refused', async () => {
    const authenticator = authenticatorFor({ jwksCooldownMs: 0 });
    await authenticator.identify(bearer(await idp.sign(rsa, { sub: 'a', focal_role: 'auditor' })));
    const fetched = idp.jwksFetches();
    // Keys are cached: tokens signed with keys already held fetch nothing.
    for (const key of [rsa, ec, ed, rsa]) {
      await authenticator.identify(bearer(await idp.sign(key, { sub: 'a', focal_role: 'auditor' })));
    }
    expect(idp.jwksFetches()).toBe(fetched);

    const next = await idp.key('rsa-2');
    const rotated = await idp.sign(next, { sub: 'a', focal_role: 'auditor' });
    // Before the provider publishes it: refused, after asking the provider again.
    expect(await refusal(authenticator.identify(bearer(rotated)))).toEqual({
      status: 401,
      reason: 'unauthenticated',
      detail: `the token is signed with a key (kid "rsa-2") that the identity provider does not publish at ${idp.jwksUrl}: get a new token`,
    });
    expect(idp.jwksFetches()).toBe(fetched + 1);
    idp.publish(next, rsa, ec, ed);
    await expect(authenticator.identify(bearer(rotated))).resolves.toMatchObject({ role: 'auditor' });
    expect(idp.jwksFetches()).toBe(fetched + 2);

    // A key the provider never published, under a kid it never used, or a known kid: refused all the same.
    const stranger = await idp.key('stranger');
    const forged = await idp.sign(stranger, { sub: 'a', focal_role: 'secretariat' });
    expect((await refusal(authenticator.identify(bearer(forged)))).detail).toMatch(
      /^the token is signed with a key \(kid "stranger"\) that the identity provider does not publish/,
    );
    const impostor = await idp.sign(stranger, { sub: 'a', focal_role: 'secretariat' }, { kid: 'rsa-1' });
    expect(await refusal(authenticator.identify(bearer(impostor)))).toEqual({
      status: 401,
      reason: 'unauthenticated',
      detail: 'the token’s signature does not verify: get a new one',
    });
    expect(failures).toEqual(['unknown-key', 'unknown-key', 'bad-signature']);
  });

  it('asks the provider again for an unknown kid only after a cooldown', async () => {
    const authenticator = authenticatorFor();
    await authenticator.identify(bearer(await idp.sign(rsa, { sub: 'a', focal_role: 'auditor' })));
    const fetched = idp.jwksFetches();
    const stranger = await idp.key('stranger-2');
    for (let i = 0; i < 5; i++) {
      const token = await idp.sign(stranger, { sub: 'a', focal_role: 'auditor' });
      expect((await refusal(authenticator.identify(bearer(token)))).status).toBe(401);
    }
    expect(idp.jwksFetches()).toBe(fetched);
  });

  it('refuses another issuer, another audience, an expired or early token, saying what to do', async () => {
    const authenticator = authenticatorFor();
    const claims = { sub: 'a', focal_role: 'auditor' };
    const now = Math.floor(Date.now() / 1000);
    const cases = [
      [
        { ...claims, iss: 'https://login.example.org' },
        /^the token was issued by "https:\/\/login\.example\.org", not by http:\/\/127\.0\.0\.1:\d+, the identity provider this gateway trusts \(FOCAL_OIDC_ISSUER\): get a token from that provider$/,
      ],
      [
        { ...claims, aud: 'another-app' },
        /^the token is meant for "another-app", not for this gateway \(focal-gateway, FOCAL_OIDC_AUDIENCE\): ask the identity provider for a token for focal-gateway$/,
      ],
      [
        { ...claims, exp: now - 60 },
        /^the token expired at \d{4}-\d\d-\d\dT[\d:.]+Z \(allowing 30 s of clock skew\): get a new one$/,
      ],
      [
        { ...claims, nbf: now + 120 },
        /^the token is not valid yet \(nbf lies in the future, allowing 30 s of clock skew\): check the clocks$/,
      ],
    ] as const;
    for (const [payload, detail] of cases) {
      const refused = await refusal(authenticator.identify(bearer(await idp.sign(rsa, payload))));
      expect(refused).toEqual({
        status: 401,
        reason: 'unauthenticated',
        detail: expect.stringMatching(detail),
      });
    }
    expect(failures).toEqual(['wrong-issuer', 'wrong-audience', 'expired', 'not-yet-valid']);
    // Within the clock skew: taken.
    for (const payload of [
      { ...claims, exp: now - 10 },
      { ...claims, nbf: now + 10 },
    ]) {
      await expect(authenticator.identify(bearer(await idp.sign(rsa, payload)))).resolves.toMatchObject({
        principal: 'a',
      });
    }
  });

  it('refuses algorithms that are not configured, and HS256 tokens when it takes the provider’s only', async () => {
    const authenticator = authenticatorFor();
    const pss = await idp.key('pss-1', 'PS256');
    idp.publish(rsa, ec, ed, pss);
    expect(
      (
        await refusal(
          authenticator.identify(bearer(await idp.sign(pss, { sub: 'a', focal_role: 'auditor' }))),
        )
      ).detail,
    ).toBe(
      "the token is signed with PS256, which is not accepted: the identity provider's tokens must be signed with RS256, ES256, EdDSA",
    );
    const development = await signToken(testSecrets.jwtSecret, { sub: 'dev', role: 'secretariat' });
    expect(await refusal(authenticator.identify(bearer(development)))).toEqual({
      status: 401,
      reason: 'unauthenticated',
      detail: `this gateway takes the tokens of its identity provider (${idp.issuer}) only, not HS256 development tokens: get a token from that provider`,
    });
    expect(failures).toEqual(['wrong-algorithm', 'token-kind-not-accepted']);
  });

  it('takes both kinds when both are configured, and only HS256 without a provider', async () => {
    const both = authenticatorFor({}, testSecrets.jwtSecret);
    const development = await signToken(testSecrets.jwtSecret, { sub: 'dev', role: 'secretariat' });
    const provided = await idp.sign(ed, { sub: 'idp', focal_role: 'secretariat' });
    await expect(both.identify(bearer(development))).resolves.toEqual({
      principal: 'dev',
      role: 'secretariat',
    });
    await expect(both.identify(bearer(provided))).resolves.toEqual({ principal: 'idp', role: 'secretariat' });
    const hs256Only = new Authenticator(testSecrets.jwtSecret, store);
    expect((await refusal(hs256Only.identify(bearer(provided)))).detail).toBe(
      'the token is signed with EdDSA, but this gateway takes HS256 tokens only (no identity provider is configured): get one from npm run token',
    );
  });

  it('answers 503 while the provider cannot be reached, and recovers by itself', async () => {
    // A port that was free a moment ago: nothing answers there.
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const token = await idp.sign(rsa, { sub: 'a', focal_role: 'auditor' });
    const unreachable = authenticatorFor({ issuer: `http://127.0.0.1:${closed}` });
    expect(await refusal(unreachable.identify(bearer(token)))).toEqual({
      status: 503,
      reason: 'identity-provider-unavailable',
      detail: expect.stringMatching(
        new RegExp(
          `^the identity provider's discovery document at http://127\\.0\\.0\\.1:${closed}/\\.well-known/openid-configuration could not be read .*: try again shortly, or set FOCAL_OIDC_JWKS_URL$`,
        ),
      ),
    });
    const noKeys = authenticatorFor({ jwksUrl: `http://127.0.0.1:${closed}/jwks.json` });
    expect(await refusal(noKeys.identify(bearer(token)))).toMatchObject({
      status: 503,
      detail: expect.stringMatching(
        /^the identity provider's keys could not be fetched from .*: try again shortly$/,
      ),
    });
    expect(failures).toEqual(['identity-provider-unavailable', 'identity-provider-unavailable']);
    // The discovery is asked again on the next request, not remembered as failed.
    const recovered = authenticatorFor();
    await expect(recovered.identify(bearer(token))).resolves.toMatchObject({ principal: 'a' });
  });
});
