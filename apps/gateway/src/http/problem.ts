import { STATUS_CODES } from 'node:http';

import { AuditRefusedError } from '@focal/audit';
import { ServiceFailedError, ServiceUnavailableError } from '@focal/contracts';
import { DomainError, type DomainErrorCode } from '@focal/domain';
import { isStoreUnreachable, LogNotReadableError } from '@focal/events';
import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

import { BODY_LIMIT_BYTES } from './input.js';

/** RFC 9457 problem details, as every error of the API is answered. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  /** For 400: the message for each field at fault. */
  errors?: Record<string, string>;
  /** The stable reason, also the last part of `type`: what a client switches on. */
  reason: string;
}

/**
 * Every reason answered at the statuses whose reasons the gateway decides alone, as raised in its code (the
 * edge, the pipes, the command gateway, authentication, rate limits, outages, the framework's refusals):
 * the OpenAPI document lists them as each status's `reason` enum, and the system tests' conformance check
 * holds every answer to it. 403, 404, 409 and 422 carry the domain's reasons, which its rules name.
 */
export const REASONS_BY_STATUS = {
  400: [
    'invalid-input',
    'invalid-id',
    'invalid-if-match',
    'invalid-idempotency-key',
    'invalid-position',
    'invalid-last-event-id',
    'invalid-stream',
    'invalid-webhook-url',
    'malformed-json',
    'malformed-request',
    'malformed-url',
  ],
  401: ['unauthenticated'],
  412: ['version-mismatch'],
  413: ['body-too-large'],
  415: ['unsupported-media-type'],
  429: ['rate-limited'],
  500: ['internal-error'],
  503: [
    'service-unavailable',
    'store-unavailable',
    'log-not-readable-yet',
    'read-model-behind',
    'identity-provider-unavailable',
  ],
} as const satisfies Partial<Record<number, readonly [string, ...string[]]>>;

/** Problem types are stable URNs named after the domain's reason codes. */
export const problemType = (reason: string) => `urn:focal:problem:${reason}`;

/** An error the gateway itself raises, already in the shape of its answer. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly title: string,
    detail: string,
    readonly errors?: Record<string, string>,
  ) {
    super(detail);
  }
}

const STATUS_OF_CODE: Record<DomainErrorCode, number> = {
  Invalid: 400,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  RuleViolated: 422,
};

const TITLE_OF_CODE: Record<DomainErrorCode, string> = {
  Invalid: 'Invalid input',
  Forbidden: 'Not allowed',
  NotFound: 'Not found',
  Conflict: 'Conflict',
  RuleViolated: 'Rule violated',
};

const AUDIT_REFUSALS = {
  'secretariat-and-auditors-only': [403, 'audit/secretariat-and-auditors-only', 'Not allowed'],
  'invalid-stream': [400, 'invalid-stream', 'Invalid stream'],
  'no-such-stream': [404, 'not-found', 'Not found'],
} as const;

/** Each error once to its HTTP answer: domain errors by code, the rest by what they mean for the caller. */
export function toProblem(error: unknown): ProblemDocument {
  if (error instanceof Problem) {
    return {
      type: problemType(error.reason),
      title: error.title,
      status: error.status,
      detail: error.message,
      reason: error.reason,
      ...(error.errors ? { errors: error.errors } : {}),
    };
  }
  if (error instanceof DomainError) {
    const precondition = error.reason === 'version-mismatch';
    const fields = Object.keys(error.fields).length > 0 ? { errors: { ...error.fields } } : {};
    return {
      type: problemType(error.reason),
      title: precondition ? 'Precondition failed' : TITLE_OF_CODE[error.code],
      status: precondition ? 412 : STATUS_OF_CODE[error.code],
      detail: error.message,
      reason: error.reason,
      ...fields,
    };
  }
  if (error instanceof AuditRefusedError) {
    const [status, reason, title] = AUDIT_REFUSALS[error.reason];
    return { type: problemType(reason), title, status, detail: error.message, reason };
  }
  if (error instanceof LogNotReadableError) {
    return unavailable('log-not-readable-yet', error.message);
  }
  if (isStoreUnreachable(error)) {
    // Authentication, reads and read-model catch-ups all meet a lost store before the health probe does.
    return unavailable(
      'store-unavailable',
      'the event store does not answer: try again shortly (see /health/ready)',
    );
  }
  if (error instanceof ServiceUnavailableError) {
    return unavailable('service-unavailable', error.message);
  }
  if (error instanceof ServiceFailedError) {
    return {
      type: problemType(error.reason),
      title: 'Service failed',
      status: 500,
      detail: error.message,
      reason: error.reason,
    };
  }
  // What the framework refuses before any handler runs: Nest wraps Fastify's errors (the code stays on the
  // cause); a route that does not exist is Nest's own 404. Answered in Focal's words, never the class names.
  const status = error instanceof HttpException ? error.getStatus() : statusOf(error);
  if (status !== undefined && status >= 400 && status < 500) {
    const code = codeOf(error instanceof HttpException ? error.cause : error) ?? codeOf(error);
    return frameworkProblem(status, code);
  }
  return {
    type: problemType('internal-error'),
    title: 'Internal error',
    status: 500,
    detail: 'the gateway failed to handle this request; it was logged: try again, or report it',
    reason: 'internal-error',
  };
}

