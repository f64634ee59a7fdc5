import { isIP } from 'node:net';

import { into, listOf, problem, type Env, type Problems, type Vars } from '@focal/service';

import { DEFAULT_OIDC_CLAIMS, OIDC_ALGORITHMS, type OidcSettings } from './identity-provider.js';

const SETTINGS = [
  'FOCAL_OIDC_AUDIENCE',
  'FOCAL_OIDC_JWKS_URL',
  'FOCAL_OIDC_ALGORITHMS',
  'FOCAL_OIDC_CLOCK_SKEW_SECONDS',
  'FOCAL_OIDC_PRINCIPAL_CLAIM',
  'FOCAL_OIDC_ROLE_CLAIM',
  'FOCAL_OIDC_STATE_CLAIM',
  'FOCAL_OIDC_ORGANISATION_CLAIM',
] as const;

/** The variables the provider's settings are read from. */
export const OIDC_VARS = ['FOCAL_OIDC_ISSUER', ...SETTINGS] as const;

/** https, or http to this machine (an identity provider run locally for development). */
function checkedUrl(name: string, value: string, problems: Problems): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problem(problems, `${name}=${value} is not a URL: give e.g. https://login.example.org/realms/focal`);
    return undefined;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const local = host === 'localhost' || (isIP(host) !== 0 && /^(127\.|::1$)/.test(host));
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    problem(
      problems,
      `${name}=${value} must be an https:// URL (http:// only for a provider on this machine)`,
    );
    return undefined;
  }
  return value;
}

/**
 * The OpenID Connect provider whose tokens the gateway accepts (README, Configuration): FOCAL_OIDC_ISSUER and
 * FOCAL_OIDC_AUDIENCE, optionally FOCAL_OIDC_JWKS_URL (otherwise discovered from the issuer), the algorithms,
 * the clock skew, and the names of the claims that carry the principal, role, state and organisation.
 * Undefined when no issuer is set; any other FOCAL_OIDC_ setting without one is a problem.
 */
export function oidcSettingsOf(env: Vars, problems: Problems): OidcSettings | undefined {
  const issuerValue = env.FOCAL_OIDC_ISSUER;
  if (issuerValue === undefined || issuerValue === '') {
    const stray = SETTINGS.filter((name) => env[name] !== undefined);
    if (stray.length > 0) {
      problem(
        problems,
        `${stray.join(', ')} set without FOCAL_OIDC_ISSUER: set the identity provider's issuer too`,
      );
    }
    return undefined;
  }
  const issuer = checkedUrl('FOCAL_OIDC_ISSUER', issuerValue, problems);
  const audience = listOf(env.FOCAL_OIDC_AUDIENCE);
  if (audience.length === 0) {
    problem(
      problems,
      'FOCAL_OIDC_AUDIENCE is not set: name the audience the identity provider issues tokens for this gateway with (its client id)',
    );
  }
  const jwksUrl =
    env.FOCAL_OIDC_JWKS_URL === undefined
      ? undefined
      : checkedUrl('FOCAL_OIDC_JWKS_URL', env.FOCAL_OIDC_JWKS_URL, problems);
  const algorithms = listOf(env.FOCAL_OIDC_ALGORITHMS ?? 'RS256,ES256,EdDSA');
  const unknown = algorithms.filter((alg) => !(OIDC_ALGORITHMS as readonly string[]).includes(alg));
  if (algorithms.length === 0 || unknown.length > 0) {
    problem(
      problems,
      `FOCAL_OIDC_ALGORITHMS=${env.FOCAL_OIDC_ALGORITHMS} must list asymmetric algorithms among ${OIDC_ALGORITHMS.join(', ')}`,
    );
  }
  const skew = Number(env.FOCAL_OIDC_CLOCK_SKEW_SECONDS ?? 30);
  if (!Number.isInteger(skew) || skew < 0 || skew > 300) {
    problem(
      problems,
      `FOCAL_OIDC_CLOCK_SKEW_SECONDS=${env.FOCAL_OIDC_CLOCK_SKEW_SECONDS} must be 0 to 300 seconds`,
    );
  }
  const claim = (name: string, fallback: string) => {
    const value = env[name] ?? fallback;
    if (!/^[\x21-\x7e]{1,200}$/.test(value)) problem(problems, `${name}=${value} must be a claim name`);
    return value;
  };
  const claims = {
    principal: claim('FOCAL_OIDC_PRINCIPAL_CLAIM', DEFAULT_OIDC_CLAIMS.principal),
    role: claim('FOCAL_OIDC_ROLE_CLAIM', DEFAULT_OIDC_CLAIMS.role),
    state: claim('FOCAL_OIDC_STATE_CLAIM', DEFAULT_OIDC_CLAIMS.state),
    organisation: claim('FOCAL_OIDC_ORGANISATION_CLAIM', DEFAULT_OIDC_CLAIMS.organisation),
  };
  if (!issuer) return undefined;
  return {
    issuer,
    audience,
    ...(jwksUrl ? { jwksUrl } : {}),
    algorithms,
    clockToleranceSeconds: skew,
    claims,
  };
}

/** The provider's settings outside the gateway's schema (its tests), problems added to `problems`. */
export const loadOidcSettings = (env: Env, problems: string[]) => oidcSettingsOf(env, into(problems));
