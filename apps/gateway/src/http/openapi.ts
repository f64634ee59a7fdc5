import { ServiceUnavailableError } from '@focal/contracts';
import { DomainError } from '@focal/domain';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod, type Type } from '@nestjs/common';
import { z } from 'zod';
import {
  createDocument,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
} from 'zod-openapi';

import { problemAnswer } from './answers.js';
import { OPERATION, TAG, type OperationSpec, type RequestHeader } from './operation.js';
import {
  frameworkProblem,
  Problem,
  problemType,
  REASONS_BY_STATUS,
  toProblem,
  type ProblemDocument,
} from './problem.js';

/*
 * The OpenAPI document, built from the routes themselves: each handler's path and method as Nest registers
 * them, and its `@Operation` spec, whose zod schemas are the ones that validate the request. A route without a
 * spec is a mistake this refuses to hide.
 */

/** Path parameters, by name: every route that takes one takes it in this shape. */
const PATH_PARAMETERS: Record<string, z.ZodType> = {
  id: z.uuid(),
  messageId: z.uuid(),
  delegateId: z.uuid(),
  code: z.string().meta({ description: 'ISO 3166-1 alpha-2', example: 'FR' }),
  streamId: z.string().meta({ example: 'contact-point-0b3c7d0e-…' }),
};

const HEADERS: Record<RequestHeader, z.ZodType> = {
  'Idempotency-Key': z
    .string()
    .max(200)
    .meta({ description: 'the same key with the same body answers the same, with one effect' }),
  'If-Match': z.string().meta({ description: 'the version you read (its ETag): 412 if it changed since' }),
  'Focal-Read-After': z
    .string()
    .meta({ description: 'the `position` of your write: the read waits until it is projected' }),
  'Last-Event-ID': z
    .string()
    .meta({ description: 'resume after this event: the id of the last one received; 0 from the start' }),
};

/** What every operation can answer besides its own problems. */
const COMMON_PROBLEMS: Record<number, string> = {
  401: 'no valid bearer token',
  403: 'the principal the token names is not in good standing (not admitted, former, suspended), or the operation is not for its role',
  429: 'too many requests: wait as Retry-After says',
  500: 'an unexpected failure, logged with its correlation id',
  503: 'the store or NATS is unreachable: retry as Retry-After says',
};

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  200: 'done (see the summary for when)',
  400: 'invalid input: `errors` names each field at fault',
  403: 'not allowed for the caller',
  404: 'no such entity visible to the caller',
  409: 'a conflicting change, or an Idempotency-Key reused with another body',
  412: 'If-Match names a version that is no longer current (asked only of a caller who may act at all)',
  413: 'the body is too large',
  415: 'the body is not JSON in UTF-8, or is sent compressed (Content-Encoding)',
  422: 'the domain refuses it: `reason` says which rule',
};

const METHODS: Partial<Record<RequestMethod, 'get' | 'post' | 'put' | 'patch' | 'delete'>> = {
  [RequestMethod.GET]: 'get',
  [RequestMethod.POST]: 'post',
  [RequestMethod.PUT]: 'put',
  [RequestMethod.PATCH]: 'patch',
  [RequestMethod.DELETE]: 'delete',
};

/**
 * An example of each status's problem, made by the code that answers it (toProblem), with the domain's own
 * messages where the domain refuses.
 */
const PROBLEM_EXAMPLES: Record<number, ProblemDocument> = {
  400: toProblem(
    new DomainError('Invalid', 'invalid-input', 'email: must be an e-mail address', {
      email: 'must be an e-mail address',
    }),
  ),
  401: toProblem(
    new Problem(
      401,
      'unauthenticated',
      'Unauthenticated',
      'the token expired at 2026-11-22T10:00:00Z: get a new one',
    ),
  ),
  403: toProblem(
    new DomainError(
      'Forbidden',
      'contact-point/other-state',
      'FR may maintain only its own contact points; this one belongs to DE',
    ),
  ),
  404: toProblem(
    new DomainError(
      'NotFound',
      'contact-point/not-found',
      'no contact point 0b3c7d0e-5a1f-4c4e-9d7a-2f6e8b1c3a90; register it first',
    ),
  ),
  409: toProblem(
    new DomainError(
      'Conflict',
      'idempotency-key-reused',
      'idempotency key 7d9c1f0e-first-entry was already used for another command; use a new key for a new command',
    ),
  ),
  412: toProblem(
    new DomainError(
      'Conflict',
      'version-mismatch',
      'contact-point-0b3c7d0e-5a1f-4c4e-9d7a-2f6e8b1c3a90 is not at version 3 (it moved on since, or never was): read it again and decide on what it is now',
    ),
  ),
  413: frameworkProblem(413),
  415: frameworkProblem(415),
  422: toProblem(
    new DomainError(
      'RuleViolated',
      'contact-point/primary-per-state',
      'primary contact points are designated per state',
    ),
  ),
  429: toProblem(
    new Problem(
      429,
      'rate-limited',
      'Too many requests',
      'at most 60 writes a minute per caller: try again in 12 s',
    ),
  ),
  500: toProblem(new Error('an example of a failure')),
  503: toProblem(
    new ServiceUnavailableError(
      'directory',
      'the directory service did not answer within 5000 ms; it or NATS may be down: try again shortly',
    ),
  ),
};

