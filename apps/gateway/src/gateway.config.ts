import { ConfigError, loadServiceConfig, type ServiceConfig } from '@focal/service';

import { DEVELOPMENT_SECRET } from './auth/authenticator.js';

export interface GatewayConfig extends ServiceConfig {
  port: number;
  host: string;
  jwtSecret: string;
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
}

/**
 * The services' settings plus PORT (default 3000), HOST (default 127.0.0.1), FOCAL_JWT_SECRET (the development
 * default outside production; required, at least 32 characters, and not the default when NODE_ENV=production)
 * and FOCAL_COMMAND_TIMEOUT_MS (default 5000).
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
  const jwtSecret = env.FOCAL_JWT_SECRET ?? (production ? undefined : DEVELOPMENT_SECRET);
  if (jwtSecret === undefined) {
    problems.push(
      'FOCAL_JWT_SECRET is not set: production needs a secret of its own (at least 32 characters)',
    );
  } else if (production && jwtSecret === DEVELOPMENT_SECRET) {
    problems.push('FOCAL_JWT_SECRET is the development secret: production needs a secret of its own');
  } else if (jwtSecret.length < 32) {
    problems.push('FOCAL_JWT_SECRET is shorter than 32 characters: use a long random secret');
  }
  const commandTimeoutMs = Number(env.FOCAL_COMMAND_TIMEOUT_MS ?? 5_000);
  if (!Number.isInteger(commandTimeoutMs) || commandTimeoutMs < 100) {
    problems.push(
      `FOCAL_COMMAND_TIMEOUT_MS=${env.FOCAL_COMMAND_TIMEOUT_MS} must be a whole number of milliseconds, at least 100`,
    );
  }
  const sseHeartbeatMs = Number(env.FOCAL_SSE_HEARTBEAT_MS ?? 15_000);
  if (!Number.isInteger(sseHeartbeatMs) || sseHeartbeatMs < 100) {
    problems.push(
      `FOCAL_SSE_HEARTBEAT_MS=${env.FOCAL_SSE_HEARTBEAT_MS} must be a whole number of milliseconds, at least 100`,
    );
  }
  const sseStallMs = Number(env.FOCAL_SSE_STALL_MS ?? 30_000);
  if (!Number.isInteger(sseStallMs) || sseStallMs < 100) {
    problems.push(
      `FOCAL_SSE_STALL_MS=${env.FOCAL_SSE_STALL_MS} must be a whole number of milliseconds, at least 100`,
    );
  }
  const sseMaxBufferedBytes = Number(env.FOCAL_SSE_MAX_BUFFER_BYTES ?? 262_144);
  if (!Number.isInteger(sseMaxBufferedBytes) || sseMaxBufferedBytes < 1_024) {
    problems.push(
      `FOCAL_SSE_MAX_BUFFER_BYTES=${env.FOCAL_SSE_MAX_BUFFER_BYTES} must be a whole number of bytes, at least 1024`,
    );
  }
  const webhooksAllowLoopback = env.FOCAL_WEBHOOKS_ALLOW_LOOPBACK === 'true';
  if (webhooksAllowLoopback && production) {
    problems.push(
      'FOCAL_WEBHOOKS_ALLOW_LOOPBACK is for development: production delivers to public addresses only',
    );
  }
  const webhookMaxAttempts = Number(env.FOCAL_WEBHOOK_MAX_ATTEMPTS ?? 8);
  if (!Number.isInteger(webhookMaxAttempts) || webhookMaxAttempts < 1) {
    problems.push(
      `FOCAL_WEBHOOK_MAX_ATTEMPTS=${env.FOCAL_WEBHOOK_MAX_ATTEMPTS} must be a whole number from 1`,
    );
  }
  if (problems.length > 0 || !service || !jwtSecret) throw new ConfigError(problems);
  return {
    ...service,
    port,
    host: env.HOST ?? '127.0.0.1',
    jwtSecret,
    commandTimeoutMs,
    sseHeartbeatMs,
    sseMaxBufferedBytes,
    sseStallMs,
    webhooksAllowLoopback,
    webhookMaxAttempts,
  };
}
