import type { StoreHealth } from '@focal/service';
import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import { z } from 'zod';

import { Public } from '../auth/auth.guard.js';
import { READ_MODELS } from '../read-models/read-models.js';
import { Operation, Tag } from '../http/operation.js';
import type { ReadModels } from '../read-models/read-models.js';

export const METRICS = Symbol('Metrics');
export const NATS_STATUS = Symbol('NatsStatus');
export const STORE_HEALTH = Symbol('StoreHealth');

const readiness = z.object({
  status: z.enum(['ready', 'not ready']),
  checks: z.object({ nats: z.string(), store: z.string(), readModels: z.string() }),
});

/** Liveness, readiness and metrics, for orchestrators and Prometheus; no token needed. */
@Tag('operations')
@Public()
@Controller()
export class OperationsController {
  constructor(
    @Inject(STORE_HEALTH) private readonly storeHealth: StoreHealth,
    @Inject(READ_MODELS) private readonly readModels: ReadModels,
    @Inject(METRICS) private readonly metrics: Registry,
    @Inject(NATS_STATUS) private readonly nats: () => boolean,
  ) {}

  @Get('health/live')
  @Operation({
    summary: 'Liveness: the process answers',
    public: true,
    success: { status: 200, description: 'alive', schema: z.object({ status: z.literal('ok') }) },
  })
  live() {
    return { status: 'ok' };
  }

  /** Answers within the store's timeout (FOCAL_STORE_TIMEOUT_MS) whatever the store does: 503 when it is away. */
  @Get('health/ready')
  @Operation({
    summary: 'Readiness: NATS connected and the store answering',
    public: true,
    success: { status: 200, description: 'ready', schema: readiness },
    also: [{ status: 503, description: 'not ready: the checks say what is missing', schema: readiness }],
  })
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const checks = {
      nats: this.nats() ? 'ok' : 'disconnected',
      store: (await this.storeHealth.check()).detail,
      readModels: this.readModels.schema,
    };
    const ready = checks.nats === 'ok' && checks.store === 'ok';
    void reply.status(ready ? 200 : 503);
    return { status: ready ? 'ready' : 'not ready', checks };
  }

  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4')
  @Operation({
    summary: 'Prometheus metrics',
    public: true,
    success: { status: 200, description: 'the text exposition format', contentType: 'text/plain' },
  })
  async scrape(@Res({ passthrough: true }) reply: FastifyReply) {
    void reply.header('content-type', this.metrics.contentType);
    return this.metrics.metrics();
  }
}
