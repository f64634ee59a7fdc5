import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';

/** The claims that name a caller, and where a token carries them. */
export interface ClaimNames {
  principal: string;
  role: string;
  state: string;
  organisation: string;
}

/** Focal's own development tokens (HS256, `npm run token`) name them plainly. */
export const DEVELOPMENT_CLAIMS: ClaimNames = {
  principal: 'sub',
  role: 'role',
  state: 'state',
  organisation: 'organisation',
};

/** An OpenID Connect provider's claims, unless configured otherwise (FOCAL_OIDC_*_CLAIM). */
export const DEFAULT_OIDC_CLAIMS: ClaimNames = {
  principal: 'sub',
  role: 'focal_role',
  state: 'focal_state',
  organisation: 'focal_organisation',
};

/** The signature algorithms taken from an identity provider: asymmetric only. */
export const OIDC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;

export interface OidcSettings {
  /** The provider's issuer identifier, compared exactly with each token's `iss`. */
  issuer: string;
  /** What a token's `aud` must contain (one of these). */
  audience: string[];
  /** Where the provider publishes its keys; discovered from the issuer when absent. */
  jwksUrl?: string;
  algorithms: string[];
  /** Clock skew allowed on `exp`, `nbf` and `iat`. */
  clockToleranceSeconds: number;
  claims: ClaimNames;
  /** After a refresh of the keys, how long before a token with an unknown `kid` may cause another (30 s). */
  jwksCooldownMs?: number;
}

/** Why a token was refused: the label counted in /metrics, the status, and what the caller can do. */
export class TokenRefused extends Error {
  constructor(
    readonly failure: string,
    detail: string,
    readonly status: 401 | 503 = 401,
  ) {
    super(detail);
  }
}

