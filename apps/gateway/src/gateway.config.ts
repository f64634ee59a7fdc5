import {
  envSchema,
  operationsSetting,
  parseEnv,
  problem,
  reading,
  secretOf,
  secretVars,
  serviceSettings,
  toServiceConfig,
  variable,
  whole,
  type Env,
  type OperationsListen,
  type ServiceConfig,
  type Vars,
} from '@focal/service';
import { z } from 'zod';

import { CHECKPOINT_SIGNER_VARS, checkpointSignerOf, type CheckpointSettings } from '@focal/audit';
import type { OidcSettings } from './auth/identity-provider.js';
import { OIDC_VARS, oidcSettingsOf } from './auth/oidc.config.js';
import { ABUSE_LIMIT_VARS, abuseLimitsOf, DEFAULT_ABUSE_LIMITS, type AbuseLimits } from './http/abuse.js';
import type { Resolver } from './webhooks/webhook-target.js';

export interface GatewayConfig extends ServiceConfig {
  port: number;
  host: string;
  /**
   * Where /metrics answers (with health again), apart from the API: its counts are of every principal's
   * commands and requests, open or closed, so they are for the operators' network, never the API's clients.
   * Absent: no such listener (a configuration built in code, or FOCAL_OPERATIONS_PORT=off).
   */
  operations?: OperationsListen;
  /** HS256 tokens' secret: absent when only an identity provider's tokens are accepted. */
  jwtSecret?: string;
  /** How long a command may take before the caller gets 503. */
  commandTimeoutMs: number;
  /** Server-Sent Events: heartbeat interval, and unread bytes before a stream is cut off. */
  sseHeartbeatMs: number;
  sseMaxBufferedBytes: number;
  sseStallMs: number;
  /** Webhooks: loopback targets allowed (FOCAL_WEBHOOKS_ALLOW_LOOPBACK=true, never in production). */
  webhooksAllowLoopback: boolean;
  webhookMaxAttempts: number;
  webhookBaseDelayMs: number;
  /** How webhook hosts are resolved (tests swap it in); the system's resolver by default. */
  webhookResolver?: Resolver;
  /** Sealing the log: the signing key, and a checkpoint every N events or T seconds. Absent: no sealing. */
  checkpoints?: CheckpointSettings;
  /** A snapshot of the directory every N directory events, for `GET /v1/directory?asOf=`. */
  directorySnapshotEvery: number;

  /** An OpenID Connect provider whose tokens are accepted (FOCAL_OIDC_*). */
  oidc?: OidcSettings;
  /** HS256 tokens under `jwtSecret`: off when only an identity provider is configured. */
  developmentTokens: boolean;
  /** Writes and live-stream openings a minute per principal (FOCAL_RATE_LIMIT_*). */
  abuseLimits: AbuseLimits;
}

/**
 * What the gateway takes for a setting not given, stated once: the schema's defaults, and the base of a
 * configuration built in code (the tests, the benches).
 */
export const GATEWAY_DEFAULTS = {
  port: 3000,
  host: '127.0.0.1',
  commandTimeoutMs: 5_000,
  sseHeartbeatMs: 15_000,
  sseMaxBufferedBytes: 262_144,
  sseStallMs: 30_000,
  webhooksAllowLoopback: false,
  webhookMaxAttempts: 8,
  webhookBaseDelayMs: 1_000,
  directorySnapshotEvery: 20_000,
  developmentTokens: true,
  abuseLimits: DEFAULT_ABUSE_LIMITS,
} satisfies Partial<GatewayConfig>;

const milliseconds = (name: string, fallback: number) => whole(name, fallback, 100, 'milliseconds');

/**
 * The services' settings plus PORT, HOST, the operations listener (FOCAL_OPERATIONS_PORT, _HOST), the tokens
 * (FOCAL_JWT_SECRET or _FILE, at least 32 characters, and the identity provider's FOCAL_OIDC_*; one of the two
 * at least), FOCAL_COMMAND_TIMEOUT_MS, the live-update, webhook, checkpoint, snapshot and rate-limit settings
 * (README, Configuration), in the order problems are named.
 */
