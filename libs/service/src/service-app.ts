import { ALL_EVENTS_SUBJECT, commandSubjectsOf, inNamespace, type ServiceName } from '@focal/contracts';
import type { ProjectionRunner } from '@focal/events';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { DynamicModule, INestMicroservice, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RpcException } from '@nestjs/microservices';
import { Registry } from 'prom-client';
import { catchError, from, throwError, type Observable } from 'rxjs';

import type { CommandHost } from './command-host.js';
import { natsConnection, natsUrlForLogs, type ServiceConfig } from './config.js';
import { natsConnected } from './health.js';
import { CommandMetrics, metricsOf, projectionLagMetrics } from './metrics.js';
import { FocalNatsServer } from './nats-server.js';
import { loadServiceProcessConfig, type OperationsListen } from './operations.config.js';
import { startOperations } from './operations.js';
import { openPersistence, type Persistence } from './persistence.js';

/** What a service module provides under these tokens: its command host and the projections it keeps. */
export const COMMAND_HOST = Symbol('CommandHost');
export const PROJECTIONS = Symbol('Projections');
export const PERSISTENCE = Symbol('Persistence');

export interface ServiceModuleFactory {
  register(persistence: Persistence, logger: LoggerService): DynamicModule;
}

export interface RunningService {
  app: INestMicroservice;
  host: CommandHost;
  persistence: Persistence;
  nats: NatsConnection;
  /** Its command counts and latencies (shared by the services of one process). */
  metrics: CommandMetrics;
  /** The projections it keeps (their lag is part of its readiness and metrics). */
  projections: readonly ProjectionRunner[];
  /** Where its /health/live, /health/ready and /metrics answer, when it has an operations listener. */
  operationsUrl?: string;
  /** Whether it is in its queue group: false while its store does not answer. */
  readonly accepting: boolean;
  /** Leaves the queue group, finishes the commands in flight, then closes NATS and the store. */
  stop(): Promise<void>;
}

/**
 * Handlers added with `addHandler` bypass Nest's exception filters, and a rejected promise would leave the
 * caller without a reply: hand Nest an observable that errors with the RpcException's body instead.
 */
async function replyTo<T>(work: Promise<T>): Promise<Observable<T>> {
  return from(work).pipe(
    catchError((error: unknown) =>
      throwError(() => (error instanceof RpcException ? error.getError() : error)),
    ),
  );
}

/**
 * Starts a service: opens the store (unless one is given, as the embedded mode and tests do), builds its
 * Nest module, subscribes every command subject of the contracts in the service's queue group, and starts
 * its projections, woken by event notifications on NATS.
 */
