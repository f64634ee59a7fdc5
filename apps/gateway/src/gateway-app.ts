import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';

import { DirectorySnapshots } from '@focal/audit';
import { ALL_EVENTS_SUBJECT, CommandClient, inNamespace } from '@focal/contracts';
import { principalKey } from '@focal/domain';
import { CheckpointSealer, type ProjectionRunner } from '@focal/events';
import {
  metricsOf,
  natsConnected,
  natsConnection,
  startOperations,
  type Persistence,
  type ProcessLogger,
} from '@focal/service';
import type { NatsConnection } from '@nats-io/transport-node';
import { NestFactory } from '@nestjs/core';
import { ClientProxyFactory, Transport, type ClientProxy } from '@nestjs/microservices';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
// fastify comes with @nestjs/platform-fastify (the version its adapter runs); only its LogController is used.
import { LogController, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';

import { Authenticator } from './auth/authenticator.js';
import { IdentityProvider } from './auth/identity-provider.js';
import type { GatewayConfig } from './gateway.config.js';
import { GATEWAY_CONTROLLERS, GatewayModule } from './gateway.module.js';
import { installRateLimits, installSecurityHeaders } from './http/abuse.js';
import { identityOf } from './auth/auth.guard.js';
import { drainOnClose, quietSpell } from './http/drain.js';
import { edgeServerOptions, installEdge } from './http/edge.js';
import { openApiDocument } from './http/openapi.js';
import { PositionCursors } from './http/position-cursors.js';
import { ProblemFilter } from './http/problem.js';
import { answerStoreOutages } from './http/store-outage.js';
import { gatewayMetrics } from './operations/gateway-metrics.js';
import { activeSchema, ReadModels } from './read-models/read-models.js';
import { upgradeReadModels } from './read-models/rebuild.js';
import { LogTail } from './updates/log-tail.js';
import { cloudEventSource, UpdateFrames } from './updates/update-frames.js';
import { WebhookDeliverer } from './webhooks/webhook-deliverer.js';
import { WebhookStore } from './webhooks/webhook-store.js';

/** A stop listens on until no connection has come for this long, and at most this long. */
const STOP_QUIET_MS = 250;
const STOP_LISTEN_AT_MOST_MS = 1_000;

/** The route's pattern (`/v1/contact-points/:id`), never the URL: ids and queries stay out of logs and labels. */
const routeOf = (request: FastifyRequest) => request.routeOptions.url ?? 'unmatched';

/** The subject in the key store of the secret that entity ids derived from idempotency keys are keyed with. */
const ENTITY_ID_SUBJECT = 'entity-ids';

/** The OpenAPI document of the HTTP API, built from the routes without starting anything (served at /docs-json). */
export const gatewayOpenApiDocument = () => openApiDocument(GATEWAY_CONTROLLERS);

export interface RunningGateway {
  app: NestFastifyApplication;
  url: string;
  /** Where /metrics (and health again) answers, when the configuration opens an operations listener. */
  operationsUrl?: string;
  readModels: ReadModels;
  /** HTTP requests received and not yet answered (a live stream counts until it ends). */
  requestsInFlight(): number;
  stop(): Promise<void>;
}

/**
 * Starts the gateway on an opened store: read models (projected into the same database, woken by NATS
 * notifications), the command client, authentication, the HTTP API with /docs and health, and the operations
 * listener with /metrics.
 */
export async function startGateway(options: {
  config: GatewayConfig;
  persistence: Persistence;
  /** Its lines, Nest's and Fastify's (request logs) alike. */
  logger: ProcessLogger;
  /** Called when the store has not answered for `limits.storeGiveUpMs`: a process's main exits here. */
  onGiveUp?: (problem: string) => void;
  /**
   * What the other parts of this process (the embedded services) have this gateway report, as they open no
   * listener of their own: their metrics on /metrics, their projections' lag on /metrics and /health/ready.
   */
  alongside?: { metrics: Registry[]; projections: readonly ProjectionRunner[] };
}): Promise<RunningGateway> {
  // One teardown for both ends: each part started adds how to stop it; a failed start and stop() alike
  // undo what was started, last first.
  const teardown: (() => unknown)[] = [];
  const stopAll = async () => {
    const failures: unknown[] = [];
    for (const stop of teardown.splice(0).reverse()) {
      await Promise.resolve()
        .then(stop)
        .catch((error: unknown) => failures.push(error));
    }
    return failures;
  };
  try {
    const running = await assemble(options, (stop) => teardown.push(stop));
    return {
      ...running,
      async stop() {
        const [failure] = await stopAll();
        if (failure !== undefined) throw failure;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

async function assemble(
  {
    config,
    persistence,
    logger,
    onGiveUp,
    alongside = { metrics: [], projections: [] },
  }: Parameters<typeof startGateway>[0],
  onStop: (stop: () => unknown) => void,
): Promise<Omit<RunningGateway, 'stop'>> {
  onStop(
    persistence.health.onChange((change) => {
      if (change.kind === 'lost') logger.warn?.(`the store does not answer (${change.problem}): not ready`);
      else if (change.kind === 'regained') logger.log('the store answers again: ready');
      else {
        logger.error(`the store has not answered for ${(change.downMs / 1000).toFixed(0)} s: giving up`);
        onGiveUp?.(change.problem);
      }
    }),
  );
  persistence.health.start();
  await upgradeReadModels(persistence, (message) => logger.log(`read models: ${message}`));
  const readModels = await ReadModels.open(
    persistence.sql,
    persistence.store,
    persistence.keys,
    await activeSchema(persistence.sql),
    { onError: (error) => logger.warn?.(`read models: ${String(error)}`) },
  );
  onStop(() => readModels.stop());
  await readModels.start();
  // A rebuild (npm run projections:rebuild) switches the active schema once the new one has caught up.
  const watchSchema = setInterval(() => {
    activeSchema(persistence.sql)
      .then(async (schema) => {
        if (schema === readModels.schema) return;
        logger.log(`read models: switching from ${readModels.schema} to ${schema}`);
        await readModels.switchTo(schema);
      })
      .catch((error: unknown) => logger.warn?.(`read models: ${String(error)}`));
  }, 2_000);
  watchSchema.unref();
  onStop(() => clearInterval(watchSchema));
  const proxy: ClientProxy = ClientProxyFactory.create({
    transport: Transport.NATS,
    options: {
      ...natsConnection(config.natsUrl),
      name: 'focal-gateway',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    },
  });
  onStop(() => proxy.close());
  const cursors = await PositionCursors.of(persistence.keys);
  const frames = new UpdateFrames(
    persistence.keys,
    cursors,
    cloudEventSource(config.natsNamespace),
    async (threadId) => {
      const thread = await readModels.thread(threadId);
      return thread && thread.visibility === 'closed';
    },
  );
  const tail = new LogTail(persistence.store, {
    onError: (error) => logger.warn?.(`log tail: ${String(error)}`),
    prepare: (events) => frames.prepare(events),
  });
  onStop(() => tail.stop());
  await tail.start();
  const webhookPolicy = {
    allowLoopback: config.webhooksAllowLoopback,
    ...(config.webhookResolver ? { resolve: config.webhookResolver } : {}),
  };
  const webhooks = new WebhookStore(persistence.sql);
  await webhooks.setUp();
  const deliverer = new WebhookDeliverer(
    persistence.store,
    webhooks,
    frames,
    cursors,
    {
      maxAttempts: config.webhookMaxAttempts,
      baseDelayMs: config.webhookBaseDelayMs,
      maxDelayMs: 300_000,
      timeoutMs: 10_000,
      pollMs: 1_000,
      target: webhookPolicy,
    },
    (error) => logger.warn?.(`webhooks: ${String(error)}`),
  );
  onStop(() => deliverer.stop());
  deliverer.start();
  // Every gateway seals; the checkpoint stream's version decides between them (see CheckpointSealer).
  if (config.checkpoints) {
    const sealer = new CheckpointSealer(persistence.store, {
      ...config.checkpoints,
      onError: (error) => logger.warn?.(`checkpoints: ${String(error)}`),
    });
    onStop(() => sealer.stop());
    sealer.start();
  }
  const directoryAsOf = new DirectorySnapshots(persistence.store, persistence.sql, persistence.keys, {
    every: config.directorySnapshotEvery,
    onError: (error) => logger.warn?.(`directory snapshots: ${String(error)}`),
  });
  onStop(() => directoryAsOf.stop());
  await directoryAsOf.setUp();
  directoryAsOf.start();

  await proxy.connect();
  const nats = proxy.unwrap<NatsConnection>();
  const wakeups = nats.subscribe(inNamespace(config.natsNamespace, ALL_EVENTS_SUBJECT), {
    callback: () => {
      readModels.wake();
      deliverer.wake();
    },
  });
  onStop(() => wakeups.unsubscribe());

  const metrics = gatewayMetrics(readModels, alongside.projections);
  const authenticator = new Authenticator(
    config.developmentTokens ? config.jwtSecret : undefined,
    persistence.store,
    {
      ...(config.oidc ? { oidc: new IdentityProvider(config.oidc) } : {}),
      onFailure: (reason) => metrics.authenticationFailed(reason),
    },
  );
  const adapter = new FastifyAdapter({
    ...edgeServerOptions,
    // Fastify logs through the process's pino (same redaction); a request's lines carry its correlation id
    // (the request id below), and its URL never: a query string may hold a name. One line per request, at
    // its answer (onResponse below), rather than Fastify's two.
    loggerInstance: logger.pino.child(
      {},
      {
        serializers: {
          // Fastify's request, or Node's bare one (a client error) that has no route.
          req: (request: { method?: string; routeOptions?: { url?: string } }) => ({
            method: request.method,
            route: request.routeOptions?.url ?? 'unmatched',
          }),
        },
      },
    ),
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'correlationId' }),
    // On stop, streams have been ended first; requests in flight are answered, then every connection closes
    // (drainOnClose). `true` cut those requests off unanswered.
    forceCloseConnections: 'idle',
    // A request that comes on an open connection while the server closes is answered like any other (with
    // `Connection: close`), not with Fastify's own 503, which is not problem details and needs a retry.
    return503OnClosing: false,
    genReqId: (request: { headers: Record<string, string | string[] | undefined> }) => {
      const given = request.headers['x-correlation-id'];
      return typeof given === 'string' && /^[\x21-\x7e]{1,200}$/.test(given) ? given : randomUUID();
    },
  });
  const edge = installEdge(adapter.getInstance());
  const shutdown = new AbortController();
  // Every open stream listens for the shutdown: many listeners are expected here.
  setMaxListeners(0, shutdown.signal);
  // Requests in flight are answered before the connections close; each is answered within the command timeout.
  const requestsInFlight = drainOnClose(adapter.getInstance(), config.commandTimeoutMs + 1_000);
  // An answer given while stopping says the connection closes, so the client sends nothing more on it.
  adapter.getInstance().addHook('onSend', async (_request, reply, payload) => {
    if (shutdown.signal.aborted) void reply.header('connection', 'close');
    return payload;
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    GatewayModule.register({
      store: persistence.store,
      readModels,
      commands: new CommandClient(proxy, {
        timeoutMs: config.commandTimeoutMs,
        ...(config.natsNamespace ? { namespace: config.natsNamespace } : {}),
      }),
      authenticator,
      alongsideProjections: alongside.projections,
      natsConnected: () => natsConnected(nats),
      storeHealth: persistence.health,
      // A random secret of the deployment, kept like every data key: wrapped by the master key.
      idSecret: await persistence.keys.keyFor(ENTITY_ID_SUBJECT),
      cursors,
      tail,
      frames,
      webhooks,
      keys: persistence.keys,
      trustedCheckpointKeys: config.checkpoints?.trustedKeys,
      directoryAsOf,
      webhookPolicy,
      updates: {
        heartbeatMs: config.sseHeartbeatMs,
        maxBufferedBytes: config.sseMaxBufferedBytes,
        stallMs: config.sseStallMs,
        shutdown: shutdown.signal,
        onStream: (change) => metrics.stream(change),
      },
    }),
    adapter,
    // Bodies are parsed at the edge (JSON only): Nest's parsers would take forms too.
    { logger, bodyParser: false },
  );
  // Open streams end before the server closes, and the server closes before the workers stop. Between the two
  // it listens on until connections stop coming (a quarter of a second without one, a second at most).
  onStop(() => app.close());
  onStop(() => quietSpell(adapter.getInstance().server, STOP_QUIET_MS, STOP_LISTEN_AT_MOST_MS));
  onStop(() => shutdown.abort());
  app.useGlobalFilters(new ProblemFilter(edge.allowedMethods));
  const fastify = app.getHttpAdapter().getInstance();
  await installSecurityHeaders(app);
  onStop(answerStoreOutages(fastify, persistence.health));
  // Keyed by the principal the token names, or by the address a request without a valid token came from.
  await installRateLimits(app, config.abuseLimits, (request) =>
    identityOf(request, authenticator).then(
      ({ actor }) => `principal:${principalKey(actor)}`,
      () => `ip:${request.ip}`,
    ),
  );
  fastify.addHook('onSend', async (request, reply) => {
    void reply.header('x-correlation-id', request.id);
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const route = routeOf(request);
    metrics.answered(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    // Probes come every few seconds: their lines would drown the API's (their counts are above).
    const level = route.startsWith('/health/') ? 'debug' : 'info';
    request.log[level](
      {
        method: request.method,
        route,
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 1000) / 1000,
      },
      'request answered',
    );
  });

  // The document is built from the routes' own schemas; Swagger UI only shows it.
  const document = gatewayOpenApiDocument() as unknown as OpenAPIObject;
  SwaggerModule.setup('docs', app, document);

  // The metrics count every principal's commands and requests by subject and route, closed ones too: on the
  // API's port a guest would count what it may not see (SPEC §1, counts). They answer on a listener of their
  // own, loopback by default, as the services' do.
  const operations = config.operations
    ? await startOperations(
        config.operations,
        {
          nats: () => natsConnected(nats),
          store: persistence.health,
          projections: () => [...readModels.runners, ...alongside.projections],
        },
        metricsOf(metrics.registry, ...alongside.metrics),
        logger,
      )
    : undefined;
  // Before the API listens: a listener that cannot start stops the gateway before it takes any request.
  if (operations) {
    onStop(() => operations.close());
    logger.log(`health and metrics on ${operations.url}`);
  }

  await app.listen(config.port, config.host).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'EADDRINUSE' || error.code === 'EACCES'
      ? new Error(
          `the gateway cannot listen on ${config.host}:${config.port} (${error.code}): another process has ` +
            'that port, or it needs privileges; set PORT (and HOST) to a free one, 0 for any',
          { cause: error },
        )
      : error;
  });
  const url = (await app.getUrl()).replace('[::1]', 'localhost');
  logger.log(`gateway listening on ${url}`);
  return { app, url, readModels, requestsInFlight, ...(operations ? { operationsUrl: operations.url } : {}) };
}
