import { ConfigError, loadServiceConfig, readSecret, type ServiceConfig } from '@focal/service';

import { loadCheckpointSigner, type CheckpointSettings } from '@focal/audit';
import type { OidcSettings } from './auth/identity-provider.js';
import { loadOidcSettings } from './auth/oidc.config.js';
import { loadAbuseLimits, type AbuseLimits } from './http/abuse.js';
import type { Resolver } from './webhooks/webhook-target.js';

export interface GatewayConfig extends ServiceConfig {
  port: number;
  host: string;
  /** HS256 tokens' secret: absent when only an identity provider's tokens are accepted. */
  jwtSecret?: string;
  /** How long a command may take before the caller gets 503. */
  commandTimeoutMs: number;
  /** Server-Sent Events: heartbeat interval, and unread bytes before a stream is cut off. */
  sseHeartbeatMs?: number;
  sseMaxBufferedBytes?: number;
  sseStallMs?: number;
  /** Webhooks: loopback targets allowed (FOCAL_WEBHOOKS_ALLOW_LOOPBACK=true, never in production). */
  webhooksAllowLoopback?: boolean;
  webhookMaxAttempts?: number;
  webhookBaseDelayMs?: number;
  /** How webhook hosts are resolved (tests swap it in); the system's resolver by default. */
  webhookResolver?: Resolver;
  /** Sealing the log: the signing key, and a checkpoint every N events or T seconds. Absent: no sealing. */
  checkpoints?: CheckpointSettings;
  /** A snapshot of the directory every N directory events, for `GET /v1/directory?asOf=`. */
  directorySnapshotEvery?: number;

  /** An OpenID Connect provider whose tokens are accepted (FOCAL_OIDC_*). */
  oidc?: OidcSettings;
  /** HS256 tokens under `jwtSecret`: off when only an identity provider is configured. */
  developmentTokens?: boolean;
  /** Writes and live-stream openings a minute per principal (FOCAL_RATE_LIMIT_*); defaults when absent. */
  abuseLimits?: AbuseLimits;
}

/**
 * The services' settings plus PORT (default 3000), HOST (default 127.0.0.1), FOCAL_JWT_SECRET or _FILE (required,
 * at least 32 characters), FOCAL_COMMAND_TIMEOUT_MS, the live-update, webhook and checkpoint settings (README,
 * Configuration).
 */
export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const problems: string[] = [];
  let service: ServiceConfig | undefined;
  try {
    service = loadServiceConfig(env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  const port = Number(env.PORT ?? 3000);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    problems.push(`PORT=${env.PORT} is not a port: use 0 to 65535`);
  const production = env.NODE_ENV === 'production';
  // No secret has a default, whatever NODE_ENV says: a default anyone can read is no secret.
  const oidc = loadOidcSettings(env, problems);
  const jwtSecret = readSecret(env, 'FOCAL_JWT_SECRET', problems);
  if (jwtSecret === undefined) {
    if (!oidc && !problems.some((problem) => problem.startsWith('FOCAL_JWT_SECRET'))) {
      problems.push(
        'FOCAL_JWT_SECRET_FILE is not set: tokens are checked with a secret of this deployment, at least 32 ' +
          "characters (npm start makes one in its data directory), or with an identity provider's keys " +
          '(FOCAL_OIDC_ISSUER)',
      );
    }
  } else if (jwtSecret.length < 32) {
    problems.push('FOCAL_JWT_SECRET is shorter than 32 characters: use a long random secret');
  }
  /** A whole-number setting with its default and least value; a bad one is named with its fix. */
  const whole = (name: string, fallback: number, least: number, unit: string) => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value < least) {
      problems.push(`${name}=${env[name]} must be a whole number of ${unit}, at least ${least}`);
    }
    return value;
  };
  const commandTimeoutMs = whole('FOCAL_COMMAND_TIMEOUT_MS', 5_000, 100, 'milliseconds');
  const sseHeartbeatMs = whole('FOCAL_SSE_HEARTBEAT_MS', 15_000, 100, 'milliseconds');
  const sseStallMs = whole('FOCAL_SSE_STALL_MS', 30_000, 100, 'milliseconds');
  const sseMaxBufferedBytes = whole('FOCAL_SSE_MAX_BUFFER_BYTES', 262_144, 1_024, 'bytes');
  const webhooksAllowLoopback = env.FOCAL_WEBHOOKS_ALLOW_LOOPBACK === 'true';
  if (webhooksAllowLoopback && production) {
    problems.push(
      'FOCAL_WEBHOOKS_ALLOW_LOOPBACK is for development: production delivers to public addresses only',
    );
  }
  const webhookMaxAttempts = whole('FOCAL_WEBHOOK_MAX_ATTEMPTS', 8, 1, 'attempts');
  const signing = loadCheckpointSigner(env, problems);
  const checkpointEveryEvents = whole('FOCAL_CHECKPOINT_EVERY_EVENTS', 10_000, 1, 'events');
  const checkpointEverySeconds = whole('FOCAL_CHECKPOINT_EVERY_SECONDS', 300, 1, 'seconds');
  const directorySnapshotEvery = whole('FOCAL_DIRECTORY_SNAPSHOT_EVERY', 20_000, 1, 'events');
  const abuseLimits = loadAbuseLimits(env, problems);
  if (problems.length > 0 || !service || (!jwtSecret && !oidc) || !signing) throw new ConfigError(problems);
  return {
    ...service,
    port,
    host: env.HOST ?? '127.0.0.1',
    ...(jwtSecret ? { jwtSecret } : {}),
    commandTimeoutMs,
    sseHeartbeatMs,
    sseMaxBufferedBytes,
    sseStallMs,
    webhooksAllowLoopback,
    webhookMaxAttempts,
    directorySnapshotEvery,
    ...(oidc ? { oidc } : {}),
    developmentTokens: jwtSecret !== undefined,
    abuseLimits,
    checkpoints: {
      ...signing,
      everyEvents: checkpointEveryEvents,
      everyMs: checkpointEverySeconds * 1_000,
    },
  };
}