export async function startService(options: {
  service: ServiceName;
  module: ServiceModuleFactory;
  config: ServiceConfig;
  logger: LoggerService;
  persistence?: Persistence;
  /** Called when the store has not answered for `limits.storeGiveUpMs`: a process's main exits here. */
  onGiveUp?: (problem: string) => void;
  /** Where to serve health and metrics over HTTP; absent: nowhere (the embedded mode's gateway serves them). */
  operations?: OperationsListen;
  /** Where to count commands: one per process, given when it hosts several services. */
  metrics?: CommandMetrics;
}): Promise<RunningService> {
  const { service, config, logger } = options;
  const metrics = options.metrics ?? new CommandMetrics();
  const ownsPersistence = !options.persistence;
  const persistence =
    options.persistence ??
    (await openPersistence(config, {
      onKeyringError: (error) => logger.warn?.(`master key file: ${error.message}`),
    }));
  const server = new FocalNatsServer({
    ...natsConnection(config.natsUrl),
    queue: service,
    name: `focal-${service}`,
  });
  let app: INestMicroservice | undefined;
  let operations: Awaited<ReturnType<typeof startOperations>> | undefined;
  try {
    app = await NestFactory.createMicroservice(options.module.register(persistence, logger), {
      strategy: server,
      logger,
    });
    const host = app.get<CommandHost>(COMMAND_HOST);
    const unobserve = host.onAnswered(({ subject, outcome, seconds }) =>
      metrics.record(subject, outcome, seconds),
    );
    const namespace = config.natsNamespace;
    for (const subject of commandSubjectsOf(service)) {
      server.addHandler(inNamespace(namespace, subject), (data: unknown) =>
        replyTo(host.handle(subject as never, data)),
      );
    }
    // Liveness over NATS, answered by any instance of the queue group.
    server.addHandler(inNamespace(namespace, `focal.${service}.health`), async () => ({
      service,
      status: 'ok',
    }));
    await app.listen();
    const nats = server.unwrap<NatsConnection>();
    host.connect(nats, namespace);

    const projections = app.get<ProjectionRunner[]>(PROJECTIONS);
    // Before the projections start: a listener that cannot open (its port taken) fails the start with
    // nothing running yet but what the catch below closes.
    if (options.operations) {
      const lag = new Registry();
      projectionLagMetrics(lag, () => projections);
      operations = await startOperations(
        options.operations,
        { nats: () => natsConnected(nats), store: persistence.health, projections: () => projections },
        metricsOf(metrics.registry, lag),
        logger,
      );
    }
    await Promise.all(projections.map((projection) => projection.start()));
    const wakeups: Subscription | undefined =
      projections.length > 0
        ? nats.subscribe(inNamespace(namespace, ALL_EVENTS_SUBJECT), {
            callback: () => projections.forEach((projection) => projection.wake()),
          })
        : undefined;
    await nats.flush();
    logger.log(
      `${service} listening on ${natsUrlForLogs(config.natsUrl)} in queue group '${service}'` +
        (operations ? `; health and metrics on ${operations.url}` : ''),
    );

    let stopping: Promise<void> | undefined;
    // A store that does not answer must not hold the commands of the group: other instances take them.
    const unwatch = persistence.health.onChange((change) => {
      if (stopping) return;
      if (change.kind === 'lost') {
        server.stopAccepting();
        logger.warn?.(
          `the store does not answer (${change.problem}): left queue group '${service}' until it does`,
        );
      } else if (change.kind === 'regained') {
        server.resumeAccepting();
        logger.log(
          `the store answers again after ${(change.downMs / 1000).toFixed(1)} s: back in '${service}'`,
        );
      } else {
        logger.error(
          `the store has not answered for ${(change.downMs / 1000).toFixed(0)} s (${change.problem}): giving up`,
        );
        options.onGiveUp?.(change.problem);
      }
    });
    persistence.health.start();

    const running = app;
    return {
      app: running,
      host,
      persistence,
      nats,
      metrics,
      projections,
      ...(operations ? { operationsUrl: operations.url } : {}),
      get accepting() {
        return server.accepting;
      },
      stop: () =>
        (stopping ??= (async () => {
          unwatch();
          server.stopAccepting();
          wakeups?.unsubscribe();
          await host.idle();
          await Promise.all(projections.map((projection) => projection.stop()));
          // The client's close() drops what is still in its outbound buffer (written out on a timer): the
          // last replies with it. A flush's round trip sends them; bounded, as NATS may be away.
          await flushWithin(nats, 1_000);
          await running.close();
          unobserve();
          // Last: health and metrics answer while the work in flight drains.
          await operations?.close();
          if (ownsPersistence) await persistence.close();
          logger.log(`${service} stopped`);
        })()),
    };
  } catch (error) {
    await operations?.close().catch(() => undefined);
    await app?.close().catch(() => undefined);
    if (ownsPersistence) await persistence.close().catch(() => undefined);
    throw error;
  }
}

async function flushWithin(nats: NatsConnection, ms: number): Promise<void> {
  if (nats.isClosed()) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    nats.flush().catch(() => undefined),
    new Promise((resolve) => (timer = setTimeout(resolve, ms))),
  ]).finally(() => clearTimeout(timer));
}

/** A service's `main`: configuration from the environment, JSON logs, a graceful stop on SIGTERM or SIGINT. */
export function runService(service: ServiceName, module: ServiceModuleFactory, logger: LoggerService): void {
  void (async () => {
    const { config, operations } = loadServiceProcessConfig(service);
    const running = await startService({
      service,
      module,
      config,
      logger,
      onGiveUp: () => process.exit(1),
      ...(operations ? { operations } : {}),
    });
    stopOnSignals(() => running.stop(), config.limits.shutdownGraceMs, logger);
  })().catch((error: unknown) => {
    logger.error((error as Error).message);
    process.exit(1);
  });
}

/**
 * A signal this soon after the first is the same stop: one sent to the whole process group (by a supervisor,
 * or Ctrl-C in a terminal) reaches this process directly and again through npm, which passes it on.
 */
const SAME_STOP_MS = 1_000;

/**
 * On SIGTERM or SIGINT: `stop()` (which drains the work in flight), then exit 0. Whatever is still pending
 * after `graceMs` is abandoned with exit 1, as is everything on a second signal (one more than a second
 * after the first): a stuck store or command never keeps a process from stopping. Idempotency keys make
 * abandoned commands safe to send again.
 */
export function stopOnSignals(stop: () => Promise<void>, graceMs: number, logger: LoggerService): void {
  let stoppingSince: number | undefined;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stoppingSince !== undefined) {
        if (Date.now() - stoppingSince < SAME_STOP_MS) return;
        logger.warn?.(`${signal} again: exiting now`);
        process.exit(1);
      }
      stoppingSince = Date.now();
      logger.log(`${signal}: finishing the work in flight (at most ${graceMs} ms)`);
      setTimeout(() => {
        logger.error(
          `still stopping after ${graceMs} ms (FOCAL_SHUTDOWN_GRACE_MS): exiting with work pending`,
        );
        process.exit(1);
      }, graceMs);
      stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error(`stop failed: ${(error as Error).message}`);
          process.exit(1);
        },
      );
    });
  }
}
