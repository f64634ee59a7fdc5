import type { Actor } from '@focal/domain';
import { Get, Req, Res, type Type } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';

import { Caller, type GatewayRequest } from '../auth/auth.guard.js';
import type { ReadModels } from '../read-models/read-models.js';
import type { CommandGateway } from './command-gateway.js';
import type { FeatureController } from './command-routes.js';
import { Operation, UuidParam, type OperationSpec } from './operation.js';
import type { Problem } from './problem.js';

/*
 * Reading one entity by its id is the same steps on every feature: wait for the caller's own writes
 * (Focal-Read-After), load it, 404 when it does not exist or the caller may not see it, its version as the
 * ETag, its view. Those routes are rows of a table here, as the writes are in command-routes.ts; a read that
 * does more than that (a thread's, which records delivery receipts) stays a handler.
 */

/** What a row's functions may use: the request, the caller, the read models. */
export interface ReadContext {
  request: GatewayRequest;
  reply: FastifyReply;
  caller: Actor;
  readModels: ReadModels;
}

export interface ReadRoute<Row extends { version: number }> {
  /** Its path under the controller's, with the entity's id as `:id` (checked to be a UUID). */
  path: string;
  summary: string;
  success: { description: string; schema: z.ZodType };
  /** The entity, or undefined when it does not exist or the caller may not see it: both are a 404. */
  load: (id: string, context: ReadContext) => Promise<Row | null | undefined>;
  notFound: (id: string) => Problem;
  view: (row: Row, context: ReadContext) => unknown;
  /** The version the ETag shows: the row's unless said; undefined shows none. */
  etag?: (row: Row, context: ReadContext) => number | undefined;
}

/** One row of a table, its types checked against its own row. */
export type AnyReadRoute = ReadRoute<{ version: number }>;

export const read = <Row extends { version: number }>(route: ReadRoute<Row>): AnyReadRoute =>
  route as unknown as AnyReadRoute;

/**
 * Adds the table's reads to a controller as GET handlers named by their keys (the operationIds say
 * `<controller><Key>`), with the decorators a handler written by hand would carry. The document lists a
 * controller's handlers in their order: the reads go after the controller's own handlers on the collection
 * (its list or search) and before those on the entity's parts, as a feature reads.
 */
export function readRoutes(controller: Type<FeatureController>, routes: Record<string, AnyReadRoute>): void {
  const prototype = controller.prototype as Record<string, unknown>;
  const own = Object.getOwnPropertyNames(prototype)
    .filter((name) => name !== 'constructor')
    .map((name) => [name, Object.getOwnPropertyDescriptor(prototype, name)!] as const);
  const onCollection = (descriptor: PropertyDescriptor) => {
    const path = Reflect.getMetadata(PATH_METADATA, descriptor.value as object) as string | undefined;
    return path !== undefined && !path.includes(':');
  };
  // Property order is definition order: take the controller's own handlers out and put them back around.
  for (const [name] of own) Reflect.deleteProperty(prototype, name);
  for (const [name, descriptor] of own.filter(([, d]) => onCollection(d)))
    Object.defineProperty(prototype, name, descriptor);
  for (const [name, route] of Object.entries(routes)) addRead(controller, name, route);
  for (const [name, descriptor] of own.filter(([, d]) => !onCollection(d)))
    Object.defineProperty(prototype, name, descriptor);
}

function addRead(controller: Type, name: string, route: AnyReadRoute): void {
  const prototype = controller.prototype as object;
  async function handler(
    this: { readonly commands: CommandGateway; readonly readModels: ReadModels },
    request: GatewayRequest,
    reply: FastifyReply,
    caller: Actor,
    id: string,
  ): Promise<unknown> {
    await this.commands.consistentRead(request);
    const context: ReadContext = { request, reply, caller, readModels: this.readModels };
    const row = await route.load(id, context);
    if (!row) throw route.notFound(id);
    const version = route.etag ? route.etag(row, context) : row.version;
    if (version !== undefined) void reply.header('etag', `"${version}"`);
    return route.view(row, context);
  }
  Object.defineProperty(handler, 'name', { value: name });
  const spec: OperationSpec = {
    summary: route.summary,
    headers: ['Focal-Read-After'],
    success: { status: 200, ...route.success },
    problems: [400, 404],
  };
  // The parameters as a handler would declare them: request, reply, caller, the entity's id.
  Req()(prototype, name, 0);
  Res({ passthrough: true })(prototype, name, 1);
  Caller()(prototype, name, 2);
  UuidParam('id')(prototype, name, 3);
  const descriptor = Reflect.decorate([Get(route.path), Operation(spec)], prototype, name, {
    value: handler,
    writable: true,
    enumerable: false,
    configurable: true,
  }) as PropertyDescriptor;
  Object.defineProperty(prototype, name, descriptor);
}