const gatewaySchema = envSchema({
  ...serviceSettings,
  PORT: variable().transform((raw, ctx) => {
    const port = Number(raw ?? GATEWAY_DEFAULTS.port);
    if (!Number.isInteger(port) || port < 0 || port > 65_535)
      return problem(ctx, `PORT=${raw} is not a port: use 0 to 65535`);
    return port;
  }),
  HOST: variable().transform((raw) => raw ?? GATEWAY_DEFAULTS.host),
  operations: operationsSetting('gateway'),
  // No secret has a default, whatever NODE_ENV says: a default anyone can read is no secret.
  tokens: reading(
    [...OIDC_VARS, ...secretVars('FOCAL_JWT_SECRET')],
    z.custom<Vars>().transform((vars, ctx) => {
      const oidc = oidcSettingsOf(vars, ctx);
      const jwtSecret = secretOf(
        vars,
        'FOCAL_JWT_SECRET',
        ctx,
        oidc
          ? undefined
          : 'FOCAL_JWT_SECRET_FILE is not set: tokens are checked with a secret of this deployment, at least 32 ' +
              "characters (npm start makes one in its data directory), or with an identity provider's keys " +
              '(FOCAL_OIDC_ISSUER)',
      );
      if (jwtSecret !== undefined && jwtSecret.length < 32)
        return problem(ctx, 'FOCAL_JWT_SECRET is shorter than 32 characters: use a long random secret');
      if (jwtSecret === undefined && !oidc) return z.NEVER;
      return { oidc, jwtSecret };
    }),
  ),
  FOCAL_COMMAND_TIMEOUT_MS: milliseconds('FOCAL_COMMAND_TIMEOUT_MS', GATEWAY_DEFAULTS.commandTimeoutMs),
  FOCAL_SSE_HEARTBEAT_MS: milliseconds('FOCAL_SSE_HEARTBEAT_MS', GATEWAY_DEFAULTS.sseHeartbeatMs),
  FOCAL_SSE_STALL_MS: milliseconds('FOCAL_SSE_STALL_MS', GATEWAY_DEFAULTS.sseStallMs),
  FOCAL_SSE_MAX_BUFFER_BYTES: whole(
    'FOCAL_SSE_MAX_BUFFER_BYTES',
    GATEWAY_DEFAULTS.sseMaxBufferedBytes,
    1_024,
    'bytes',
  ),
  webhooksAllowLoopback: reading(
    ['FOCAL_WEBHOOKS_ALLOW_LOOPBACK', 'NODE_ENV'],
    z.custom<Vars>().transform((vars, ctx) => {
      const allow = vars.FOCAL_WEBHOOKS_ALLOW_LOOPBACK === 'true';
      if (allow && vars.NODE_ENV === 'production')
        return problem(
          ctx,
          'FOCAL_WEBHOOKS_ALLOW_LOOPBACK is for development: production delivers to public addresses only',
        );
      return allow;
    }),
  ),
  FOCAL_WEBHOOK_MAX_ATTEMPTS: whole(
    'FOCAL_WEBHOOK_MAX_ATTEMPTS',
    GATEWAY_DEFAULTS.webhookMaxAttempts,
    1,
    'attempts',
  ),
  signing: reading(
    CHECKPOINT_SIGNER_VARS,
    z.custom<Vars>().transform((vars, ctx) => checkpointSignerOf(vars, ctx) ?? z.NEVER),
  ),
  FOCAL_CHECKPOINT_EVERY_EVENTS: whole('FOCAL_CHECKPOINT_EVERY_EVENTS', 10_000, 1, 'events'),
  FOCAL_CHECKPOINT_EVERY_SECONDS: whole('FOCAL_CHECKPOINT_EVERY_SECONDS', 300, 1, 'seconds'),
  FOCAL_DIRECTORY_SNAPSHOT_EVERY: whole(
    'FOCAL_DIRECTORY_SNAPSHOT_EVERY',
    GATEWAY_DEFAULTS.directorySnapshotEvery,
    1,
    'events',
  ),
  abuseLimits: reading(
    ABUSE_LIMIT_VARS,
    z.custom<Vars>().transform((vars, ctx) => abuseLimitsOf(vars, ctx)),
  ),
}).transform((settings): GatewayConfig => ({
  ...toServiceConfig(settings),
  ...GATEWAY_DEFAULTS,
  port: settings.PORT,
  host: settings.HOST,
  ...(settings.operations ? { operations: settings.operations } : {}),
  ...(settings.tokens.jwtSecret ? { jwtSecret: settings.tokens.jwtSecret } : {}),
  ...(settings.tokens.oidc ? { oidc: settings.tokens.oidc } : {}),
  developmentTokens: settings.tokens.jwtSecret !== undefined,
  commandTimeoutMs: settings.FOCAL_COMMAND_TIMEOUT_MS,
  sseHeartbeatMs: settings.FOCAL_SSE_HEARTBEAT_MS,
  sseMaxBufferedBytes: settings.FOCAL_SSE_MAX_BUFFER_BYTES,
  sseStallMs: settings.FOCAL_SSE_STALL_MS,
  webhooksAllowLoopback: settings.webhooksAllowLoopback,
  webhookMaxAttempts: settings.FOCAL_WEBHOOK_MAX_ATTEMPTS,
  directorySnapshotEvery: settings.FOCAL_DIRECTORY_SNAPSHOT_EVERY,
  abuseLimits: settings.abuseLimits,
  checkpoints: {
    ...settings.signing,
    everyEvents: settings.FOCAL_CHECKPOINT_EVERY_EVENTS,
    everyMs: settings.FOCAL_CHECKPOINT_EVERY_SECONDS * 1_000,
  },
}));

/** The gateway's configuration (and the whole system's, which `npm start` runs); every problem named at once. */
export function loadGatewayConfig(env: Env = process.env): GatewayConfig {
  return parseEnv(gatewaySchema, env);
}
