import { testSecrets } from '../../../../test/support/secrets.js';
import { loadGatewayConfig } from '../gateway.config.js';
import { loadOidcSettings } from './oidc.config.js';

const oidcProblems = (env: Record<string, string>) => {
  const problems: string[] = [];
  loadOidcSettings(env, problems);
  return problems;
};

describe('identity provider settings', () => {
  it('none without an issuer', () => {
    expect(loadOidcSettings({}, [])).toBeUndefined();
  });

  it('defaults: discovery from the issuer, RS256/ES256/EdDSA, 30 s of skew, focal_* claims and sub', () => {
    expect(
      loadOidcSettings(
        { FOCAL_OIDC_ISSUER: 'https://login.example.org/realms/focal', FOCAL_OIDC_AUDIENCE: 'focal-gateway' },
        [],
      ),
    ).toEqual({
      issuer: 'https://login.example.org/realms/focal',
      audience: ['focal-gateway'],
      algorithms: ['RS256', 'ES256', 'EdDSA'],
      clockToleranceSeconds: 30,
      claims: {
        principal: 'sub',
        role: 'focal_role',
        state: 'focal_state',
        organisation: 'focal_organisation',
      },
    });
  });

  it('takes a JWKS URL, audiences, algorithms, skew and claim names', () => {
    expect(
      loadOidcSettings(
        {
          FOCAL_OIDC_ISSUER: 'https://login.example.org',
          FOCAL_OIDC_AUDIENCE: 'focal, focal-api',
          FOCAL_OIDC_JWKS_URL: 'https://login.example.org/keys',
          FOCAL_OIDC_ALGORITHMS: 'ES256',
          FOCAL_OIDC_CLOCK_SKEW_SECONDS: '5',
          FOCAL_OIDC_PRINCIPAL_CLAIM: 'preferred_username',
          FOCAL_OIDC_ROLE_CLAIM: 'realm_access.roles',
          FOCAL_OIDC_STATE_CLAIM: 'https://focal.example/state',
          FOCAL_OIDC_ORGANISATION_CLAIM: 'org',
        },
        [],
      ),
    ).toEqual({
      issuer: 'https://login.example.org',
      audience: ['focal', 'focal-api'],
      jwksUrl: 'https://login.example.org/keys',
      algorithms: ['ES256'],
      clockToleranceSeconds: 5,
      claims: {
        principal: 'preferred_username',
        role: 'realm_access.roles',
        state: 'https://focal.example/state',
        organisation: 'org',
      },
    });
  });

  it('names every problem', () => {
    expect(oidcProblems({ FOCAL_OIDC_AUDIENCE: 'x', FOCAL_OIDC_ROLE_CLAIM: 'r' })).toEqual([
      "FOCAL_OIDC_AUDIENCE, FOCAL_OIDC_ROLE_CLAIM set without FOCAL_OIDC_ISSUER: set the identity provider's issuer too",
    ]);
    expect(
      oidcProblems({
        FOCAL_OIDC_ISSUER: 'http://login.example.org',
        FOCAL_OIDC_JWKS_URL: 'nonsense',
        FOCAL_OIDC_ALGORITHMS: 'RS256,HS256',
        FOCAL_OIDC_CLOCK_SKEW_SECONDS: '3600',
      }),
    ).toEqual([
      'FOCAL_OIDC_ISSUER=http://login.example.org must be an https:// URL (http:// only for a provider on this machine)',
      'FOCAL_OIDC_AUDIENCE is not set: name the audience the identity provider issues tokens for this gateway with (its client id)',
      'FOCAL_OIDC_JWKS_URL=nonsense is not a URL: give e.g. https://login.example.org/realms/focal',
      'FOCAL_OIDC_ALGORITHMS=RS256,HS256 must list asymmetric algorithms among RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, Ed25519',
      'FOCAL_OIDC_CLOCK_SKEW_SECONDS=3600 must be 0 to 300 seconds',
    ]);
    expect(
      oidcProblems({ FOCAL_OIDC_ISSUER: 'http://127.0.0.1:8080/realms/dev', FOCAL_OIDC_AUDIENCE: 'a' }),
    ).toEqual([]);
  });

  it('HS256 tokens are on with FOCAL_JWT_SECRET; a provider alone turns them off, and needs no such secret', () => {
    // The other secrets every gateway needs.
    const secrets = {
      FOCAL_MASTER_KEY: testSecrets.masterKey,
      FOCAL_CHECKPOINT_SIGNING_KEY: testSecrets.signingKey,
    };
    const oidc = { ...secrets, FOCAL_OIDC_ISSUER: 'https://login.example.org', FOCAL_OIDC_AUDIENCE: 'focal' };
    expect(loadGatewayConfig({ ...secrets, FOCAL_JWT_SECRET: 'y'.repeat(40) }).developmentTokens).toBe(true);
    expect(loadGatewayConfig({ ...oidc, FOCAL_JWT_SECRET: 'y'.repeat(40) })).toMatchObject({
      developmentTokens: true,
      oidc: { issuer: 'https://login.example.org' },
    });
    const providerOnly = loadGatewayConfig(oidc);
    expect(providerOnly.developmentTokens).toBe(false);
    expect(providerOnly.jwtSecret).toBeUndefined();
  });
});