/** A status's problem schema: its reasons as an enum where the gateway alone decides them (REASONS_BY_STATUS). */
const PROBLEM_SCHEMAS: Record<number, z.ZodType> = Object.fromEntries(
  Object.entries(REASONS_BY_STATUS).map(([status, reasons]) => [
    status,
    problemAnswer
      .extend({
        type: z.string().meta({ example: problemType(reasons[0]) }),
        reason: z.enum(reasons).meta({ description: 'a stable reason, the end of `type`' }),
      })
      .meta({ id: `Problem${status}` }),
  ]),
);

function problemContent(status: number) {
  const example = PROBLEM_EXAMPLES[status];
  return {
    'application/problem+json': {
      schema: PROBLEM_SCHEMAS[status] ?? problemAnswer,
      ...(example ? { example } : {}),
    },
  };
}

function joinPath(...parts: string[]): string {
  const joined = parts
    .flatMap((part) => part.split('/'))
    .filter(Boolean)
    .map((segment) => (segment.startsWith(':') ? `{${segment.slice(1)}}` : segment))
    .join('/');
  return `/${joined}`;
}

function operationOf(
  spec: OperationSpec,
  method: 'get' | 'post' | 'put' | 'patch' | 'delete',
  path: string,
  tag: string | undefined,
  operationId: string,
): ZodOpenApiOperationObject {
  const pathNames = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
  const pathShape = Object.fromEntries(
    pathNames.map((name) => {
      const schema = PATH_PARAMETERS[name];
      if (!schema) throw new Error(`path parameter ${name} of ${path} has no schema in http/openapi.ts`);
      return [name, schema];
    }),
  );
  const headers = spec.headers ?? [];
  const responses: Record<string, ZodOpenApiResponseObject> = {
    [String(spec.success.status)]: {
      description: spec.success.description,
      ...(spec.success.schema || spec.success.contentType
        ? {
            content: {
              [spec.success.contentType ?? 'application/json']: { schema: spec.success.schema ?? z.string() },
            },
          }
        : {}),
    },
  };
  for (const status of spec.problems ?? []) {
    if (status === spec.success.status) continue;
    if (status < 400) {
      responses[String(status)] = {
        description: PROBLEM_DESCRIPTIONS[status] ?? spec.success.description,
        ...(spec.success.schema ? { content: { 'application/json': { schema: spec.success.schema } } } : {}),
      };
      continue;
    }
    responses[String(status)] = {
      description: PROBLEM_DESCRIPTIONS[status] ?? 'refused',
      content: problemContent(status),
    };
  }
  // What the edge answers before the handler: a body that is not JSON, or too large, or input that is invalid
  // (a query string on an operation that takes none included). A write that takes no body still reads one sent
  // with it (an empty JSON body is none), so it can meet both.
  const edge = [
    ...(!spec.public || spec.body || spec.query || headers.length > 0 || pathNames.length > 0 ? [400] : []),
    ...(spec.body || method !== 'get' ? [413, 415] : []),
  ];
  for (const status of edge) {
    responses[String(status)] ??= {
      description: PROBLEM_DESCRIPTIONS[status]!,
      content: problemContent(status),
    };
  }
  for (const [status, description] of Object.entries(COMMON_PROBLEMS)) {
    if (spec.public && (status === '401' || status === '403')) continue;
    responses[status] ??= { description, content: problemContent(Number(status)) };
  }
  for (const answer of spec.also ?? []) {
    const status = String(answer.status);
    responses[status] = {
      description: answer.description,
      content: { ...responses[status]?.content, 'application/json': { schema: answer.schema } },
    };
  }
  return {
    operationId,
    summary: spec.summary,
    ...(spec.description ? { description: spec.description } : {}),
    ...(tag ? { tags: [tag] } : {}),
    ...(spec.public ? { security: [] } : {}),
    requestParams: {
      ...(pathNames.length > 0 ? { path: z.object(pathShape) } : {}),
      ...(spec.query ? { query: spec.query } : {}),
      ...(headers.length > 0
        ? { header: z.object(Object.fromEntries(headers.map((name) => [name, HEADERS[name].optional()]))) }
        : {}),
    },
    ...(spec.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: spec.body } } } }
      : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of the given controllers. */
export function openApiDocument(controllers: readonly Type[]): ReturnType<typeof createDocument> {
  const paths: ZodOpenApiPathsObject = {};
  for (const controller of controllers) {
    const base = Reflect.getMetadata(PATH_METADATA, controller) as string;
    const tag = Reflect.getMetadata(TAG, controller) as string | undefined;
    for (const name of Object.getOwnPropertyNames(controller.prototype)) {
      const handler = controller.prototype[name] as unknown;
      if (name === 'constructor' || typeof handler !== 'function') continue;
      const routePath = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
      if (routePath === undefined) continue;
      const method = METHODS[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
      const spec = Reflect.getMetadata(OPERATION, handler) as OperationSpec | undefined;
      if (!method) continue;
      if (!spec)
        throw new Error(`${controller.name}.${name} has no @Operation: say what it takes and answers`);
      const path = joinPath(base, routePath);
      // e.g. contactPointsRegister: unique, stable, and an identifier in every client generator's language.
      const operationId = `${controller.name[0]!.toLowerCase()}${controller.name.slice(1).replace(/Controller$/, '')}${name[0]!.toUpperCase()}${name.slice(1)}`;
      paths[path] = { ...paths[path], [method]: operationOf(spec, method, path, tag, operationId) };
    }
  }
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'Focal',
      version: '1',
      description:
        'Contact-point directory and secure messaging of the Genocide Network. Every error is an RFC 9457 ' +
        'problem (application/problem+json).',
    },
    security: [{ bearer: [] }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    paths,
  });
}
