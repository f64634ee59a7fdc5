import { randomBytes, randomUUID } from 'node:crypto';

import { EVENT_SCHEMA_VERSIONS, principalKey, type Actor } from '@focal/domain';
import type { EventStore } from '@focal/events';
import { Controller, Delete, Get, HttpCode, Inject, Post, Res } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiBody,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiTags,
} from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import type { FastifyReply } from 'fastify';

import { Caller, STORE } from '../http/context.js';
import { UuidParam, ValidBody } from '../http/params.js';
import { Problem } from '../http/problem.js';
import { checkWebhookUrl, type TargetPolicy } from './webhook-target.js';
import type { WebhookRow, WebhookStore } from './webhook-store.js';

export const WEBHOOKS = Symbol('WebhookStore');
export const WEBHOOK_POLICY = Symbol('WebhookPolicy');

/** Where webhooks may point: public addresses (loopback too in development), checked as at delivery. */
export type WebhookPolicy = TargetPolicy;

const EVENT_TYPES = Object.keys(EVENT_SCHEMA_VERSIONS);

export class CreateWebhookDto {
  @ApiProperty({ type: String, example: 'https://example.org/focal-hook' })
  @IsString()
  @MaxLength(2_000)
  url!: string;

  @ApiPropertyOptional({
    type: [String],
    example: ['ThreadOpened', 'MessagePosted'],
    description: 'all when omitted',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(50)
  @IsIn(EVENT_TYPES, { each: true, message: 'each type must be a Focal event type, e.g. ThreadOpened' })
  types?: string[];
}

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

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(
    @Inject(WEBHOOKS) private readonly webhooks: WebhookStore,
    @Inject(STORE) private readonly store: EventStore,
    @Inject(WEBHOOK_POLICY) private readonly policy: WebhookPolicy,
  ) {}

  @Post()
  @ApiBody({ type: CreateWebhookDto })
  @ApiOperation({
    summary: 'Subscribe a URL to the events you may see, from now on; the signing secret is shown once',
  })
  async create(
    @Res({ passthrough: true }) reply: FastifyReply,
    @Caller() caller: Actor,
    @ValidBody(CreateWebhookDto) body: CreateWebhookDto,
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
    void reply.status(201);
    return { ...view(row), secret: row.secret };
  }

  @Get()
  async list(@Caller() caller: Actor) {
    return { items: (await this.webhooks.list(principalKey(caller))).map(view) };
  }

  @Get(':id')
  async read(@Caller() caller: Actor, @UuidParam('id') id: string) {
    const row = await this.webhooks.find(principalKey(caller), id);
    if (!row) throw new Problem(404, 'not-found', 'Not found', `no webhook ${id} of yours`);
    return view(row);
  }

  @Post(':id/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Deliver again, from where it stopped, to a subscription paused after failures' })
  async resume(@Caller() caller: Actor, @UuidParam('id') id: string) {
    const row = await this.webhooks.resume(principalKey(caller), id);
    if (!row) throw new Problem(404, 'not-found', 'Not found', `no webhook ${id} of yours`);
    return view(row);
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@Caller() caller: Actor, @UuidParam('id') id: string): Promise<void> {
    if (!(await this.webhooks.remove(principalKey(caller), id))) {
      throw new Problem(404, 'not-found', 'Not found', `no webhook ${id} of yours`);
    }
  }
}
