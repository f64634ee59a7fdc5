import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';

import { into, problem, type Env, type Problems, type Vars } from '@focal/service';

import { Problem } from './problem.js';

/*
 * Abuse limits at the HTTP edge: per-principal rate limits on writes and on opening live streams
 * (@fastify/rate-limit), answered as a Focal problem with Retry-After; and the standard security headers
 * (@fastify/helmet) on every answer.
 */

/** Requests per minute per caller; 0 turns a limit off. */
export interface AbuseLimits {
  /** POST, PUT, PATCH and DELETE under /v1. */
  writesPerMinute: number;
  /** GET /v1/updates (each opens a Server-Sent Events stream). */
  streamOpensPerMinute: number;
}

export const DEFAULT_ABUSE_LIMITS: AbuseLimits = { writesPerMinute: 600, streamOpensPerMinute: 30 };

/** The variables the limits are read from. */
export const ABUSE_LIMIT_VARS = [
  'FOCAL_RATE_LIMIT_WRITES_PER_MINUTE',
  'FOCAL_RATE_LIMIT_STREAMS_PER_MINUTE',
] as const;

/** FOCAL_RATE_LIMIT_WRITES_PER_MINUTE and FOCAL_RATE_LIMIT_STREAMS_PER_MINUTE (0: no limit). */
export function abuseLimitsOf(env: Vars, problems: Problems): AbuseLimits {
  const perMinute = (name: string, fallback: number) => {
    const value = Number(env[name] ?? fallback);
    if (!Number.isInteger(value) || value < 0 || value > 1_000_000) {
      problem(problems, `${name}=${env[name]} must be a whole number of requests a minute (0 for no limit)`);
    }
    return value;
  };
  return {
    writesPerMinute: perMinute('FOCAL_RATE_LIMIT_WRITES_PER_MINUTE', DEFAULT_ABUSE_LIMITS.writesPerMinute),
    streamOpensPerMinute: perMinute(
      'FOCAL_RATE_LIMIT_STREAMS_PER_MINUTE',
      DEFAULT_ABUSE_LIMITS.streamOpensPerMinute,
    ),
  };
}

/** The limits outside the gateway's schema (their tests), problems added to `problems`. */
export const loadAbuseLimits = (env: Env, problems: string[]) => abuseLimitsOf(env, into(problems));

const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const STREAMS = /^\/v1\/updates\/?(\?|$)/;
const WINDOW_MS = 60_000;

/**
 * Limits each caller, named by `keyOf` (the authenticated principal, or its IP address without a valid token),
 * to so many writes and so many stream openings a minute, counted per gateway. Past a limit the answer is 429
 * `rate-limited` with Retry-After and a detail saying when to try again.
 */
export async function installRateLimits(
  app: NestFastifyApplication,
  limits: AbuseLimits,
  keyOf: (request: FastifyRequest) => Promise<string>,
): Promise<void> {
  await app.register(fastifyRateLimit, { global: false });
  const fastify = app.getHttpAdapter().getInstance();
  const limiter = (max: number, what: string) => {
    if (max === 0) return undefined;
    const count = fastify.createRateLimit({ max, timeWindow: WINDOW_MS, keyGenerator: keyOf });
    return async (request: FastifyRequest, reply: { header(name: string, value: string): unknown }) => {
      const verdict = await count(request);
      if (verdict.isAllowed) return;
      void reply.header('x-ratelimit-limit', String(max));
      void reply.header('x-ratelimit-remaining', String(verdict.remaining));
      void reply.header('x-ratelimit-reset', String(verdict.ttlInSeconds));
      if (!verdict.isExceeded) return;
      const seconds = Math.max(1, verdict.ttlInSeconds);
      void reply.header('retry-after', String(seconds));
      throw new Problem(
        429,
        'rate-limited',
        'Too many requests',
        `at most ${max} ${what} a minute per caller: try again in ${seconds} s ` +
          `(after ${new Date(Date.now() + seconds * 1000).toISOString()})`,
      );
    };
  };
  const writes = limiter(limits.writesPerMinute, 'writes');
  const streams = limiter(limits.streamOpensPerMinute, 'live-update streams opened');
  fastify.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/v1/')) return;
    if (WRITES.has(request.method)) await writes?.(request, reply);
    else if (request.method === 'GET' && STREAMS.test(request.url)) await streams?.(request, reply);
  });
}

/**
 * Helmet's standard headers on every answer (Content-Security-Policy, Strict-Transport-Security,
 * X-Content-Type-Options, X-Frame-Options, Referrer-Policy, Cross-Origin-*-Policy, …). Its default policy
 * already fits Swagger UI at /docs (scripts and styles from the gateway itself, inline styles, data: images);
 * `upgrade-insecure-requests` is left out, as it would send a browser reading /docs over plain HTTP (a
 * development gateway, or one behind a proxy that ends TLS) to https:// for every script.
 */
export async function installSecurityHeaders(app: NestFastifyApplication): Promise<void> {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: { directives: { 'upgrade-insecure-requests': null } },
  });
}
