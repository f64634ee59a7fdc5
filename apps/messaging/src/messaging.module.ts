import { ProjectionRunner } from '@focal/events';
import { COMMAND_HOST, CommandHost, PERSISTENCE, PROJECTIONS, type Persistence } from '@focal/service';
import { Module, type DynamicModule, type LoggerService } from '@nestjs/common';

import { DirectoryFactsProjection } from './directory-facts.projection.js';
import { messagingRoutes } from './messaging.routes.js';

/** The messaging service: ad hoc meeting requests, threads and plenary meetings. */
@Module({})
export class MessagingModule {
  static register(persistence: Persistence, logger: LoggerService): DynamicModule {
    return {
      module: MessagingModule,
      providers: [
        { provide: PERSISTENCE, useValue: persistence },
        {
          provide: DirectoryFactsProjection,
          useFactory: (p: Persistence) => new DirectoryFactsProjection(p.sql),
          inject: [PERSISTENCE],
        },
        {
          provide: PROJECTIONS,
          useFactory: (p: Persistence, facts: DirectoryFactsProjection) => [
            new ProjectionRunner(p.store, p.sql, facts, {
              onError: (error) => logger.warn?.(`directory facts projection: ${String(error)}`),
            }),
          ],
          inject: [PERSISTENCE, DirectoryFactsProjection],
        },
        {
          provide: COMMAND_HOST,
          useFactory: (p: Persistence, runners: ProjectionRunner[], facts: DirectoryFactsProjection) =>
            new CommandHost(
              'messaging',
              messagingRoutes({
                store: p.store,
                directory: { catchUp: () => runners[0]!.catchUp(), query: facts },
              }),
              logger,
            ),
          inject: [PERSISTENCE, PROJECTIONS, DirectoryFactsProjection],
        },
      ],
    };
  }
}
