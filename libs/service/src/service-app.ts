import { ALL_EVENTS_SUBJECT, commandSubjectsOf, inNamespace, type ServiceName } from '@focal/contracts';
import type { ProjectionRunner } from '@focal/events';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { DynamicModule, INestMicroservice, LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RpcException } from '@nestjs/microservices';
import { catchError, from, throwError, type Observable } from 'rxjs';

import type { CommandHost } from './command-host.js';
import { loadServiceConfig, type ServiceConfig } from './config.js';
import { FocalNatsServer } from './nats-server.js';
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
}): Promise<RunningService> {
  const { service, config, logger } = options;
  const ownsPersistence = !options.persistence;
  const persistence = options.persistence ?? (await openPersistence(config.store));
  const server = new FocalNatsServer({ servers: [config.natsUrl], queue: service, name: `focal-${service}` });
  let app: INestMicroservice | undefined;
  try {
    app = await NestFactory.createMicroservice(options.module.register(persistence, logger), {
      strategy: server,
      logger,
    });
    const host = app.get<CommandHost>(COMMAND_HOST);
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
    await Promise.all(projections.map((projection) => projection.start()));
    const wakeups: Subscription | undefined =
      projections.length > 0
        ? nats.subscribe(inNamespace(namespace, ALL_EVENTS_SUBJECT), {
            callback: () => projections.forEach((projection) => projection.wake()),
          })
        : undefined;
    await nats.flush();
    logger.log(`${service} listening on ${config.natsUrl} in queue group '${service}'`);

    const running = app;
    let stopping: Promise<void> | undefined;
    return {
      app: running,
      host,
      persistence,
      nats,
      stop: () =>
        (stopping ??= (async () => {
          server.stopAccepting();
          wakeups?.unsubscribe();
          await host.idle();
          await Promise.all(projections.map((projection) => projection.stop()));
          await running.close();
          if (ownsPersistence) await persistence.close();
          logger.log(`${service} stopped`);
        })()),
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    if (ownsPersistence) await persistence.close().catch(() => undefined);
    throw error;
  }
}

/** A service's `main`: configuration from the environment, JSON logs, a graceful stop on SIGTERM or SIGINT. */
export function runService(service: ServiceName, module: ServiceModuleFactory, logger: LoggerService): void {
  void (async () => {
    const running = await startService({ service, module, config: loadServiceConfig(), logger });
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        logger.log(`${signal}: draining commands in flight`);
        running.stop().then(
          () => process.exit(0),
          (error: unknown) => {
            logger.error(`stop failed: ${(error as Error).message}`);
            process.exit(1);
          },
        );
      });
    }
  })().catch((error: unknown) => {
    logger.error((error as Error).message);
    process.exit(1);
  });
}
