import { ROLES, type Actor } from '@focal/domain';
import type { EventStore } from '@focal/events';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, SignJWT } from 'jose';

import { textFault } from '../http/input.js';
import { Problem } from '../http/problem.js';
import {
  claimAt,
  DEVELOPMENT_CLAIMS,
  TokenRefused,
  type ClaimNames,
  type IdentityProvider,
} from './identity-provider.js';
import { StandingWatch } from './standing-watch.js';

/** How long a verified token is taken as verified (at most until it expires), and how many are kept. */
const VERIFIED_FOR_MS = 60_000;
const MAX_VERIFIED = 10_000;

/** State roles name their state, the organisation role its organisation. */
const STATE_ROLES: readonly Actor['role'][] = ['member-state', 'observer-state', 'guest-state'];

/**
 * Why an authentication failed, as counted in `focal_authentication_failures_total{reason}`: what is wrong
 * with the token (401; `identity-provider-unavailable` is a 503), or the principal's standing (403, the
 * domain's reason, e.g. `principal/former-state`).
 */
export const TOKEN_FAILURES = [
  'missing-token',
  'malformed-token',
  'bad-signature',
  'expired',
  'not-yet-valid',
  'wrong-issuer',
  'wrong-audience',
  'unknown-key',
  'wrong-algorithm',
  'token-kind-not-accepted',
  'invalid-claims',
  'identity-provider-unavailable',
] as const;

/** Who a token names, and until when it does: a stream opened with it ends then (updates.controller.ts). */
export interface Identity {
  actor: Actor;
  expiresAt: Date;
}

