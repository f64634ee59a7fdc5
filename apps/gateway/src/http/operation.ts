import {
  applyDecorators,
  Body,
  HttpCode,
  Inject,
  Injectable,
  Param,
  ParseUUIDPipe,
  Query,
  SetMetadata,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
  type PipeTransform,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Observable } from 'rxjs';
import { z } from 'zod';

import { Problem } from './problem.js';

/**
 * What an operation of the API takes and answers, declared once beside its handler: the zod schemas that
 * validate its input at the edge are the ones the OpenAPI document shows (http/openapi.ts), so the two cannot
 * drift. The domain still decides what the values may be; these check shapes and types.
 */
export interface OperationSpec {
  summary: string;
  description?: string;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The request headers it reads, besides Authorization. */
  headers?: readonly RequestHeader[];
  /** Its answer when all goes well. */
  success: { status: number; description: string; schema?: z.ZodType; contentType?: string };
  /** The problems it can answer, beyond those every operation can (401, 403 for the caller, 429, 500, 503). */
  problems?: readonly number[];
  /** Answered without a token (operations: health). */
  public?: boolean;
  /** Other answers with a JSON body of their own, e.g. readiness's 503 with its checks. */
  also?: readonly { status: number; description: string; schema: z.ZodType }[];
}

export type RequestHeader = 'Idempotency-Key' | 'If-Match' | 'Focal-Read-After' | 'Last-Event-ID';

export const OPERATION = Symbol('focal:operation');
export const TAG = Symbol('focal:tag');

/** Groups a controller's operations under one heading of the document. */
export const Tag = (name: string): ClassDecorator => SetMetadata(TAG, name);

/** Declares an operation: its answer's status, and what the OpenAPI document says of it. */
export function Operation(spec: OperationSpec): MethodDecorator {
  return applyDecorators(SetMetadata(OPERATION, spec), HttpCode(spec.success.status));
}

/** The schema with examples of what it takes: typed by it here, and each parsed by it in openapi.spec.ts. */
export function withExamples<T extends z.ZodType>(schema: T, ...examples: [z.input<T>, ...z.input<T>[]]): T {
  return schema.meta({ examples });
}

/** A write's usual problems: bad input, what the domain refuses, a stale If-Match, a reused key. */
export const WRITE_PROBLEMS = [400, 403, 404, 409, 412, 415, 422] as const;

/** Zod's issues as one message per field path (`personal.email`, `languages.0`): the 400 of SPEC §4. */
export function invalidInput(error: z.ZodError, where: 'body' | 'query', given?: unknown): Problem {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    // Zod says "expected string, received undefined" of a field that is not there: say what to do instead.
    const message =
      issue.code === 'invalid_type' && issue.path.length > 0 && valueAt(given, issue.path) === undefined
        ? `is required: ${issue.expected === 'string' ? 'add it' : `add it (${issue.expected})`}, see /docs`
        : issue.message;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        fields[[...issue.path, key].join('.')] =
          `is not a field of this ${where === 'body' ? 'request' : 'query'}: remove it (see /docs)`;
      }
      continue;
    }
    // A field is named without array indices: `types`, and its message says "each type must …".
    const path =
      issue.path
        .filter((segment) => typeof segment !== 'number')
        .map(String)
        .join('.') || where;
    if (fields[path]?.split('; ').includes(message)) continue;
    fields[path] = fields[path] ? `${fields[path]}; ${message}` : message;
  }
  const detail = Object.entries(fields)
    .map(([field, message]) => `${field}: ${message}`)
    .join('; ');
  return new Problem(400, 'invalid-input', 'Invalid input', detail, fields);
}

const valueAt = (value: unknown, path: readonly PropertyKey[]): unknown =>
  path.reduce<unknown>(
    (at, key) =>
      typeof at === 'object' && at !== null ? (at as Record<PropertyKey, unknown>)[key] : undefined,
    value,
  );

class ZodPipe implements PipeTransform {
  constructor(
    private readonly schema: z.ZodType,
    private readonly where: 'body' | 'query',
  ) {}

  transform(value: unknown): unknown {
    // No body at all is an empty one: the schema names the fields it requires.
    const given = this.where === 'body' && (value === undefined || value === null) ? {} : value;
    if (this.where === 'body' && (typeof given !== 'object' || Array.isArray(given))) {
      // A body that is JSON but not an object (an array, a string, a number) has no fields to name.
      throw new Problem(
        400,
        'invalid-input',
        'Invalid input',
        'body: send a JSON object with the fields named at /docs',
        {
          body: 'must be a JSON object',
        },
      );
    }
    const parsed = this.schema.safeParse(given);
    if (!parsed.success) throw invalidInput(parsed.error, this.where, given);
    return parsed.data;
  }
}

/** The request body, validated by `schema`: unknown fields refused, defaults applied. */
export const ValidBody = (schema: z.ZodType) => Body(new ZodPipe(schema, 'body'));

/** The query string, validated (and its numbers coerced) by `schema`. */
export const ValidQuery = (schema: z.ZodObject) => Query(new ZodPipe(schema, 'query'));

/** UUIDs are case-insensitive on input (RFC 9562 §4); Focal names everything by the lower-case form. */
const lowerCase: PipeTransform<string, string> = { transform: (value) => value.toLowerCase() };

/**
 * A path id that must be a UUID: anything else is a 400 naming the parameter. Written in upper case it names
 * the same thing as in lower case, for reads and writes alike.
 */
export const UuidParam = (name: string) =>
  Param(
    name,
    new ParseUUIDPipe({
      exceptionFactory: () =>
        new Problem(400, 'invalid-id', 'Invalid id', `${name} must be a UUID`, { [name]: 'must be a UUID' }),
    }),
    lowerCase,
  );

/**
 * Refuses a query string on an operation that declares none, as `ValidQuery` refuses the fields its schema does
 * not name: `?limit=1` on a list that has no limit would otherwise be ignored, and the caller believe it
 * applied. Health, open to probes, is left alone.
 */
@Injectable()
export class UndeclaredQueryInterceptor implements NestInterceptor {
  constructor(@Inject(Reflector) private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const spec = this.reflector.get<OperationSpec | undefined>(OPERATION, context.getHandler());
    if (spec && !spec.query && !spec.public && context.getType() === 'http') {
      const query = context.switchToHttp().getRequest<{ query?: unknown }>().query;
      const parsed = z
        .object({})
        .strict()
        .safeParse(query ?? {});
      if (!parsed.success) throw invalidInput(parsed.error, 'query', query);
    }
    return next.handle();
  }
}