const unavailable = (reason: string, detail: string): ProblemDocument => ({
  type: problemType(reason),
  title: 'Service unavailable',
  status: 503,
  detail,
  reason,
});

const statusOf = (error: unknown) => {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
};

const codeOf = (error: unknown) => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
};

/** The framework's refusals, by status (and Fastify's code where one status has several causes). */
const FRAMEWORK_PROBLEMS: Record<number, { reason: string; detail: string }> = {
  400: {
    reason: 'malformed-request',
    detail:
      'the request could not be read: check its URL, its headers and that the body is what Content-Type says',
  },
  404: { reason: 'no-such-route', detail: 'there is no such route: the API is described at /docs' },
  405: { reason: 'method-not-allowed', detail: 'this route does not take this method: see the Allow header' },
  408: { reason: 'request-timeout', detail: 'the request did not arrive in time: send it again' },
  413: {
    reason: 'body-too-large',
    detail: `the body is larger than ${BODY_LIMIT_BYTES / 1024} KiB: no Focal request needs more, send less`,
  },
  414: { reason: 'uri-too-long', detail: 'a part of the path is too long: ids are at most 100 characters' },
  415: {
    reason: 'unsupported-media-type',
    detail: 'this API takes JSON bodies only: send the body with Content-Type: application/json, or no body',
  },
  431: {
    reason: 'headers-too-large',
    detail: 'the request headers are too large: send fewer or shorter ones',
  },
};

const FRAMEWORK_CODES: Record<string, { reason: string; detail: string }> = {
  FST_ERR_BAD_URL: {
    reason: 'malformed-url',
    detail: 'the path is not a valid URL: percent-encode it as UTF-8 (e.g. %C3%A9 for é)',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    reason: 'malformed-request',
    detail: 'Content-Length does not match the body: send the length of the body in bytes',
  },
};

/** A problem for a status the framework answered with: Focal's type, reason and detail, HTTP's title. */
export function frameworkProblem(status: number, code?: string): ProblemDocument {
  const known = (code && FRAMEWORK_CODES[code]) || FRAMEWORK_PROBLEMS[status];
  const title = STATUS_CODES[status] ?? 'Request refused';
  const reason = known?.reason ?? title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return {
    type: problemType(reason),
    title,
    status,
    detail: known?.detail ?? `the request was refused (${status} ${title})`,
    reason,
  };
}

/** Sends a problem as RFC 9457 says: its status, `application/problem+json`. */
export function sendProblem(reply: FastifyReply, problem: ProblemDocument): void {
  if (reply.raw.headersSent) {
    // A stream (NDJSON, SSE) already under way cannot turn into a problem: it ends, and the client sees it cut.
    reply.raw.end();
    return;
  }
  // Every 503 says when to try again (the API description promises it): a second, unless the guard that
  // watches the store set its own bound.
  if (problem.status === 503 && !reply.hasHeader('retry-after')) void reply.header('retry-after', '1');
  void reply.status(problem.status).header('content-type', 'application/problem+json').send(problem);
}

/**
 * Every error a request can meet, the framework's included, answered as a problem. A route that does not
 * exist for this method but does for others is a 405 naming them in `Allow`.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('gateway');

  constructor(private readonly allowedMethods: (path: string) => string[] = () => []) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    let problem = toProblem(error);
    if (problem.reason === 'no-such-route') {
      const path = request.url.split('?')[0]!;
      const shown = path.length > 200 ? `${path.slice(0, 200)}…` : path;
      const allow = this.allowedMethods(path);
      // A route that takes this very method and still found nothing (a file under /docs) is a 404, not a 405.
      if (allow.length > 0 && !allow.includes(request.method)) {
        problem = frameworkProblem(405);
        problem.detail = `${shown} does not take ${request.method}: use ${allow.join(', ')}`;
        void reply.header('allow', allow.join(', '));
      } else if (/^\/metrics\/?$/.test(path)) {
        // Where it was before: an operator's scraper pointed here is told where to look.
        problem.detail =
          "the metrics are not served on the API's port: an operator reads them on the gateway's operations " +
          "listener (FOCAL_OPERATIONS_PORT, 9463 by default; the gateway logs 'health and metrics on …' with " +
          'where it listens)';
      } else {
        problem.detail = `there is no route ${request.method} ${shown}: the API is described at /docs`;
      }
    }
    if (problem.status >= 500 && problem.status !== 503) {
      this.logger.error(`${request.url}: ${(error as Error)?.stack ?? String(error)}`);
    }
    sendProblem(reply, { ...problem, instance: request.url });
  }
}
