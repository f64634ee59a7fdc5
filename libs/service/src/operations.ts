import {
  Catch,
  Controller,
  Get,
  HttpException,
  Inject,
  Module,
  Res,
  type ArgumentsHost,
  type DynamicModule,
  type ExceptionFilter,
  type LoggerService,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
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

const ENDPOINTS = 'this listener answers GET /health/live, /health/ready and /metrics';

/** RFC 9457 problem details, as the gateway answers every error. */
function sendProblem(reply: FastifyReply, status: number, reason: string, title: string, detail: string) {
  void reply
    .status(status)
    .header('content-type', 'application/problem+json')
    .send({ type: `urn:focal:problem:${reason}`, title, status, detail, reason });
}

/** Every error of the listener as problem details, never the framework's own body. */
@Catch()
class OperationsProblems implements ExceptionFilter {
  catch(error: unknown, host: ArgumentsHost) {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const status = error instanceof HttpException ? error.getStatus() : 500;
    // Terminus answers a failed check as a 503 carrying its result: that is the readiness answer itself.
    if (error instanceof HttpException && status === 503) {
      void reply.status(503).send(error.getResponse());
    } else if (status === 404) {
      sendProblem(reply, 404, 'not-found', 'Not found', `${request.method} ${request.url}: ${ENDPOINTS}`);
    } else if (status < 500) {
      sendProblem(reply, status, 'invalid-request', 'Invalid request', `${ENDPOINTS}, without a body`);
    } else {
      sendProblem(reply, 500, 'internal-error', 'Internal error', 'the listener failed: see its log');
    }
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
    new FastifyAdapter({
      forceCloseConnections: true,
      // A URL or body Fastify cannot read fails before Nest's filters: answered the same way.
      frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) =>
        sendProblem(reply, 400, 'invalid-request', 'Invalid request', `${error.message}: ${ENDPOINTS}`),
    }),
    { logger },
  );
  app.useGlobalFilters(new OperationsProblems());
  try {
    await app.listen(listen.port, listen.host);
  } catch (error) {
    await app.close().catch(() => undefined);
    if (listen.orAnyFreePort && (error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      logger.warn?.(`port ${listen.port} is taken: health and metrics take any free port instead`);
      return startOperations({ host: listen.host, port: 0 }, sources, registry, logger);
    }
    throw new Error(
      `the operations listener cannot listen on ${listen.host}:${listen.port} (${(error as Error).message}): ` +
        'set FOCAL_OPERATIONS_PORT to a free port, 0 for any, or off',
      { cause: error },
    );
  }
  const url = (await app.getUrl()).replace('[::1]', 'localhost');
  return { url, close: () => app.close() };
}
