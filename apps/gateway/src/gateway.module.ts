import { AuditTrail, type DirectorySnapshots } from '@focal/audit';
import type { CommandClient } from '@focal/contracts';
import type { EventStore, KeyStore, ProjectionRunner } from '@focal/events';
import type { StoreHealth } from '@focal/service';
import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';

import { AuditController, TRUSTED_CHECKPOINT_KEYS } from './audit/audit.controller.js';
import type { Authenticator } from './auth/authenticator.js';
import {
  ContactPointsController,
  LiaisonOrganisationsController,
  StatesController,
} from './directory/directory.routes.js';
import { MeetingRequestsController } from './meeting-requests/meeting-requests.routes.js';
import {
  ALONGSIDE_PROJECTIONS,
  NATS_STATUS,
  OperationsController,
  STORE_HEALTH,
} from './operations/operations.controller.js';
import { AUTHENTICATOR, AuthGuard } from './auth/auth.guard.js';
import { CommandGateway, COMMANDS, ID_SECRET } from './http/command-gateway.js';
import { PositionCursors } from './http/position-cursors.js';
import { UndeclaredQueryInterceptor } from './http/operation.js';
import { READ_MODELS } from './read-models/read-models.js';
import { STORE } from './store.js';
import type { ReadModels } from './read-models/read-models.js';
import { PlenaryMeetingsController } from './plenary-meetings/plenary-meetings.routes.js';
import { ThreadsController } from './threads/threads.routes.js';
import type { LogTail } from './updates/log-tail.js';
import type { WebhookStore } from './webhooks/webhook-store.js';
import {
  WEBHOOK_POLICY,
  WEBHOOKS,
  WebhooksController,
  type WebhookPolicy,
} from './webhooks/webhooks.controller.js';
import type { UpdateFrames } from './updates/update-frames.js';
import {
  LOG_TAIL,
  UPDATE_FRAMES,
  UPDATES_OPTIONS,
  UpdatesController,
  type UpdatesOptions,
} from './updates/updates.controller.js';

export interface GatewayDeps {
  store: EventStore;
  readModels: ReadModels;
  commands: CommandClient;
  authenticator: Authenticator;
  /** Projections of the services hosted in this process (embedded mode), for readiness. */
  alongsideProjections: readonly ProjectionRunner[];
  natsConnected: () => boolean;
  storeHealth: StoreHealth;
  /** Keys the ids derived from idempotency keys. */
  idSecret: Uint8Array;
  /** The log's positions as each caller is shown them. */
  cursors: PositionCursors;
  tail: LogTail;
  frames: UpdateFrames;
  updates: UpdatesOptions;
  webhooks: WebhookStore;
  webhookPolicy: WebhookPolicy;
  keys: KeyStore;
  /** Public keys a checkpoint may be signed with (undefined: any valid signature). */
  trustedCheckpointKeys: string[] | undefined;
  directoryAsOf: DirectorySnapshots;
}

/** The routes of the API, in the order the document lists them. */
export const GATEWAY_CONTROLLERS = [
  OperationsController,
  StatesController,
  ContactPointsController,
  LiaisonOrganisationsController,
  MeetingRequestsController,
  ThreadsController,
  PlenaryMeetingsController,
  UpdatesController,
  WebhooksController,
  AuditController,
] as const;

/** The HTTP API: its adapters come in by injection, so the tests and the embedded mode choose them. */
@Module({})
export class GatewayModule {
  static register(deps: GatewayDeps): DynamicModule {
    return {
      module: GatewayModule,
      // Failed checks are logged where they happen (the store's and NATS's changes), not at every probe.
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [...GATEWAY_CONTROLLERS],
      providers: [
        { provide: STORE, useValue: deps.store },
        { provide: READ_MODELS, useValue: deps.readModels },
        { provide: COMMANDS, useValue: deps.commands },
        { provide: AUTHENTICATOR, useValue: deps.authenticator },
        { provide: ALONGSIDE_PROJECTIONS, useValue: deps.alongsideProjections },
        { provide: NATS_STATUS, useValue: deps.natsConnected },
        { provide: STORE_HEALTH, useValue: deps.storeHealth },
        { provide: ID_SECRET, useValue: deps.idSecret },
        { provide: PositionCursors, useValue: deps.cursors },
        { provide: LOG_TAIL, useValue: deps.tail },
        { provide: UPDATE_FRAMES, useValue: deps.frames },
        { provide: UPDATES_OPTIONS, useValue: deps.updates },
        { provide: WEBHOOKS, useValue: deps.webhooks },
        { provide: AuditTrail, useValue: new AuditTrail(deps.store, deps.keys, deps.directoryAsOf) },
        { provide: TRUSTED_CHECKPOINT_KEYS, useValue: deps.trustedCheckpointKeys },
        { provide: WEBHOOK_POLICY, useValue: deps.webhookPolicy },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_INTERCEPTOR, useClass: UndeclaredQueryInterceptor },
        CommandGateway,
      ],
    };
  }
}
