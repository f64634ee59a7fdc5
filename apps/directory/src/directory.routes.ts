import {
  checkCountry,
  checkUuid,
  contactPointDecider,
  contactPointStreamId,
  DomainError,
  liaisonOrganisationDecider,
  liaisonOrganisationStreamId,
  stateDecider,
  stateStreamId,
} from '@focal/domain';
import type { EventCodec, EventStore, KeyStore } from '@focal/events';
import { commandRoute, streamNamedBy, type CommandRoutes } from '@focal/service';

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

const state = (fields: { code: string }) => streamNamedBy('code', fields.code, checkCountry, stateStreamId);
const contactPoint = (fields: { contactPointId: string }) =>
  streamNamedBy('contactPointId', fields.contactPointId, checkUuid, contactPointStreamId);
const organisation = (fields: { organisationId: string }) =>
  streamNamedBy('organisationId', fields.organisationId, checkUuid, liaisonOrganisationStreamId);

/** Maps each directory command to its aggregate's stream, facts and decider. No business rule lives here. */
export function directoryRoutes({
  store,
  codec,
  keys,
  primaries,
}: DirectoryDeps): CommandRoutes<'directory'> {
  const options = { store, codec };

  // The state's primary as of every contact-point event stored before the command arrived.
  const currentPrimary = async (holder: { state?: string; contactPointId?: string }) => {
    await primaries.catchUp();
    const id = await primaries.query.primaryFor(holder);
    return id ? { currentPrimary: id } : {};
  };

  const eraseContactPointPersonalData: CommandRoutes<'directory'>['focal.directory.contact-point.erase-personal-data'] =
    commandRoute(options, contactPointDecider, 'EraseContactPointPersonalData', contactPoint);

  return {
    'focal.directory.state.admit': commandRoute(options, stateDecider, 'AdmitState', state),
    'focal.directory.state.change-status': commandRoute(options, stateDecider, 'ChangeStateStatus', state),
    'focal.directory.state.put': commandRoute(options, stateDecider, 'PutState', state),

    'focal.directory.contact-point.register': commandRoute(
      options,
      contactPointDecider,
      'RegisterContactPoint',
      contactPoint,
      async (fields) => (fields.primary && fields.state ? currentPrimary({ state: fields.state }) : {}),
    ),
    'focal.directory.contact-point.change-details': commandRoute(
      options,
      contactPointDecider,
      'ChangeContactPointDetails',
      contactPoint,
    ),
    'focal.directory.contact-point.designate-primary': commandRoute(
      options,
      contactPointDecider,
      'DesignatePrimaryContactPoint',
      contactPoint,
      (fields) => currentPrimary({ contactPointId: fields.contactPointId }),
    ),
    'focal.directory.contact-point.retire': commandRoute(
      options,
      contactPointDecider,
      'RetireContactPoint',
      contactPoint,
    ),
    'focal.directory.contact-point.reinstate': commandRoute(
      options,
      contactPointDecider,
      'ReinstateContactPoint',
      contactPoint,
    ),
    'focal.directory.contact-point.confirm': commandRoute(
      options,
      contactPointDecider,
      'ConfirmContactPoint',
      contactPoint,
    ),
    'focal.directory.contact-point.erase-personal-data': async (fields, request) => {
      try {
        const result = await eraseContactPointPersonalData(fields, request);
        // The event first, then the key: a crash in between leaves the key to the next attempt (below).
        await keys.destroy(fields.contactPointId);
        return result;
      } catch (error) {
        // Already erased in the log: make sure the key is gone too (a crash may have kept it).
        if (
          error instanceof DomainError &&
          error.reason === 'contact-point/erased' &&
          request.actor.role === 'secretariat'
        ) {
          await keys.destroy(fields.contactPointId);
        }
        throw error;
      }
    },

    'focal.directory.liaison-organisation.register': commandRoute(
      options,
      liaisonOrganisationDecider,
      'RegisterLiaisonOrganisation',
      organisation,
    ),
    'focal.directory.liaison-organisation.change-details': commandRoute(
      options,
      liaisonOrganisationDecider,
      'ChangeLiaisonOrganisationDetails',
      organisation,
    ),
    'focal.directory.liaison-organisation.suspend': commandRoute(
      options,
      liaisonOrganisationDecider,
      'SuspendLiaisonOrganisation',
      organisation,
    ),
    'focal.directory.liaison-organisation.reinstate': commandRoute(
      options,
      liaisonOrganisationDecider,
      'ReinstateLiaisonOrganisation',
      organisation,
    ),
  };
}
