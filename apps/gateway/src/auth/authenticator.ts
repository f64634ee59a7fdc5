import { ROLES, type Actor } from '@focal/domain';
import type { EventStore } from '@focal/events';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

import { textFault } from '../http/input.js';
import { Problem } from '../http/problem.js';
import { StandingWatch } from './standing-watch.js';

/** State roles name their state, the organisation role its organisation. */
const STATE_ROLES: readonly Actor['role'][] = ['member-state', 'observer-state', 'guest-state'];
const unauthorized = (detail: string) => new Problem(401, 'unauthenticated', 'Unauthenticated', detail);
const refused = (reason: string, detail: string) => new Problem(403, reason, 'Not allowed', detail);

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
 * Who is calling: a HS256 bearer token with `sub`, `role`, `exp` and `state` or `organisation`, whose
 * principal stands in the network today, as the domain judges it from the principal's own stream in the log
 * (a state whose status in force today matches the role, an organisation that is not suspended): the same
 * judgement live streams and webhooks make at every delivery.
 */
export class Authenticator {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly store: EventStore,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async authenticate(authorization: string | undefined): Promise<Actor> {
    const token = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
    if (!token)
      throw unauthorized(
        'send a token: Authorization: Bearer <JWT> (npm run token prints one for development)',
      );
    let claims: Record<string, unknown>;
    try {
      ({ payload: claims } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      const expired = error instanceof joseErrors.JWTExpired;
      throw unauthorized(
        expired ? 'the token has expired: get a new one' : 'the token is not valid: get a new one',
      );
    }
    const role = claims.role as Actor['role'];
    if (!ROLES.includes(role))
      throw unauthorized(`the token's role ${JSON.stringify(claims.role)} is not a Focal role`);
    const malformed = malformedClaim(claims);
    if (malformed) throw unauthorized(malformed);
    const actor: Actor = { principal: claims.sub as string, role };
    if (STATE_ROLES.includes(role)) {
      if (typeof claims.state !== 'string') throw unauthorized(`a ${role} token must name its state`);
      actor.state = claims.state;
    }
    if (role === 'liaison-organisation') {
      if (typeof claims.organisation !== 'string')
        throw unauthorized('a liaison-organisation token must name its organisation');
      actor.organisation = claims.organisation;
    }
    const watch = await StandingWatch.load(this.store, actor, () => this.now().toISOString().slice(0, 10));
    const standing = watch.standing();
    if (!standing.inGoodStanding) throw refused(standing.reason, standing.message);
    return actor;
  }
}

const PRINCIPAL = /^\P{Cc}{1,200}$/u;
const STATE_CODE = /^[A-Z]{2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * What is wrong with the claims that name the caller, or undefined. They end up in every event the caller
 * causes and in queries of the read models, so they are held to what those can carry, whatever the role:
 * `sub` text without control characters or lone surrogates, `state` an ISO code, `organisation` a UUID.
 */
function malformedClaim(claims: Record<string, unknown>): string | undefined {
  const { sub, state, organisation } = claims;
  if (typeof sub !== 'string' || !PRINCIPAL.test(sub) || textFault(sub)) {
    return "the token's sub claim must name the caller: text of 1 to 200 characters without control characters";
  }
  if (state !== undefined && (typeof state !== 'string' || !STATE_CODE.test(state))) {
    return "the token's state claim must be an ISO 3166-1 alpha-2 code such as FR";
  }
  if (organisation !== undefined && (typeof organisation !== 'string' || !UUID.test(organisation))) {
    return "the token's organisation claim must be the organisation's id, a UUID";
  }
  return undefined;
}
