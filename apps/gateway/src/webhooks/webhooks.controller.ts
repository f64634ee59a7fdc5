import { randomUUID } from 'node:crypto';

import { EVENT_SCHEMA_VERSIONS, principalKey, type Actor } from '@focal/domain';
import type { EventStore } from '@focal/events';
import { Controller, Delete, Get, Inject, Post } from '@nestjs/common';
import { z } from 'zod';

import { listOf } from '../http/answers.js';
import { Caller } from '../auth/auth.guard.js';
import { STORE } from '../store.js';
import { Operation, Tag, UuidParam, ValidBody, withExamples } from '../http/operation.js';
import { Problem } from '../http/problem.js';
import { PositionCursors } from '../http/position-cursors.js';
import { CLOUDEVENT_TYPE_PREFIX } from '../updates/update-frames.js';
import { newWebhookSecret } from './webhook-signature.js';
import { checkWebhookUrl, type TargetPolicy } from './webhook-target.js';
import type { WebhookRow, WebhookStore } from './webhook-store.js';

export const WEBHOOKS = Symbol('WebhookStore');
export const WEBHOOK_POLICY = Symbol('WebhookPolicy');

/** Where webhooks may point: public addresses (loopback too in development), checked as at delivery. */
export type WebhookPolicy = TargetPolicy;

const EVENT_TYPES = Object.keys(EVENT_SCHEMA_VERSIONS);
/** A type named bare or as the CloudEvent type deliveries carry, as `?types=` on live updates takes it. */
const TYPE_NAMES = [...EVENT_TYPES, ...EVENT_TYPES.map((type) => `${CLOUDEVENT_TYPE_PREFIX}${type}`)] as [
  string,
  ...string[],
];
const bareType = (type: string) =>
  type.startsWith(CLOUDEVENT_TYPE_PREFIX) ? type.slice(CLOUDEVENT_TYPE_PREFIX.length) : type;

export const createWebhookBody = withExamples(
  z.strictObject({
    url: z
      .string()
      .max(2_000, 'must be at most 2000 characters')
      .meta({ example: 'https://example.org/focal-hook' }),
    types: z
      .array(
        z.enum(
          TYPE_NAMES,
          `each type must be a Focal event type, bare or as its CloudEvent type (ThreadOpened or ` +
            `eu.focal.ThreadOpened): one of ${EVENT_TYPES.join(', ')}`,
        ),
      )
      .min(1, 'name at least one event type, or leave types out for every type')
      .max(50, 'must list at most 50')
      .optional()
      .meta({ description: 'all when omitted', example: ['ThreadOpened', 'MessagePosted'] }),
  }),
  { url: 'https://example.org/focal-hook', types: ['ThreadOpened', 'MessagePosted'] },
);

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
    deliveredUpTo: z
      .string()
      .nullable()
      .meta({
        description:
          'the id of the last event delivered to this subscription (null before the first): its position, or its ' +
          'cursor for an owner who may not see every event',
      }),
    failures: z.number().int(),
    lastError: z.string().optional(),
    previousSecretValidUntil: z.string().optional().meta({
      description: 'until when deliveries are signed with the secret before the last rotation too',
    }),
    createdAt: z.string(),
  })
  .meta({ id: 'Webhook' });

const secret = z.string().meta({
  description:
    'the Standard Webhooks signing secret (`whsec_` and the base64 of the key), shown this once: pass it to ' +
    'any Standard Webhooks library to verify deliveries',
  example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw4CrcWp8bVL4=',
});

const createdWebhookAnswer = webhookAnswer.extend({ secret }).meta({ id: 'CreatedWebhook' });

/** A week: long enough for any receiver's deployment, short enough that a leaked secret does not linger. */
const MAX_OVERLAP_SECONDS = 7 * 24 * 3600;

export const rotateSecretBody = withExamples(
  z.strictObject({
    previousSecretValidForSeconds: z
      .number()
      .int('must be a whole number of seconds')
      .min(0, 'must be 0 or more')
      .max(MAX_OVERLAP_SECONDS, `must be at most ${MAX_OVERLAP_SECONDS} (a week)`)
      .default(24 * 3600)
      .meta({
        description:
          'how long deliveries are signed with the old secret too (a second `v1,` signature), so receivers ' +
          'can move over without losing one; 0 ends the old secret at once. A day when omitted',
        example: 3600,
      }),
  }),
  { previousSecretValidForSeconds: 3600 },
);

