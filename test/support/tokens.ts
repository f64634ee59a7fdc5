import { SignJWT } from 'jose';

import { testSecrets } from './secrets.js';

/** An HS256 token with exactly these claims (malformed ones included), under a secret, expiring as told. */
export function signClaims(
  claims: Record<string, unknown>,
  secret = testSecrets.jwtSecret,
  expires: string | number = '1h',
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(expires)
    .sign(new TextEncoder().encode(secret));
}
