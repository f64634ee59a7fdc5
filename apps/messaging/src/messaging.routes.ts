import {
  checkUuid,
  meetingRequestDecider,
  meetingRequestStreamId,
  plenaryMeetingDecider,
  plenaryMeetingStreamId,
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
    query: Pick<
      DirectoryFactsProjection,
      | 'statusOn'
      | 'suspended'
      | 'guestsAmong'
      | 'unknownOrganisations'
      | 'histories'
      | 'contactPoint'
      | 'organisationSuspended'
    >;
  };
}

const meeting = (fields: { requestId: string }) =>
  streamNamedBy('requestId', fields.requestId, checkUuid, meetingRequestStreamId);
const thread = (fields: { threadId: string }) =>
  streamNamedBy('threadId', fields.threadId, checkUuid, threadStreamId);
const plenary = (fields: { meetingId: string }) =>
  streamNamedBy('meetingId', fields.meetingId, checkUuid, plenaryMeetingStreamId);

/** Maps each messaging command to its aggregate's stream, directory facts and decider. */
export function messagingRoutes({ store, directory }: MessagingDeps): CommandRoutes<'messaging'> {
  const options = { store };

  // Facts as of every directory event stored before the command arrived.
  const dayOf = (at: string) => (Number.isNaN(Date.parse(at)) ? at : new Date(at).toISOString().slice(0, 10));
  const membership = async ({ actor, at }: { actor: Actor; at: string }): Promise<MembershipFacts> => {
    if (!actor.state) return {};
    await directory.catchUp();
    const date = dayOf(at);
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
  const guests = async (codes: string[], at: string) => {
    await directory.catchUp();
    return directory.query.guestsAmong(codes, dayOf(at));
  };
  /**
   * Invited or taking part, organisations the directory has never registered: an id that can never name one
   * (a registration makes a new id). A state may be named before it is admitted: its code is known ahead.
   */
  const unknownOrganisations = async (organisationIds: string[]) => {
    await directory.catchUp();
    return directory.query.unknownOrganisations(organisationIds);
  };
  /**
   * What a plenary registration is decided on: the contact point named, the status history of every state
   * concerned (the registering one, the one named, the contact point's), and the organisation's suspension.
   */
  const delegateFacts = async (
    fields: { contactPointId?: string; organisation?: string; state?: string },
    { actor }: { actor: Actor },
  ) => {
    await directory.catchUp();
    const contactPoint = fields.contactPointId
      ? await directory.query.contactPoint(fields.contactPointId)
      : undefined;
    const organisation =
      fields.organisation ?? (actor.role === 'liaison-organisation' ? actor.organisation : undefined);
    const suspended = organisation ? await directory.query.organisationSuspended(organisation) : undefined;
    const codes = [actor.state, fields.state, contactPoint?.state].filter((code) => code !== undefined);
    return {
      stateHistories: await directory.query.histories(codes),
      ...(contactPoint ? { contactPoint } : {}),
      ...(suspended !== undefined ? { organisationSuspended: suspended } : {}),
    };
  };
  const refs = (participants: readonly string[], kind: 'state' | 'organisation') =>
    participants.filter((ref) => ref.startsWith(`${kind}:`)).map((ref) => ref.slice(kind.length + 1));

  return {
    'focal.messaging.meeting-request.request': commandRoute(
      options,
      meetingRequestDecider,
      'RequestAdHocMeeting',
      meeting,
      async (fields, request) => ({
        ...(await membership(request)),
        suspendedOrganisations: await suspended(fields.invitedOrganisations),
        guestStates: await guests(fields.invitedStates, request.at),
        unknownOrganisations: await unknownOrganisations(fields.invitedOrganisations),
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
      async (fields, request) => {
        // The opener takes part too: a guest state opening a thread is one of its states.
        const states = [
          ...refs(fields.participants, 'state'),
          ...(request.actor.state ? [request.actor.state] : []),
        ];
        return {
          suspendedOrganisations: await suspended(refs(fields.participants, 'organisation')),
          guestStates: await guests(states, request.at),
          unknownOrganisations: await unknownOrganisations(refs(fields.participants, 'organisation')),
        };
      },
    ),
    'focal.messaging.thread.post-message': commandRoute(options, threadDecider, 'PostMessage', thread),
    'focal.messaging.thread.record-delivered': commandRoute(
      options,
      threadDecider,
      'RecordMessageDelivered',
      thread,
    ),
    'focal.messaging.thread.mark-read': commandRoute(options, threadDecider, 'MarkMessageRead', thread),

    'focal.messaging.plenary-meeting.convene': commandRoute(
      options,
      plenaryMeetingDecider,
      'ConvenePlenaryMeeting',
      plenary,
    ),
    'focal.messaging.plenary-meeting.add-agenda-item': commandRoute(
      options,
      plenaryMeetingDecider,
      'AddPlenaryAgendaItem',
      plenary,
    ),
    'focal.messaging.plenary-meeting.register-delegate': commandRoute(
      options,
      plenaryMeetingDecider,
      'RegisterPlenaryDelegate',
      plenary,
      delegateFacts,
    ),
    'focal.messaging.plenary-meeting.withdraw-delegate': commandRoute(
      options,
      plenaryMeetingDecider,
      'WithdrawPlenaryDelegate',
      plenary,
    ),
    'focal.messaging.plenary-meeting.record-attendance': commandRoute(
      options,
      plenaryMeetingDecider,
      'RecordPlenaryAttendance',
      plenary,
    ),
    'focal.messaging.plenary-meeting.publish-conclusions': commandRoute(
      options,
      plenaryMeetingDecider,
      'PublishPlenaryConclusions',
      plenary,
    ),
    'focal.messaging.plenary-meeting.cancel': commandRoute(
      options,
      plenaryMeetingDecider,
      'CancelPlenaryMeeting',
      plenary,
    ),
  };
}
