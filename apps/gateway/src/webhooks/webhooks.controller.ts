import { randomBytes, randomUUID } from 'node:crypto';

import { EVENT_SCHEMA_VERSIONS, principalKey, type Actor } from '@focal/domain';
import type { EventStore } from '@focal/events';
import { Controller, Delete, Get, Inject, Post } from '@nestjs/common';
import { z } from 'zod';

import { listOf } from '../http/answers.js';
import { Caller, STORE } from '../http/context.js';
import { Operation, Tag, UuidParam, ValidBody } from '../http/operation.js';
import { Problem } from '../http/problem.js';
import { checkWebhookUrl, type TargetPolicy } from './webhook-target.js';
import type { WebhookRow, WebhookStore } from './webhook-store.js';

export const WEBHOOKS = Symbol('WebhookStore');
export const WEBHOOK_POLICY = Symbol('WebhookPolicy');

/** Where webhooks may point: public addresses (loopback too in development), checked as at delivery. */
export type WebhookPolicy = TargetPolicy;

const EVENT_TYPES = Object.keys(EVENT_SCHEMA_VERSIONS) as [string, ...string[]];

export const createWebhookBody = z.strictObject({
  url: z
    .string()
    .max(2_000, 'must be at most 2000 characters')
    .meta({ example: 'https://example.org/focal-hook' }),
  types: z
    .array(z.enum(EVENT_TYPES, 'each type must be a Focal event type, e.g. ThreadOpened'))
    .max(50, 'must list at most 50')
    .optional()
    .meta({ description: 'all when omitted', example: ['ThreadOpened', 'MessagePosted'] }),
});

export const webhookAnswer = z
  .object({
    id: z.uuid(),
    url: z.string(),
    types: z.union([z.array(z.string()), z.literal('all')]),
    status: z.enum(['active', 'paused']),
    pausedReason: z.string().optional(),
    heldReason: z
      .string()
      .optional()
      .meta({ description: 'why deliveries wait: the owner is not in good standing' }),
    deliveredUpTo: z.string().nullable().meta({ description: 'the position of the last event delivered' }),
    failures: z.number().int(),
    lastError: z.string().optional(),
    createdAt: z.string(),
  })
  .meta({ id: 'Webhook' });

const createdWebhookAnswer = webhookAnswer
  .extend({ secret: z.string().meta({ description: 'the signing secret, shown this once' }) })
  .meta({ id: 'CreatedWebhook' });

const view = (row: WebhookRow) => ({
  id: row.id,
  url: row.url,
  types: row.types ?? 'all',
  status: row.status,
  ...(row.paused_reason ? { pausedReason: row.paused_reason } : {}),
  ...(row.held_reason ? { heldReason: row.held_reason } : {}),
  deliveredUpTo: row.cursor,
  failures: row.failures,
  ...(row.last_error ? { lastError: row.last_error } : {}),
  createdAt: row.created_at,
});

@Tag('webhooks')
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(
    @Inject(WEBHOOKS) private readonly webhooks: WebhookStore,
    @Inject(STORE) private readonly store: EventStore,
    @Inject(WEBHOOK_POLICY) private readonly policy: WebhookPolicy,
  ) {}

  @Post()
  @Operation({
    summary: 'Subscribe a URL to the events you may see, from now on; the signing secret is shown once',
    body: createWebhookBody,
    success: { status: 201, description: 'subscribed', schema: createdWebhookAnswer },
    problems: [400, 415, 422],
  })
  async create(
    @Caller() caller: Actor,
    @ValidBody(createWebhookBody) body: z.infer<typeof createWebhookBody>,
  ) {
    const url = await checkWebhookUrl(body.url, this.policy);
    const row = await this.webhooks.create({
      id: randomUUID(),
      owner: principalKey(caller),
      actor: caller,
      url: url.toString(),
      types: body.types ?? null,
      secret: randomBytes(32).toString('hex'),
      cursor: (await this.store.headPosition()) ?? null,
    });
    return { ...view(row), secret: row.secret };
  }

  @Get()
  @Operation({
    summary: 'Your webhook subscriptions',
    success: { status: 200, description: 'every subscription of yours', schema: listOf(webhookAnswer) },
  })
  async list(@Caller() caller: Actor) {
    return { items: (await this.webhooks.list(principalKey(caller))).map(view) };
  }

  @Get(':id')
  @Operation({
    summary: 'One of your webhook subscriptions',
    success: { status: 200, description: 'the subscription', schema: webhookAnswer },
    problems: [400, 404],
  })
  async read(@Caller() caller: Actor, @UuidParam('id') id: string) {
    const row = await this.webhooks.find(principalKey(caller), id);
    if (!row) throw new Problem(404, 'not-found', 'Not found', `no webhook ${id} of yours`);
    return view(row);
  }

  @Post(':id/resume')
  @Operation({
    summary: 'Deliver again, from where it stopped, to a subscription paused after failures',
    success: { status: 200, description: 'the subscription, active again', schema: webhookAnswer },
    problems: [400, 404],
  })
  async resume(@Caller() caller: Actor, @UuidParam('id') id: string) {
    const row = await this.webhooks.resume(principalKey(caller), id);
    if (!row) throw new Problem(404, 'not-found', 'Not found', `no webhook ${id} of yours`);
    return view(row);
  }

  @Delete(':id')
  @Operation({
    summary: 'Unsubscribe',
    success: { status: 204, description: 'unsubscribed; nothing more is delivered' },
    problems: [400, 404],
  })
  async remove(@Caller() caller: Actor, @UuidParam('id') id: string): Promise<void> {
    if (!(await this.webhooks.remove(principalKey(caller), id))) {
      throw new Problem(404, 'not-found', 'Not found', `no webhook ${id} of yours`);
    }
  }
}
