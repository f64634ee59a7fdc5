import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/** A signing key of the test provider: its `kid`, algorithm, private key and public JWK. */
export interface ProviderKey {
  kid: string;
  alg: 'RS256' | 'ES256' | 'EdDSA' | 'PS256';
  privateKey: CryptoKey;
  jwk: JWK;
}

/**
 * An OpenID Connect provider as far as a resource server sees one, on loopback over real HTTP: its discovery
 * document at `/.well-known/openid-configuration` and its key set at `/.well-known/jwks.json`, serving the keys
 * the test publishes (and rotates); keys made by `jose`, tokens signed with them.
 */
export interface TestIdentityProvider {
  issuer: string;
  jwksUrl: string;
  /** Requests for the key set so far. */
  jwksFetches(): number;
  /** A new key pair (not published until `publish` names it). */
  key(kid: string, alg?: ProviderKey['alg']): Promise<ProviderKey>;
  /** The keys the key set serves from now on. */
  publish(...keys: ProviderKey[]): void;
  /** A token signed with `key`: `iss`, `aud` and an expiry in an hour unless the claims say otherwise. */
  sign(
    key: ProviderKey,
    claims: JWTPayload & Record<string, unknown>,
    header?: { kid?: string },
  ): Promise<string>;
  close(): Promise<void>;
}

export const AUDIENCE = 'focal-gateway';

export async function startTestIdentityProvider(): Promise<TestIdentityProvider> {
  let published: JWK[] = [];
  let fetches = 0;
  let issuer = '';
  const server: Server = createServer((request, response) => {
    const json = (body: unknown) =>
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (request.url === '/.well-known/openid-configuration') {
      return json({
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        id_token_signing_alg_values_supported: ['RS256', 'ES256', 'EdDSA'],
      });
    }
    if (request.url === '/.well-known/jwks.json') {
      fetches++;
      return json({ keys: published });
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    jwksUrl: `${issuer}/.well-known/jwks.json`,
    jwksFetches: () => fetches,
    async key(kid, alg = 'RS256') {
      const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
      return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
    },
    publish(...keys) {
      published = keys.map((key) => key.jwk);
    },
    sign(key, claims, header = {}) {
      const { iss = issuer, aud = AUDIENCE, exp, ...rest } = claims;
      const token = new SignJWT(rest)
        .setProtectedHeader({ alg: key.alg, kid: 'kid' in header ? header.kid : key.kid })
        .setIssuer(iss)
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime(exp ?? '1h');
      return token.sign(key.privateKey);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
