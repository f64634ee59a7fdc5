import type { CommandRoutes } from '@focal/service';
import {
  checkCountry,
  checkUuid,
  contactPointDecider,
  contactPointStreamId,
  DomainError,
  invalid,
  liaisonOrganisationDecider,
  liaisonOrganisationStreamId,
  stateDecider,
  stateStreamId,
} from '@focal/domain';
import { handleCommand, type EventCodec, type EventStore, type KeyStore } from '@focal/events';

import type { PrimaryContactPointsProjection } from './primary-contact-points.projection.js';

export interface DirectoryDeps {
  store: EventStore;
  codec: EventCodec;
  keys: KeyStore;
  primaries: {
    catchUp(): Promise<void>;
    query: Pick<PrimaryContactPointsProjection, 'primaryFor'>;
  };
}

/** Ids become stream names: check them before any read. */
function idOrInvalid(field: string, problem: string | undefined) {
  if (problem) throw invalid({ [field]: problem });
}

/** Maps each directory command to its aggregate's stream, facts and decider. No business rule lives here. */
export function directoryRoutes({
  store,
  codec,
  keys,
  primaries,
}: DirectoryDeps): CommandRoutes<'directory'> {
  const options = { store, codec };

  const currentPrimary = async (holder: { state?: string; contactPointId?: string }) => {
    await primaries.catchUp();
    const id = await primaries.query.primaryFor(holder);
    return id ? { currentPrimary: id } : {};
  };

  return {
    'focal.directory.state.admit': (fields, { actor, at, context }) => {
      idOrInvalid('code', checkCountry(fields.code));
      const command = { type: 'AdmitState' as const, actor, at, ...fields };
      return handleCommand(options, stateDecider, stateStreamId(fields.code), command, context);
    },
    'focal.directory.state.change-status': (fields, { actor, at, context }) => {
      idOrInvalid('code', checkCountry(fields.code));
      const command = { type: 'ChangeStateStatus' as const, actor, at, ...fields };
      return handleCommand(options, stateDecider, stateStreamId(fields.code), command, context);
    },

    'focal.directory.contact-point.register': async (fields, { actor, at, context }) => {
      idOrInvalid('contactPointId', checkUuid(fields.contactPointId));
      const facts = fields.primary && fields.state ? await currentPrimary({ state: fields.state }) : {};
      const command = { type: 'RegisterContactPoint' as const, actor, at, ...fields, facts };
      const streamId = contactPointStreamId(fields.contactPointId);
      return handleCommand(options, contactPointDecider, streamId, command, context);
    },
    'focal.directory.contact-point.change-details': (fields, { actor, at, context }) => {
      idOrInvalid('contactPointId', checkUuid(fields.contactPointId));
      const command = { type: 'ChangeContactPointDetails' as const, actor, at, ...fields };
      const streamId = contactPointStreamId(fields.contactPointId);
      return handleCommand(options, contactPointDecider, streamId, command, context);
    },
    'focal.directory.contact-point.designate-primary': async (fields, { actor, at, context }) => {
      idOrInvalid('contactPointId', checkUuid(fields.contactPointId));
      const facts = await currentPrimary({ contactPointId: fields.contactPointId });
      const command = { type: 'DesignatePrimaryContactPoint' as const, actor, at, ...fields, facts };
      const streamId = contactPointStreamId(fields.contactPointId);
      return handleCommand(options, contactPointDecider, streamId, command, context);
    },
    'focal.directory.contact-point.retire': (fields, { actor, at, context }) => {
      idOrInvalid('contactPointId', checkUuid(fields.contactPointId));
      const command = { type: 'RetireContactPoint' as const, actor, at, ...fields };
      const streamId = contactPointStreamId(fields.contactPointId);
      return handleCommand(options, contactPointDecider, streamId, command, context);
    },
    'focal.directory.contact-point.reinstate': (fields, { actor, at, context }) => {
      idOrInvalid('contactPointId', checkUuid(fields.contactPointId));
      const command = { type: 'ReinstateContactPoint' as const, actor, at, ...fields };
      const streamId = contactPointStreamId(fields.contactPointId);
      return handleCommand(options, contactPointDecider, streamId, command, context);
    },
    'focal.directory.contact-point.confirm': (fields, { actor, at, context }) => {
      idOrInvalid('contactPointId', checkUuid(fields.contactPointId));
      const command = { type: 'ConfirmContactPoint' as const, actor, at, ...fields };
      const streamId = contactPointStreamId(fields.contactPointId);
      return handleCommand(options, contactPointDecider, streamId, command, context);
    },
    'focal.directory.contact-point.erase-personal-data': async (fields, { actor, at, context }) => {
      idOrInvalid('contactPointId', checkUuid(fields.contactPointId));
      const command = { type: 'EraseContactPointPersonalData' as const, actor, at, ...fields };
      const streamId = contactPointStreamId(fields.contactPointId);
      try {
        const result = await handleCommand(options, contactPointDecider, streamId, command, context);
        // The event first, then the key: a crash in between leaves the key to the next attempt (below).
        await keys.destroy(fields.contactPointId);
        return result;
      } catch (error) {
        // Already erased in the log: make sure the key is gone too (a crash may have kept it).
        if (
          error instanceof DomainError &&
          error.reason === 'contact-point/erased' &&
          actor.role === 'secretariat'
        ) {
          await keys.destroy(fields.contactPointId);
        }
        throw error;
      }
    },

    'focal.directory.liaison-organisation.register': (fields, { actor, at, context }) => {
      idOrInvalid('organisationId', checkUuid(fields.organisationId));
      const command = { type: 'RegisterLiaisonOrganisation' as const, actor, at, ...fields };
      const streamId = liaisonOrganisationStreamId(fields.organisationId);
      return handleCommand(options, liaisonOrganisationDecider, streamId, command, context);
    },
    'focal.directory.liaison-organisation.change-details': (fields, { actor, at, context }) => {
      idOrInvalid('organisationId', checkUuid(fields.organisationId));
      const command = { type: 'ChangeLiaisonOrganisationDetails' as const, actor, at, ...fields };
      const streamId = liaisonOrganisationStreamId(fields.organisationId);
      return handleCommand(options, liaisonOrganisationDecider, streamId, command, context);
    },
    'focal.directory.liaison-organisation.suspend': (fields, { actor, at, context }) => {
      idOrInvalid('organisationId', checkUuid(fields.organisationId));
      const command = { type: 'SuspendLiaisonOrganisation' as const, actor, at, ...fields };
      const streamId = liaisonOrganisationStreamId(fields.organisationId);
      return handleCommand(options, liaisonOrganisationDecider, streamId, command, context);
    },
    'focal.directory.liaison-organisation.reinstate': (fields, { actor, at, context }) => {
      idOrInvalid('organisationId', checkUuid(fields.organisationId));
      const command = { type: 'ReinstateLiaisonOrganisation' as const, actor, at, ...fields };
      const streamId = liaisonOrganisationStreamId(fields.organisationId);
      return handleCommand(options, liaisonOrganisationDecider, streamId, command, context);
    },
  };
}
