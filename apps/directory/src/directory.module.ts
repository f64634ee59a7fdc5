import { CONTACT_POINT_PERSONAL_FIELDS } from '@focal/contracts';
import { PersonalDataCodec, ProjectionRunner } from '@focal/events';
import { COMMAND_HOST, CommandHost, PERSISTENCE, PROJECTIONS, type Persistence } from '@focal/service';
import { Module, type DynamicModule, type LoggerService } from '@nestjs/common';

import { directoryRoutes } from './directory.routes.js';
import { PrimaryContactPointsProjection } from './primary-contact-points.projection.js';

/** The directory service: states, contact points and liaison organisations. */
@Module({})
export class DirectoryModule {
  static register(persistence: Persistence, logger: LoggerService): DynamicModule {
    return {
      module: DirectoryModule,
      providers: [
        { provide: PERSISTENCE, useValue: persistence },
        {
          provide: PrimaryContactPointsProjection,
          useFactory: (p: Persistence) => new PrimaryContactPointsProjection(p.sql),
          inject: [PERSISTENCE],
        },
        {
          provide: PROJECTIONS,
          useFactory: (p: Persistence, primaries: PrimaryContactPointsProjection) => [
            new ProjectionRunner(p.store, p.sql, primaries, {
              onError: (error) => logger.warn?.(`primary contact points projection: ${String(error)}`),
            }),
          ],
          inject: [PERSISTENCE, PrimaryContactPointsProjection],
        },
        {
          provide: COMMAND_HOST,
          useFactory: (
            p: Persistence,
            runners: ProjectionRunner[],
            primaries: PrimaryContactPointsProjection,
          ) =>
            new CommandHost(
              'directory',
              directoryRoutes({
                store: p.store,
                keys: p.keys,
                codec: new PersonalDataCodec(p.keys, CONTACT_POINT_PERSONAL_FIELDS),
                primaries: { catchUp: () => runners[0]!.catchUp(), query: primaries },
              }),
              logger,
            ),
          inject: [PERSISTENCE, PROJECTIONS, PrimaryContactPointsProjection],
        },
      ],
    };
  }
}
