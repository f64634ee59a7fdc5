import {
  checkUuid,
  meetingRequestDecider,
  meetingRequestStreamId,
  threadDecider,
  threadStreamId,
  type Actor,
  type MembershipFacts,
} from '@focal/domain';
import type { EventStore } from '@focal/events';
import { commandRoute, streamNamedBy, type CommandRoutes } from '@focal/service';

import type { DirectoryFactsProjection } from './directory-facts.projection.js';

export interface MessagingDeps {
  store: EventStore;
  directory: {
    catchUp(): Promise<void>;
    query: Pick<DirectoryFactsProjection, 'statusOn' | 'suspended'>;
  };
}

const meeting = (fields: { requestId: string }) =>
  streamNamedBy('requestId', fields.requestId, checkUuid, meetingRequestStreamId);
const thread = (fields: { threadId: string }) =>
  streamNamedBy('threadId', fields.threadId, checkUuid, threadStreamId);

/** Maps each messaging command to its aggregate's stream, directory facts and decider. */
export function messagingRoutes({ store, directory }: MessagingDeps): CommandRoutes<'messaging'> {
  const options = { store };

  // Facts as of every directory event stored before the command arrived.
  const membership = async ({ actor, at }: { actor: Actor; at: string }): Promise<MembershipFacts> => {
    if (!actor.state) return {};
    await directory.catchUp();
    const date = Number.isNaN(Date.parse(at)) ? at : new Date(at).toISOString().slice(0, 10);
    const { status, since } = await directory.query.statusOn(actor.state, date);
    return {
      ...(status ? { actorStateStatus: status } : {}),
      ...(since ? { actorStateStatusSince: since } : {}),
    };
  };
  const suspended = async (organisationIds: string[]) => {
    await directory.catchUp();
    return directory.query.suspended(organisationIds);
  };

  return {
    'focal.messaging.meeting-request.request': commandRoute(
      options,
      meetingRequestDecider,
      'RequestAdHocMeeting',
      meeting,
      async (fields, request) => ({
        ...(await membership(request)),
        suspendedOrganisations: await suspended(fields.invitedOrganisations),
      }),
    ),
    'focal.messaging.meeting-request.co-sponsor': commandRoute(
      options,
      meetingRequestDecider,
      'CoSponsorAdHocMeeting',
      meeting,
      (_fields, request) => membership(request),
    ),
    'focal.messaging.meeting-request.withdraw': commandRoute(
      options,
      meetingRequestDecider,
      'WithdrawAdHocMeeting',
      meeting,
    ),
    'focal.messaging.meeting-request.accept': commandRoute(
      options,
      meetingRequestDecider,
      'AcceptAdHocMeeting',
      meeting,
    ),
    'focal.messaging.meeting-request.decline': commandRoute(
      options,
      meetingRequestDecider,
      'DeclineAdHocMeeting',
      meeting,
    ),
    'focal.messaging.meeting-request.cancel': commandRoute(
      options,
      meetingRequestDecider,
      'CancelAdHocMeeting',
      meeting,
    ),
    'focal.messaging.meeting-request.conclude': commandRoute(
      options,
      meetingRequestDecider,
      'ConcludeAdHocMeeting',
      meeting,
    ),

    'focal.messaging.thread.open': commandRoute(
      options,
      threadDecider,
      'OpenThread',
      thread,
      async (fields) => ({
        suspendedOrganisations: await suspended(
          fields.participants
            .filter((ref) => ref.startsWith('organisation:'))
            .map((ref) => ref.slice('organisation:'.length)),
        ),
      }),
    ),
    'focal.messaging.thread.post-message': commandRoute(options, threadDecider, 'PostMessage', thread),
    'focal.messaging.thread.record-delivered': commandRoute(
      options,
      threadDecider,
      'RecordMessageDelivered',
      thread,
    ),
    'focal.messaging.thread.mark-read': commandRoute(options, threadDecider, 'MarkMessageRead', thread),
  };
}
