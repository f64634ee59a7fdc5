import { Controller, Get, Inject, Module, Res, type DynamicModule, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';

import { readinessIndicators, type ReadinessSources } from './health.js';
import type { OperationsListen } from './operations.config.js';

const SOURCES = Symbol('ReadinessSources');
const REGISTRY = Symbol('MetricsRegistry');

/**
 * A service's operations over HTTP (it has no other HTTP): liveness, readiness by Terminus (a failed check
 * is a 503 carrying Terminus' result, as Terminus answers it), and Prometheus metrics.
 */
@Controller()
class ServiceOperationsController {
  constructor(
    // Named explicitly: the tests' transpile-only build emits no parameter types to inject by.
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService,
    @Inject(SOURCES) private readonly sources: ReadinessSources,
    @Inject(REGISTRY) private readonly registry: Registry,
  ) {}

  @Get('health/live')
  live() {
    return this.health.check([]);
  }

  @Get('health/ready')
  ready() {
    return this.health.check(readinessIndicators(this.indicators, this.sources));
  }

  @Get('metrics')
  async metrics(@Res({ passthrough: true }) reply: FastifyReply) {
    void reply.header('content-type', this.registry.contentType);
    return this.registry.metrics();
  }
}

@Module({})
class ServiceOperationsModule {
  static register(sources: ReadinessSources, registry: Registry): DynamicModule {
    return {
      module: ServiceOperationsModule,
      // Failed checks are logged where they happen (the store's and NATS's own changes), not at every probe.
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [ServiceOperationsController],
      providers: [
        { provide: SOURCES, useValue: sources },
        { provide: REGISTRY, useValue: registry },
      ],
    };
  }
}

/**
 * Opens a service's operations listener. A Nest HTTP application of its own, beside the NATS microservice:
 * Terminus is a Nest module, and keeping it apart leaves the command path untouched and lets the listener be
 * off (embedded mode, FOCAL_OPERATIONS_PORT=off). Scrapes and probes are not request-logged: they come every
 * few seconds and say nothing a metric does not.
 */
export async function startOperations(
  listen: OperationsListen,
  sources: ReadinessSources,
  registry: Registry,
  logger: LoggerService,
): Promise<{ url: string; close(): Promise<void> }> {
  const app = await NestFactory.create<NestFastifyApplication>(
    ServiceOperationsModule.register(sources, registry),
    new FastifyAdapter({ forceCloseConnections: true }),
    { logger },
  );
  try {
    await app.listen(listen.port, listen.host);
  } catch (error) {
    await app.close().catch(() => undefined);
    throw new Error(
      `the operations listener cannot listen on ${listen.host}:${listen.port} (${(error as Error).message}): ` +
        'set FOCAL_OPERATIONS_PORT to a free port, 0 for any, or off',
      { cause: error },
    );
  }
  const url = (await app.getUrl()).replace('[::1]', 'localhost');
  return { url, close: () => app.close() };
}
