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
  'Last-Event-ID': z.string().meta({ description: 'resume after this position; 0 from the start' }),
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
  412: 'If-Match names a version that is no longer current',
  413: 'the body is too large',
  415: 'the body is not JSON',
  422: 'the domain refuses it: `reason` says which rule',
};

const METHODS: Partial<Record<RequestMethod, 'get' | 'post' | 'put' | 'patch' | 'delete'>> = {
  [RequestMethod.GET]: 'get',
  [RequestMethod.POST]: 'post',
  [RequestMethod.PUT]: 'put',
  [RequestMethod.PATCH]: 'patch',
  [RequestMethod.DELETE]: 'delete',
};

const problemContent = { 'application/problem+json': { schema: problemAnswer } };

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
      content: problemContent,
    };
  }
  // What the edge answers before the handler: a body that is not JSON, or too large, or input that is invalid.
  const edge = [
    ...(spec.body || spec.query || headers.length > 0 || pathNames.length > 0 ? [400] : []),
    ...(spec.body ? [413, 415] : []),
  ];
  for (const status of edge) {
    responses[String(status)] ??= { description: PROBLEM_DESCRIPTIONS[status]!, content: problemContent };
  }
  for (const [status, description] of Object.entries(COMMON_PROBLEMS)) {
    if (spec.public && (status === '401' || status === '403')) continue;
    responses[status] ??= { description, content: problemContent };
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
      paths[path] = { ...paths[path], [method]: operationOf(spec, path, tag, operationId) };
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