/** A claim by its configured name: a top-level claim of that name, else a dotted path (`realm_access.role`). */
export function claimAt(claims: Record<string, unknown>, name: string): unknown {
  if (name in claims) return claims[name];
  let value: unknown = claims;
  for (const part of name.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

const DISCOVERY_TIMEOUT_MS = 5_000;

/**
 * Verifies the tokens of an OpenID Connect provider: the signature with a key from its JWKS (fetched, cached,
 * and fetched again when a token names a `kid` it does not hold, as `createRemoteJWKSet` does), the algorithm,
 * the issuer, the audience, and the expiry within the allowed clock skew. Which claims name the caller is the
 * authenticator's business.
 */
export class IdentityProvider {
  private keys?: Promise<{ url: string; getKey: JWTVerifyGetKey }>;

  constructor(readonly settings: OidcSettings) {}

  async verify(token: string): Promise<Record<string, unknown>> {
    const { url, getKey } = await this.jwks();
    try {
      const { payload } = await jwtVerify(token, getKey, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: this.settings.algorithms,
        clockTolerance: this.settings.clockToleranceSeconds,
        requiredClaims: ['exp'],
      });
      return payload;
    } catch (error) {
      throw this.refusal(error, token, url);
    }
  }

  /** The key set: from the configured URL, or the one the issuer's discovery document names. */
  private jwks(): Promise<{ url: string; getKey: JWTVerifyGetKey }> {
    this.keys ??= this.locateKeys().then(
      (url) => ({
        url,
        getKey: createRemoteJWKSet(new URL(url), {
          timeoutDuration: DISCOVERY_TIMEOUT_MS,
          cooldownDuration: this.settings.jwksCooldownMs ?? 30_000,
        }),
      }),
      (error: unknown) => {
        // Not remembered: the next request asks the provider again.
        this.keys = undefined;
        throw error;
      },
    );
    return this.keys;
  }

  private async locateKeys(): Promise<string> {
    if (this.settings.jwksUrl) return this.settings.jwksUrl;
    const where = `${this.settings.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const unavailable = (why: string) =>
      new TokenRefused(
        'identity-provider-unavailable',
        `the identity provider's discovery document at ${where} ${why}: try again shortly, or set FOCAL_OIDC_JWKS_URL`,
        503,
      );
    let document: { issuer?: unknown; jwks_uri?: unknown };
    try {
      const response = await fetch(where, {
        signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS),
        redirect: 'error',
        headers: { accept: 'application/json' },
      });
      if (!response.ok) throw unavailable(`answered HTTP ${response.status}`);
      document = (await response.json()) as typeof document;
    } catch (error) {
      if (error instanceof TokenRefused) throw error;
      throw unavailable(`could not be read (${(error as Error).message})`);
    }
    if (document.issuer !== this.settings.issuer) {
      throw unavailable(
        `names the issuer ${JSON.stringify(document.issuer)}, not ${this.settings.issuer} (FOCAL_OIDC_ISSUER)`,
      );
    }
    if (typeof document.jwks_uri !== 'string' || !URL.canParse(document.jwks_uri)) {
      throw unavailable('names no jwks_uri');
    }
    return document.jwks_uri;
  }

  /** jose's errors, each as what the caller (or the operator) can do about it. */
  private refusal(error: unknown, token: string, jwksUrl: string): TokenRefused {
    const { issuer, audience, clockToleranceSeconds } = this.settings;
    const skew = `allowing ${clockToleranceSeconds} s of clock skew`;
    if (error instanceof joseErrors.JWTExpired) {
      const exp =
        typeof error.payload.exp === 'number' ? new Date(error.payload.exp * 1000).toISOString() : '?';
      return new TokenRefused('expired', `the token expired at ${exp} (${skew}): get a new one`);
    }
    if (error instanceof joseErrors.JWTClaimValidationFailed) {
      const { claim, reason, payload } = error;
      if (claim === 'iss') {
        return new TokenRefused(
          'wrong-issuer',
          `the token was issued by ${JSON.stringify(payload.iss)}, not by ${issuer}, the identity provider ` +
            'this gateway trusts (FOCAL_OIDC_ISSUER): get a token from that provider',
        );
      }
      if (claim === 'aud') {
        return new TokenRefused(
          'wrong-audience',
          `the token is meant for ${JSON.stringify((payload as JWTPayload).aud)}, not for this gateway ` +
            `(${audience.join(', ')}, FOCAL_OIDC_AUDIENCE): ask the identity provider for a token for ` +
            `${audience[0]}`,
        );
      }
      if (claim === 'nbf' || (claim === 'iat' && reason === 'check_failed')) {
        return new TokenRefused(
          'not-yet-valid',
          `the token is not valid yet (${claim} lies in the future, ${skew}): check the clocks`,
        );
      }
      return new TokenRefused(
        'invalid-claims',
        reason === 'missing'
          ? `the token has no ${claim} claim: the identity provider must issue tokens with one`
          : `the token's ${claim} claim is not valid: get a new one`,
      );
    }
    if (
      error instanceof joseErrors.JWKSNoMatchingKey ||
      error instanceof joseErrors.JWKSMultipleMatchingKeys
    ) {
      const kid = safeHeader(token)?.kid;
      return new TokenRefused(
        'unknown-key',
        `the token is signed with a key (${kid === undefined ? 'no kid' : `kid ${JSON.stringify(kid)}`}) that ` +
          `the identity provider does not publish at ${jwksUrl}: get a new token`,
      );
    }
    if (error instanceof joseErrors.JOSEAlgNotAllowed) {
      return new TokenRefused(
        'wrong-algorithm',
        `the token is signed with ${String(safeHeader(token)?.alg)}, which is not accepted: the identity ` +
          `provider's tokens must be signed with ${this.settings.algorithms.join(', ')}`,
      );
    }
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
      return new TokenRefused('bad-signature', 'the token’s signature does not verify: get a new one');
    }
    // The key set could not be had: a timeout, an answer that is not one, or fetch's own failure (a
    // TypeError, told by its name: it may come from another realm than this module's).
    if (
      error instanceof joseErrors.JWKSTimeout ||
      error instanceof joseErrors.JWKSInvalid ||
      (error instanceof joseErrors.JOSEError && error.code === 'ERR_JOSE_GENERIC') ||
      (error as Error | undefined)?.name === 'TypeError'
    ) {
      return new TokenRefused(
        'identity-provider-unavailable',
        `the identity provider's keys could not be fetched from ${jwksUrl} (${(error as Error).message}): ` +
          'try again shortly',
        503,
      );
    }
    return new TokenRefused('malformed-token', 'the token is not a valid JWT: get a new one');
  }
}

function safeHeader(token: string): { kid?: unknown; alg?: unknown } | undefined {
  try {
    return decodeProtectedHeader(token);
  } catch {
    return undefined;
  }
}