const rotatedWebhookAnswer = webhookAnswer.extend({ secret }).meta({ id: 'RotatedWebhook' });

/** A subscription as its owner sees it; `shown`: a position as the owner is shown it (PositionCursors). */
const view = (row: WebhookRow, shown: (position: string) => string) => ({
  id: row.id,
  url: row.url,
  types: row.types ?? 'all',
  status: row.status,
  ...(row.paused_reason ? { pausedReason: row.paused_reason } : {}),
  ...(row.held_reason ? { heldReason: row.held_reason } : {}),
  // Not where its reading of the log stands: that moves past events the owner may not see.
  deliveredUpTo: row.delivered_up_to && shown(row.delivered_up_to),
  failures: row.failures,
  ...(row.last_error ? { lastError: row.last_error } : {}),
  ...(row.previous_secret_until && row.previous_secret_until.getTime() > Date.now()
    ? { previousSecretValidUntil: row.previous_secret_until.toISOString() }
    : {}),
  createdAt: row.created_at,
});

@Tag('webhooks')
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(
    @Inject(WEBHOOKS) private readonly webhooks: WebhookStore,
    @Inject(STORE) private readonly store: EventStore,
    @Inject(WEBHOOK_POLICY) private readonly policy: WebhookPolicy,
    @Inject(PositionCursors) private readonly cursors: PositionCursors,
  ) {}

  private view(row: WebhookRow, caller: Actor) {
    return view(row, (position) => this.cursors.shown(position, caller));
  }

  @Post()
  @Operation({
    summary: 'Subscribe a URL to the events you may see, from now on; the signing secret is shown once',
    description:
      'Each delivery is a POST of one CloudEvent 1.0 in structured mode (`application/cloudevents+json`: ' +
      'id = the position, or its cursor for an owner who may not see every event; source, type ' +
      '`eu.focal.<Type>`, subject = stream, time, data), signed as Standard ' +
      'Webhooks sign (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` over ' +
      '`id.timestamp.body` with the `whsec_` secret), with `Focal-Subscription-Id`. Verify with any Standard ' +
      'Webhooks library; read with any CloudEvents SDK.',
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
      types: body.types ? [...new Set(body.types.map(bareType))] : null,
      secret: newWebhookSecret(),
      cursor: (await this.store.headPosition()) ?? null,
    });
    return { ...this.view(row, caller), secret: row.secret };
  }

  @Get()
  @Operation({
    summary: 'Your webhook subscriptions',
    success: { status: 200, description: 'every subscription of yours', schema: listOf(webhookAnswer) },
  })
  async list(@Caller() caller: Actor) {
    return { items: (await this.webhooks.list(principalKey(caller))).map((row) => this.view(row, caller)) };
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
    return this.view(row, caller);
  }

  @Post(':id/resume')
  @Operation({
    summary: 'Deliver again, from where it stopped, to a subscription paused after failures',
    success: { status: 200, description: 'the subscription, active again', schema: webhookAnswer },
    problems: [400, 404, 422],
  })
  async resume(@Caller() caller: Actor, @UuidParam('id') id: string) {
    const row = await this.webhooks.resume(principalKey(caller), id);
    if (row) return this.view(row, caller);
    if (!(await this.webhooks.find(principalKey(caller), id))) {
      throw new Problem(404, 'not-found', 'Not found', `no webhook ${id} of yours`);
    }
    throw new Problem(
      422,
      'webhook/not-paused',
      'Webhook not paused',
      `webhook ${id} is active: it delivers by itself, retrying failures with backoff; resume is for a subscription paused after failures`,
    );
  }

  @Post(':id/rotate-secret')
  @Operation({
    summary:
      'Replace the signing secret; the old one keeps signing too (two signatures) for the overlap asked for',
    body: rotateSecretBody,
    success: {
      status: 200,
      description: 'the subscription and its new secret, shown this once',
      schema: rotatedWebhookAnswer,
    },
    problems: [400, 404, 415],
  })
  async rotateSecret(
    @Caller() caller: Actor,
    @UuidParam('id') id: string,
    @ValidBody(rotateSecretBody) body: z.infer<typeof rotateSecretBody>,
  ) {
    const row = await this.webhooks.rotateSecret(
      principalKey(caller),
      id,
      newWebhookSecret(),
      body.previousSecretValidForSeconds,
    );
    if (!row) throw new Problem(404, 'not-found', 'Not found', `no webhook ${id} of yours`);
    return { ...this.view(row, caller), secret: row.secret };
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
