import type { CommandFields, CommandSubject } from '@focal/contracts';
import type { Actor } from '@focal/domain';
import { Delete, Inject, Patch, Post, Req, Res, type Type } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';

import type { GatewayRequest } from '../auth/auth.guard.js';
import { writeAnswer } from './answers.js';
import { READ_MODELS, type ReadModels } from '../read-models/read-models.js';
import { CommandGateway, type WriteResult } from './command-gateway.js';
import { Operation, UuidParam, ValidBody, WRITE_PROBLEMS, type OperationSpec } from './operation.js';
import { Problem } from './problem.js';

/*
 * Most writes of the API are one command each: the path's ids and the body, validated, become the command's
 * fields, and the command gateway does the rest. Those routes are rows of a table here rather than handlers
 * written again and again; a route that decides more than that (a precondition, a read) stays a handler.
 */

/** A feature's routes: writes through the command gateway, reads from the read models. */
export abstract class FeatureController {
  constructor(
    @Inject(CommandGateway) readonly commands: CommandGateway,
    @Inject(READ_MODELS) protected readonly readModels: ReadModels,
  ) {}
}

/** The `:name` parameters of a route's path, e.g. `':id/delegates/:delegateId'` → `'id' | 'delegateId'`. */
type PathIds<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? Name | PathIds<Rest>
  : P extends `${string}:${infer Name}`
    ? Name
    : never;

export interface CommandInput<P extends string, B> {
  /** The path's ids, each checked to be a UUID. */
  ids: Record<PathIds<P>, string>;
  body: B;
  /** The id of a new entity (from the Idempotency-Key when given): the same on every call for one request. */
  newId: () => string;
}

export interface CommandRoute<S extends CommandSubject, P extends string, B extends z.ZodType | undefined> {
  method?: 'post' | 'patch' | 'delete';
  path: P;
  summary: string;
  description?: string;
  body?: B;
  /** Its answer when all goes well; `writeAnswer` unless said. */
  success: { status: 200 | 201; description: string; schema?: z.ZodType };
  subject: S;
  /** The command, and the stream it writes (the id the answer names). */
  send: (input: CommandInput<P, B extends z.ZodType ? z.infer<B> : undefined>) => {
    stream: string;
    command: CommandFields<S>;
  };
  /** The answer as the caller may see it, when that is not the write's result itself. */
  answer?: (result: WriteResult, request: GatewayRequest, reply: FastifyReply) => unknown;
  /**
   * Whether the stream's version is kept from this caller (a plenary meeting's counts the closed session's
   * events too): its answer then has no `version` and no ETag, and `If-Match` is refused (400) before anything
   * is sent, since guessing versions by their 412s would count what the caller may not see.
   */
  versionHiddenFrom?: (caller: Actor) => boolean;
}

/** One row of a table, its types checked against its own subject, path and body. */
export interface AnyCommandRoute {
  method?: 'post' | 'patch' | 'delete';
  path: string;
  summary: string;
  description?: string;
  body?: z.ZodType;
  success: { status: 200 | 201; description: string; schema?: z.ZodType };
  subject: CommandSubject;
  send: (input: CommandInput<string, unknown>) => { stream: string; command: unknown };
  answer?: (result: WriteResult, request: GatewayRequest, reply: FastifyReply) => unknown;
  versionHiddenFrom?: (caller: Actor) => boolean;
}

export const command = <
  S extends CommandSubject,
  P extends string,
  B extends z.ZodType | undefined = undefined,
>(
  route: CommandRoute<S, P, B>,
): AnyCommandRoute => route as unknown as AnyCommandRoute;

const METHODS = { post: Post, patch: Patch, delete: Delete } as const;

/**
 * Adds the table's routes to a controller as handlers named by their keys (the operationIds say
 * `<controller><Key>`), with the decorators a handler written by hand would carry, so that Nest routes and
 * validates them and the OpenAPI document shows them alike. The document lists a controller's handlers in
 * their order: routes on the collection itself (a create, no id in the path) go before the controller's own
 * handlers, the others after them, as a feature reads: create, read, act.
 */
export function commandRoutes(
  controller: Type<FeatureController>,
  routes: Record<string, AnyCommandRoute>,
): void {
  const prototype = controller.prototype as Record<string, unknown>;
  const own = Object.getOwnPropertyNames(prototype)
    .filter((name) => name !== 'constructor')
    .map((name) => [name, Object.getOwnPropertyDescriptor(prototype, name)!] as const);
  const onCollection = Object.entries(routes).filter(([, route]) => !route.path.includes(':'));
  const onEntity = Object.entries(routes).filter(([, route]) => route.path.includes(':'));
  // Property order is definition order: take the controller's own handlers out and put them back between.
  for (const [name] of own) Reflect.deleteProperty(prototype, name);
  for (const [name, route] of onCollection) addRoute(controller, name, route);
  for (const [name, descriptor] of own) Object.defineProperty(prototype, name, descriptor);
  for (const [name, route] of onEntity) addRoute(controller, name, route);
}

function addRoute(controller: Type, name: string, route: AnyCommandRoute): void {
  const prototype = controller.prototype as object;
  const ids = [...route.path.matchAll(/:(\w+)/g)].map((match) => match[1]!);
  async function handler(
    this: { readonly commands: CommandGateway },
    request: GatewayRequest,
    reply: FastifyReply,
    ...values: unknown[]
  ): Promise<unknown> {
    const versionHidden = route.versionHiddenFrom?.(request.actor!) ?? false;
    if (versionHidden && request.headers['if-match'] !== undefined) {
      throw new Problem(
        400,
        'invalid-if-match',
        'Invalid If-Match',
        'this resource’s versions count what you may not see, so they are not shown to you and If-Match cannot ' +
          'be answered: send the request without it (an Idempotency-Key makes a retry safe)',
      );
    }
    let fresh: string | undefined;
    const { stream, command } = route.send({
      ids: Object.fromEntries(ids.map((id, index) => [id, values[index] as string])),
      body: route.body ? values[ids.length] : undefined,
      newId: () => (fresh ??= this.commands.newId(request)),
    });
    const result = await this.commands.send(
      request,
      reply,
      route.subject,
      stream,
      command as CommandFields<CommandSubject>,
      route.success.status,
    );
    if (versionHidden) {
      void reply.removeHeader('etag');
      const { version: _hidden, ...seen } = result;
      return route.answer ? route.answer(seen as WriteResult, request, reply) : seen;
    }
    return route.answer ? route.answer(result, request, reply) : result;
  }
  Object.defineProperty(handler, 'name', { value: name });
  const spec: OperationSpec = {
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(route.body ? { body: route.body } : {}),
    headers: ['Idempotency-Key', 'If-Match'],
    success: { schema: writeAnswer, ...route.success },
    problems: WRITE_PROBLEMS,
  };
  // The parameters as a handler would declare them: request, reply, the path's ids, the body.
  Req()(prototype, name, 0);
  Res({ passthrough: true })(prototype, name, 1);
  ids.forEach((id, index) => UuidParam(id)(prototype, name, 2 + index));
  if (route.body) ValidBody(route.body)(prototype, name, 2 + ids.length);
  const descriptor = Reflect.decorate(
    [METHODS[route.method ?? 'post'](route.path), Operation(spec)],
    prototype,
    name,
    { value: handler, writable: true, enumerable: false, configurable: true },
  ) as PropertyDescriptor;
  Object.defineProperty(prototype, name, descriptor);
}
