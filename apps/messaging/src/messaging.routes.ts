import {
  checkUuid,
  invalid,
  meetingRequestDecider,
  meetingRequestStreamId,
  threadDecider,
  threadStreamId,
  type Actor,
  type MembershipFacts,
} from '@focal/domain';
import { handleCommand, type EventStore } from '@focal/events';
import type { CommandRoutes } from '@focal/service';

import type { DirectoryFactsProjection } from './directory-facts.projection.js';

export interface MessagingDeps {
  store: EventStore;
  directory: {
    catchUp(): Promise<void>;
    query: Pick<DirectoryFactsProjection, 'statusOn' | 'suspended'>;
  };
}

function idOrInvalid(field: string, problem: string | undefined) {
  if (problem) throw invalid({ [field]: problem });
}

/** Maps each messaging command to its aggregate's stream, directory facts and decider. */
export function messagingRoutes({ store, directory }: MessagingDeps): CommandRoutes<'messaging'> {
  const options = { store };

  // The facts as of the newest directory event stored before the command arrived.
  const membership = async (actor: Actor, at: string): Promise<MembershipFacts> => {
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

  const meeting = (requestId: string) => {
    idOrInvalid('requestId', checkUuid(requestId));
    return meetingRequestStreamId(requestId);
  };
  const thread = (threadId: string) => {
    idOrInvalid('threadId', checkUuid(threadId));
    return threadStreamId(threadId);
  };

  return {
    'focal.messaging.meeting-request.request': async (fields, { actor, at, context }) => {
      const streamId = meeting(fields.requestId);
      const facts = {
        ...(await membership(actor, at)),
        suspendedOrganisations: await suspended(fields.invitedOrganisations),
      };
      const command = { type: 'RequestAdHocMeeting' as const, actor, at, ...fields, facts };
      return handleCommand(options, meetingRequestDecider, streamId, command, context);
    },
    'focal.messaging.meeting-request.co-sponsor': async (fields, { actor, at, context }) => {
      const streamId = meeting(fields.requestId);
      const facts = await membership(actor, at);
      const command = { type: 'CoSponsorAdHocMeeting' as const, actor, at, ...fields, facts };
      return handleCommand(options, meetingRequestDecider, streamId, command, context);
    },
    'focal.messaging.meeting-request.withdraw': (fields, { actor, at, context }) => {
      const command = { type: 'WithdrawAdHocMeeting' as const, actor, at, ...fields };
      return handleCommand(options, meetingRequestDecider, meeting(fields.requestId), command, context);
    },
    'focal.messaging.meeting-request.accept': (fields, { actor, at, context }) => {
      const command = { type: 'AcceptAdHocMeeting' as const, actor, at, ...fields };
      return handleCommand(options, meetingRequestDecider, meeting(fields.requestId), command, context);
    },
    'focal.messaging.meeting-request.decline': (fields, { actor, at, context }) => {
      const command = { type: 'DeclineAdHocMeeting' as const, actor, at, ...fields };
      return handleCommand(options, meetingRequestDecider, meeting(fields.requestId), command, context);
    },
    'focal.messaging.meeting-request.cancel': (fields, { actor, at, context }) => {
      const command = { type: 'CancelAdHocMeeting' as const, actor, at, ...fields };
      return handleCommand(options, meetingRequestDecider, meeting(fields.requestId), command, context);
    },
    'focal.messaging.meeting-request.conclude': (fields, { actor, at, context }) => {
      const command = { type: 'ConcludeAdHocMeeting' as const, actor, at, ...fields };
      return handleCommand(options, meetingRequestDecider, meeting(fields.requestId), command, context);
    },

    'focal.messaging.thread.open': async (fields, { actor, at, context }) => {
      const streamId = thread(fields.threadId);
      const organisations = fields.participants
        .filter((ref) => ref.startsWith('organisation:'))
        .map((ref) => ref.slice('organisation:'.length));
      const facts = { suspendedOrganisations: await suspended(organisations) };
      const command = { type: 'OpenThread' as const, actor, at, ...fields, facts };
      return handleCommand(options, threadDecider, streamId, command, context);
    },
    'focal.messaging.thread.post-message': (fields, { actor, at, context }) => {
      const command = { type: 'PostMessage' as const, actor, at, ...fields };
      return handleCommand(options, threadDecider, thread(fields.threadId), command, context);
    },
    'focal.messaging.thread.record-delivered': (fields, { actor, at, context }) => {
      const command = { type: 'RecordMessageDelivered' as const, actor, at, ...fields };
      return handleCommand(options, threadDecider, thread(fields.threadId), command, context);
    },
    'focal.messaging.thread.mark-read': (fields, { actor, at, context }) => {
      const command = { type: 'MarkMessageRead' as const, actor, at, ...fields };
      return handleCommand(options, threadDecider, thread(fields.threadId), command, context);
    },
  };
}
