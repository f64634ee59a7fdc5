import { ServiceFailedError, ServiceUnavailableError } from '@focal/contracts';
import { DomainError, type DomainErrorCode } from '@focal/domain';
import { LogNotReadableError } from '@focal/events';
import {
  Catch,
  HttpException,
  Logger,
  type ArgumentsHost,
  type ExceptionFilter,
  type ValidationError,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';

/** RFC 9457 problem details, as every error of the API is answered. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  /** For 400: the message for each field at fault. */
  errors?: Record<string, string>;
  reason?: string;
}

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
  if (error instanceof LogNotReadableError) {
    return {
      type: problemType('log-not-readable-yet'),
      title: 'Service unavailable',
      status: 503,
      detail: error.message,
    };
  }
  if (error instanceof ServiceUnavailableError) {
    return {
      type: problemType('service-unavailable'),
      title: 'Service unavailable',
      status: 503,
      detail: error.message,
    };
  }
  if (error instanceof ServiceFailedError) {
    return { type: problemType(error.reason), title: 'Service failed', status: 500, detail: error.message };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const reason = status === 404 ? 'no-such-route' : status === 413 ? 'body-too-large' : `http-${status}`;
    return { type: problemType(reason), title: error.name, status, detail: error.message };
  }
  // Fastify's own errors (malformed JSON, a body over the limit, a wrong content type) carry their status.
  const fastify = error as { statusCode?: number; code?: string; message?: string };
  if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    const reason =
      fastify.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'body-too-large'
        : fastify.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'unsupported-media-type'
          : 'malformed-request';
    return {
      type: problemType(reason),
      title: 'Malformed request',
      status: fastify.statusCode,
      detail: `${fastify.message ?? 'the request could not be read'}: send a JSON body (Content-Type: application/json)`,
    };
  }
  return {
    type: problemType('internal-error'),
    title: 'Internal error',
    status: 500,
    detail: 'the gateway failed to handle this request; it was logged: try again, or report it',
  };
}

/** class-validator's errors as one message per field path (`personal.email`, `languages.0`). */
export function validationProblem(errors: ValidationError[]): Problem {
  const fields: Record<string, string> = {};
  const walk = (list: ValidationError[], prefix: string) => {
    for (const error of list) {
      const path = prefix ? `${prefix}.${error.property}` : error.property;
      const messages = Object.values(error.constraints ?? {});
      if (messages.length > 0) fields[path] = messages.join('; ');
      walk(error.children ?? [], path);
    }
  };
  walk(errors, '');
  const detail = Object.entries(fields)
    .map(([field, message]) => `${field}: ${message}`)
    .join('; ');
  return new Problem(400, 'invalid-input', 'Invalid input', detail, fields);
}

@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('gateway');

  catch(error: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<{ url: string }>();
    const problem = { ...toProblem(error), instance: request.url };
    if (problem.status >= 500 && problem.status !== 503) {
      this.logger.error(`${request.url}: ${(error as Error)?.stack ?? String(error)}`);
    }
    void reply.status(problem.status).header('content-type', 'application/problem+json').send(problem);
  }
}
