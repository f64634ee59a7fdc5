import type { EventStore } from '@focal/events';
import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';

import { Public, READ_MODELS, STORE } from '../http/context.js';
import type { ReadModels } from '../read-models/read-models.js';

export const METRICS = Symbol('Metrics');
export const NATS_STATUS = Symbol('NatsStatus');

/** Liveness, readiness and metrics, for orchestrators and Prometheus; no token needed. */
@ApiExcludeController()
@Public()
@Controller()
export class OperationsController {
  constructor(
    @Inject(STORE) private readonly store: EventStore,
    @Inject(READ_MODELS) private readonly readModels: ReadModels,
    @Inject(METRICS) private readonly metrics: Registry,
    @Inject(NATS_STATUS) private readonly nats: () => boolean,
  ) {}

  @Get('health/live')
  live() {
    return { status: 'ok' };
  }

  @Get('health/ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const checks = {
      nats: this.nats() ? 'ok' : 'disconnected',
      store: await this.store.readAll({ limit: 1 }).then(
        () => 'ok',
        (error: unknown) => `unreachable: ${(error as Error).message}`,
      ),
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