/** Signs a token as `npm run token` and the tests do. */
export async function signToken(
  secret: string,
  claims: { sub: string; role: Actor['role']; state?: string; organisation?: string },
  expiresIn = '8h',
): Promise<string> {
  return new SignJWT({
    role: claims.role,
    ...(claims.state ? { state: claims.state } : {}),
    ...(claims.organisation ? { organisation: claims.organisation } : {}),
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

/**
 * Who is calling: a bearer token, either a development token (HS256 under `FOCAL_JWT_SECRET`, claims `sub`,
 * `role`, `exp` and `state` or `organisation`) or an OpenID Connect provider's (RS256, ES256 or EdDSA, keys from
 * its JWKS; claims mapped by name, see `ClaimNames`), told apart by the token's algorithm. Then whether its
 * principal stands in the network today, as the domain judges it from the principal's own stream in the log (a
 * state whose status in force today matches the role, an organisation that is not suspended): the same
 * judgement live streams and webhooks make at every delivery.
 */
export class Authenticator {
  private readonly key: Uint8Array | undefined;
  private readonly oidc: IdentityProvider | undefined;
  private readonly now: () => Date;
  private readonly onFailure: (reason: string) => void;
  /**
   * Tokens verified lately, and until when the verification holds: a signature, issuer and audience checked
   * once stay checked until the token expires, so a client sending the same token on every request costs one
   * verification a minute, not one per request (an HMAC or a public-key check each). Bounded in time (a key
   * the identity provider withdraws stops counting within a minute) and in size.
   */
  private readonly verified = new Map<string, { actor: Actor; expiresAt: number; until: number }>();

  /**
   * `secret`: HS256 development tokens are accepted under it (undefined: not at all, the provider's only).
   * `oidc`: the identity provider whose tokens are accepted. `onFailure`: told each failure's reason.
   */
  constructor(
    secret: string | undefined,
    private readonly store: EventStore,
    options: { now?: () => Date; oidc?: IdentityProvider; onFailure?: (reason: string) => void } = {},
  ) {
    this.key = secret === undefined ? undefined : new TextEncoder().encode(secret);
    this.oidc = options.oidc;
    this.now = options.now ?? (() => new Date());
    this.onFailure = options.onFailure ?? (() => undefined);
  }

  /** The caller, authenticated and in good standing: 401 (or 503) for the token, 403 for the standing. */
  async authenticate(authorization: string | undefined): Promise<Actor> {
    return this.admit(await this.identify(authorization));
  }

  /** Who the token says is calling, once its signature, issuer, audience, expiry and claims are checked. */
  async identify(authorization: string | undefined): Promise<Actor> {
    return (await this.identity(authorization)).actor;
  }

  /** As `identify`, with the token's expiry. */
  async identity(authorization: string | undefined): Promise<Identity> {
    try {
      const token = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
      if (!token) {
        throw new TokenRefused(
          'missing-token',
          'send a token: Authorization: Bearer <JWT> (npm run token prints one for development)',
        );
      }
      const known = this.verified.get(token);
      if (known && known.until > Date.now()) {
        return { actor: { ...known.actor }, expiresAt: new Date(known.expiresAt) };
      }
      const alg = algorithmOf(token);
      if (alg === 'HS256' && this.key)
        return this.remember(token, await this.verifyDevelopment(token), DEVELOPMENT_CLAIMS);
      if (alg !== 'HS256' && this.oidc)
        return this.remember(token, await this.oidc.verify(token), this.oidc.settings.claims);
      throw new TokenRefused(
        'token-kind-not-accepted',
        this.oidc
          ? `this gateway takes the tokens of its identity provider (${this.oidc.settings.issuer}) only, ` +
              'not HS256 development tokens: get a token from that provider'
          : `the token is signed with ${alg}, but this gateway takes HS256 tokens only (no identity provider ` +
              'is configured): get one from npm run token',
      );
    } catch (error) {
      if (!(error instanceof TokenRefused)) throw error;
      this.onFailure(error.failure);
      throw error.status === 503
        ? new Problem(503, 'identity-provider-unavailable', 'Service unavailable', error.message)
        : new Problem(401, 'unauthenticated', 'Unauthenticated', error.message);
    }
  }

  private remember(token: string, claims: Record<string, unknown>, names: ClaimNames): Identity {
    const actor = actorFrom(claims, names);
    // `exp` is required and checked by the verification: a remembered token is never used past it.
    const expiresAt = Number(claims.exp) * 1_000;
    const until = Math.min(expiresAt, Date.now() + VERIFIED_FOR_MS);
    if (this.verified.size >= MAX_VERIFIED) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { actor, expiresAt, until });
    return { actor: { ...actor }, expiresAt: new Date(expiresAt) };
  }

  /** The principal's standing today, as the domain judges it: 403 with the domain's reason otherwise. */
  async admit(actor: Actor): Promise<Actor> {
    // Read afresh for every request: the SQL stores read whole streams asked for together in one statement.
    const watch = await StandingWatch.load(this.store, actor, () => this.now().toISOString().slice(0, 10));
    const standing = watch.standing();
    if (!standing.inGoodStanding) {
      this.onFailure(standing.reason);
      throw new Problem(403, standing.reason, 'Not allowed', standing.message);
    }
    return actor;
  }

  private async verifyDevelopment(token: string): Promise<Record<string, unknown>> {
    try {
      return (
        await jwtVerify(token, this.key!, {
          algorithms: ['HS256'],
          requiredClaims: ['exp', 'sub'],
        })
      ).payload;
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) {
        throw new TokenRefused('expired', 'the token has expired: get a new one');
      }
      throw new TokenRefused(
        error instanceof joseErrors.JWSSignatureVerificationFailed
          ? 'bad-signature'
          : error instanceof joseErrors.JWTClaimValidationFailed
            ? 'invalid-claims'
            : 'malformed-token',
        'the token is not valid: get a new one',
      );
    }
  }
}

function algorithmOf(token: string): string {
  try {
    const { alg } = decodeProtectedHeader(token);
    if (typeof alg === 'string') return alg;
  } catch {
    // Answered below.
  }
  throw new TokenRefused('malformed-token', 'the token is not valid: get a new one');
}

/**
 * The caller a verified token names, by the claim names given: a Focal role (a claim holding a list of roles
 * may hold exactly one of Focal's), the principal, and the state or organisation the role needs.
 */
function actorFrom(claims: Record<string, unknown>, names: ClaimNames): Actor {
  const invalid = (detail: string) => new TokenRefused('invalid-claims', detail);
  const given = claimAt(claims, names.role);
  const development = names === DEVELOPMENT_CLAIMS;
  // A provider may keep roles in a list (of its own roles and Focal's); Focal's own tokens name one role.
  const candidates =
    Array.isArray(given) && !development
      ? given.filter((role): role is Actor['role'] => ROLES.includes(role as Actor['role']))
      : [given];
  const role = candidates[0] as Actor['role'];
  if (candidates.length > 1)
    throw invalid(`the token's ${names.role} claim names several Focal roles: it must name one`);
  if (!ROLES.includes(role)) {
    throw invalid(
      given === undefined && !development
        ? `the token has no ${names.role} claim: the identity provider must map the user to a Focal role (${ROLES.join(', ')})`
        : `the token's ${development ? 'role' : `${names.role} claim`} ${JSON.stringify(given)} is not a Focal role`,
    );
  }
  const principal = claimAt(claims, names.principal);
  const state = claimAt(claims, names.state);
  const organisation = claimAt(claims, names.organisation);
  const malformed = malformedClaim({ principal, state, organisation }, names);
  if (malformed) throw invalid(malformed);
  const actor: Actor = { principal: principal as string, role };
  if (STATE_ROLES.includes(role)) {
    if (typeof state !== 'string')
      throw invalid(`a ${role} token must name its state (${names.state} claim)`);
    actor.state = state;
  }
  if (role === 'liaison-organisation') {
    if (typeof organisation !== 'string') {
      throw invalid(`a liaison-organisation token must name its organisation (${names.organisation} claim)`);
    }
    actor.organisation = organisation;
  }
  return actor;
}

const PRINCIPAL = /^\P{Cc}{1,200}$/u;
const STATE_CODE = /^[A-Z]{2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * What is wrong with the claims that name the caller, or undefined. They end up in every event the caller
 * causes and in queries of the read models, so they are held to what those can carry, whatever the role:
 * the principal text without control characters or lone surrogates, the state an ISO code, the organisation
 * a UUID. Named by the claims the token carries them in.
 */
function malformedClaim(
  { principal, state, organisation }: { principal: unknown; state: unknown; organisation: unknown },
  names: ClaimNames,
): string | undefined {
  if (typeof principal !== 'string' || !PRINCIPAL.test(principal) || textFault(principal)) {
    return `the token's ${names.principal} claim must name the caller: text of 1 to 200 characters without control characters`;
  }
  if (state !== undefined && (typeof state !== 'string' || !STATE_CODE.test(state))) {
    return `the token's ${names.state} claim must be an ISO 3166-1 alpha-2 code such as FR`;
  }
  if (organisation !== undefined && (typeof organisation !== 'string' || !UUID.test(organisation))) {
    return `the token's ${names.organisation} claim must be the organisation's id, a UUID`;
  }
  return undefined;
}
