import type { StoreHealth } from '@focal/service';
import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';

import { Public, READ_MODELS } from '../http/context.js';
import type { ReadModels } from '../read-models/read-models.js';

export const METRICS = Symbol('Metrics');
export const NATS_STATUS = Symbol('NatsStatus');
export const STORE_HEALTH = Symbol('StoreHealth');

/** Liveness, readiness and metrics, for orchestrators and Prometheus; no token needed. */
@ApiExcludeController()
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
  live() {
    return { status: 'ok' };
  }

  /** Answers within the store's timeout (FOCAL_STORE_TIMEOUT_MS) whatever the store does: 503 when it is away. */
  @Get('health/ready')
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
  async scrape(@Res({ passthrough: true }) reply: FastifyReply) {
    void reply.header('content-type', this.metrics.contentType);
    return this.metrics.metrics();
  }
}
