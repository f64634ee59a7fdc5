import type { ProjectionRunner } from '@focal/events';
import { readinessIndicators, type StoreHealth } from '@focal/service';
import { Controller, Get, Inject, Res, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorService, type HealthCheckResult } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';

import { Public } from '../auth/auth.guard.js';
import { READ_MODELS } from '../read-models/read-models.js';
import { Operation, Tag } from '../http/operation.js';
import type { ReadModels } from '../read-models/read-models.js';

export const NATS_STATUS = Symbol('NatsStatus');
export const STORE_HEALTH = Symbol('StoreHealth');
export const ALONGSIDE_PROJECTIONS = Symbol('AlongsideProjections');

// No lag in events or milliseconds here: anyone may ask, and a lag that moves says that events were just
// recorded, closed ones too (SPEC §1, counts). Each projection's lag is on the operations listener.
const readiness = z.object({
  status: z.enum(['ready', 'not ready']),
  /** Each check in a word or a sentence, for a person reading the answer. */
  checks: z.object({ nats: z.string(), store: z.string(), readModels: z.string(), projections: z.string() }),
});

/** An indicator in a word: `ok`, or what its message says is wrong. */
function summary(result: { status: string; message?: unknown } | undefined): string {
  if (!result) return 'not checked';
  if (result.status === 'up') return 'ok';
  const message = typeof result.message === 'string' ? result.message : undefined;
  return result.status === 'degraded' ? `degraded${message ? `: ${message}` : ''}` : (message ?? 'down');
}

/**
 * Liveness and readiness, for orchestrators and load balancers; no token needed. The metrics are not here:
 * they count closed activity, and answer on the operations listener (gateway-app.ts).
 */
@Tag('operations')
@Public()
@Controller()
export class OperationsController {
  constructor(
    @Inject(STORE_HEALTH) private readonly storeHealth: StoreHealth,
    @Inject(READ_MODELS) private readonly readModels: ReadModels,
    @Inject(NATS_STATUS) private readonly nats: () => boolean,
    @Inject(ALONGSIDE_PROJECTIONS) private readonly alongside: readonly ProjectionRunner[],
    // Named explicitly: the tests' transpile-only build emits no parameter types to inject by.
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
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

  /**
   * Terminus' indicators (libs/service/src/health.ts), each bounded by the store's timeout
   * (FOCAL_STORE_TIMEOUT_MS) whatever the store does: 503 when NATS or the store is away, or the projections'
   * lag cannot be read; a projection far behind is `degraded`, still 200.
   */
  @Get('health/ready')
  @Operation({
    summary: 'Readiness: NATS connected, the store answering, the read models keeping up',
    public: true,
    success: { status: 200, description: 'ready (perhaps with a projection degraded)', schema: readiness },
    also: [{ status: 503, description: 'not ready: the checks say what is missing', schema: readiness }],
  })
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    let result: HealthCheckResult;
    try {
      result = await this.health.check(
        readinessIndicators(this.indicators, {
          nats: this.nats,
          store: this.storeHealth,
          projections: () => [...this.readModels.runners, ...this.alongside],
        }),
      );
    } catch (error) {
      // Terminus refuses a failed check with a 503 carrying its result: answered here in our shape.
      if (!(error instanceof ServiceUnavailableException)) throw error;
      result = error.getResponse() as HealthCheckResult;
    }
    const ready = result.status === 'ok' || result.status === 'degraded';
    void reply.status(ready ? 200 : 503);
    const { nats, store, projections } = result.details;
    return {
      status: ready ? 'ready' : 'not ready',
      checks: {
        nats: summary(nats),
        store: summary(store),
        readModels: this.readModels.schema,
        projections: summary(projections),
      },
    };
  }
}
