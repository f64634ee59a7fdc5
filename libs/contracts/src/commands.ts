import { z } from 'zod';

import {
  STATE_STATUSES,
  type ContactPointCommand,
  type LiaisonOrganisationCommand,
  type MeetingRequestCommand,
  type PlenaryMeetingCommand,
  type StateCommand,
  type ThreadCommand,
} from '@focal/domain';

import {
  attachment,
  countryCode,
  meetingRequestFields as meeting,
  messageFields,
  organisationFields,
  personalFields,
  plenaryFields as plenary,
  postFields,
  reason,
  stateFields,
  text,
  threadFields,
  uuid,
} from './fields.js';

/*
 * Every command on NATS: its subject, the service that answers it, and the schema of its fields, made of the
 * same field schemas as the HTTP edge (fields.ts). The domain checks values (ISO codes, e-mail, dates in the
 * future); these schemas check shapes, so that a decider never sees a number where it expects a list, and
 * unknown fields are refused rather than dropped.
 */

const personal = z.strictObject({
  fullName: personalFields.fullName,
  email: personalFields.email,
  phone: personalFields.phone.optional(),
  notes: personalFields.notes.optional(),
});
const post = { role: postFields.role, authority: postFields.authority, languages: postFields.languages };
const registerPost = { ...post, expertise: postFields.expertise.default([]) };
const organisationDetails = organisationFields;

/** Fields a caller sends; the service adds the actor, the time and the facts from other aggregates. */
type Fields<C> = C extends unknown ? Omit<C, 'actor' | 'at' | 'facts' | 'type'> : never;

function command<C extends { type: string }, T extends C['type']>(
  service: 'directory' | 'messaging',
  type: T,
  schema: z.ZodType<Fields<Extract<C, { type: T }>>>,
) {
  return { service, type, schema };
}

export const COMMANDS = {
  'focal.directory.state.admit': command<StateCommand, 'AdmitState'>(
    'directory',
    'AdmitState',
    z.strictObject({
      code: text(10),
      name: stateFields.name,
      status: z.enum(['member', 'observer', 'guest']),
      effectiveFrom: text(30),
    }),
  ),
  'focal.directory.state.change-status': command<StateCommand, 'ChangeStateStatus'>(
    'directory',
    'ChangeStateStatus',
    z.strictObject({ code: text(10), to: z.enum(STATE_STATUSES), effectiveFrom: text(30) }),
  ),
  'focal.directory.state.put': command<StateCommand, 'PutState'>(
    'directory',
    'PutState',
    z.strictObject({
      code: text(10),
      name: stateFields.name.optional(),
      status: z.enum(STATE_STATUSES),
      effectiveFrom: text(30),
    }),
  ),
  'focal.directory.contact-point.register': command<ContactPointCommand, 'RegisterContactPoint'>(
    'directory',
    'RegisterContactPoint',
    // One object rather than a union, so that an error names the field; the domain refuses both or neither.
    z.strictObject({
      contactPointId: uuid,
      state: text(10).optional(),
      organisation: uuid.optional(),
      personal,
      primary: z.boolean(),
      ...registerPost,
    }) as z.ZodType<Fields<Extract<ContactPointCommand, { type: 'RegisterContactPoint' }>>>,
  ),
  'focal.directory.contact-point.change-details': command<ContactPointCommand, 'ChangeContactPointDetails'>(
    'directory',
    'ChangeContactPointDetails',
    z.strictObject({
      contactPointId: uuid,
      changes: z.strictObject({ ...post, expertise: postFields.expertise }).partial(),
      personalChanges: personal.partial(),
    }),
  ),
  'focal.directory.contact-point.designate-primary': command<
    ContactPointCommand,
    'DesignatePrimaryContactPoint'
  >('directory', 'DesignatePrimaryContactPoint', z.strictObject({ contactPointId: uuid })),
  'focal.directory.contact-point.retire': command<ContactPointCommand, 'RetireContactPoint'>(
    'directory',
    'RetireContactPoint',
    z.strictObject({ contactPointId: uuid, reason }),
  ),
  'focal.directory.contact-point.reinstate': command<ContactPointCommand, 'ReinstateContactPoint'>(
    'directory',
    'ReinstateContactPoint',
    z.strictObject({ contactPointId: uuid }),
  ),
  'focal.directory.contact-point.confirm': command<ContactPointCommand, 'ConfirmContactPoint'>(
    'directory',
    'ConfirmContactPoint',
    z.strictObject({ contactPointId: uuid }),
  ),
  'focal.directory.contact-point.erase-personal-data': command<
    ContactPointCommand,
    'EraseContactPointPersonalData'
  >('directory', 'EraseContactPointPersonalData', z.strictObject({ contactPointId: uuid })),
  'focal.directory.liaison-organisation.register': command<
    LiaisonOrganisationCommand,
    'RegisterLiaisonOrganisation'
  >(
    'directory',
    'RegisterLiaisonOrganisation',
    z.strictObject({ organisationId: uuid, ...organisationDetails }),
  ),
  'focal.directory.liaison-organisation.change-details': command<
    LiaisonOrganisationCommand,
    'ChangeLiaisonOrganisationDetails'
  >(
    'directory',
    'ChangeLiaisonOrganisationDetails',
    z.strictObject({ organisationId: uuid, changes: z.strictObject(organisationDetails).partial() }),
  ),
  'focal.directory.liaison-organisation.suspend': command<
    LiaisonOrganisationCommand,
    'SuspendLiaisonOrganisation'
  >('directory', 'SuspendLiaisonOrganisation', z.strictObject({ organisationId: uuid, reason })),
  'focal.directory.liaison-organisation.reinstate': command<
    LiaisonOrganisationCommand,
    'ReinstateLiaisonOrganisation'
  >('directory', 'ReinstateLiaisonOrganisation', z.strictObject({ organisationId: uuid })),

  'focal.messaging.meeting-request.request': command<MeetingRequestCommand, 'RequestAdHocMeeting'>(
    'messaging',
    'RequestAdHocMeeting',
    z.strictObject({
      requestId: uuid,
      subjectKind: meeting.subjectKind,
      title: meeting.title,
      summary: meeting.summary,
      confidentiality: meeting.confidentiality,
      proposedDates: meeting.proposedDates,
      invitedStates: meeting.invitedStates,
      invitedOrganisations: meeting.invitedOrganisations,
    }),
  ),
  'focal.messaging.meeting-request.co-sponsor': command<MeetingRequestCommand, 'CoSponsorAdHocMeeting'>(
    'messaging',
    'CoSponsorAdHocMeeting',
    z.strictObject({ requestId: uuid }),
  ),
  'focal.messaging.meeting-request.withdraw': command<MeetingRequestCommand, 'WithdrawAdHocMeeting'>(
    'messaging',
    'WithdrawAdHocMeeting',
    z.strictObject({ requestId: uuid }),
  ),
  'focal.messaging.meeting-request.accept': command<MeetingRequestCommand, 'AcceptAdHocMeeting'>(
    'messaging',
    'AcceptAdHocMeeting',
    z.strictObject({ requestId: uuid, scheduledFor: meeting.scheduledFor, venue: meeting.venue }),
  ),
  'focal.messaging.meeting-request.decline': command<MeetingRequestCommand, 'DeclineAdHocMeeting'>(
    'messaging',
    'DeclineAdHocMeeting',
    z.strictObject({ requestId: uuid, reason }),
  ),
  'focal.messaging.meeting-request.cancel': command<MeetingRequestCommand, 'CancelAdHocMeeting'>(
    'messaging',
    'CancelAdHocMeeting',
    z.strictObject({ requestId: uuid, reason }),
  ),
  'focal.messaging.meeting-request.conclude': command<MeetingRequestCommand, 'ConcludeAdHocMeeting'>(
    'messaging',
    'ConcludeAdHocMeeting',
    z.strictObject({ requestId: uuid, conclusions: meeting.conclusions }),
  ),
  'focal.messaging.thread.open': command<ThreadCommand, 'OpenThread'>(
    'messaging',
    'OpenThread',
    z.strictObject({
      threadId: uuid,
      subject: threadFields.subject,
      visibility: threadFields.visibility,
      participants: threadFields.participants,
      replyBy: threadFields.replyBy.optional(),
    }),
  ),
  'focal.messaging.thread.post-message': command<ThreadCommand, 'PostMessage'>(
    'messaging',
    'PostMessage',
    z.strictObject({
      threadId: uuid,
      messageId: uuid,
      body: messageFields.body,
      handlingCode: messageFields.handlingCode,
      handlingNote: messageFields.handlingNote.optional(),
      attachments: z.array(attachment),
    }),
  ),
  'focal.messaging.thread.record-delivered': command<ThreadCommand, 'RecordMessageDelivered'>(
    'messaging',
    'RecordMessageDelivered',
    z.strictObject({ threadId: uuid, messageId: uuid }),
  ),
  'focal.messaging.thread.mark-read': command<ThreadCommand, 'MarkMessageRead'>(
    'messaging',
    'MarkMessageRead',
    z.strictObject({ threadId: uuid, messageId: uuid }),
  ),

  'focal.messaging.plenary-meeting.convene': command<PlenaryMeetingCommand, 'ConvenePlenaryMeeting'>(
    'messaging',
    'ConvenePlenaryMeeting',
    z.strictObject({
      meetingId: uuid,
      number: plenary.number,
      title: plenary.title,
      theme: plenary.theme,
      startsOn: plenary.startsOn,
      endsOn: plenary.endsOn,
      venue: plenary.venue,
      presidency: plenary.presidency,
    }),
  ),
  'focal.messaging.plenary-meeting.add-agenda-item': command<PlenaryMeetingCommand, 'AddPlenaryAgendaItem'>(
    'messaging',
    'AddPlenaryAgendaItem',
    z.strictObject({
      meetingId: uuid,
      itemId: uuid,
      session: plenary.session,
      title: plenary.agendaTitle,
      summary: plenary.summary.optional(),
    }),
  ),
  'focal.messaging.plenary-meeting.register-delegate': command<
    PlenaryMeetingCommand,
    'RegisterPlenaryDelegate'
  >(
    'messaging',
    'RegisterPlenaryDelegate',
    z.strictObject({
      meetingId: uuid,
      delegateId: uuid,
      session: plenary.session,
      // A liaison organisation's or guest state's delegate's; a state's delegate's is its contact point's.
      name: plenary.name.optional(),
      contactPointId: uuid.optional(),
      organisation: uuid.optional(),
      state: countryCode.optional(),
    }),
  ),
  'focal.messaging.plenary-meeting.withdraw-delegate': command<
    PlenaryMeetingCommand,
    'WithdrawPlenaryDelegate'
  >('messaging', 'WithdrawPlenaryDelegate', z.strictObject({ meetingId: uuid, delegateId: uuid })),
  'focal.messaging.plenary-meeting.record-attendance': command<
    PlenaryMeetingCommand,
    'RecordPlenaryAttendance'
  >('messaging', 'RecordPlenaryAttendance', z.strictObject({ meetingId: uuid, delegateId: uuid })),
  'focal.messaging.plenary-meeting.publish-conclusions': command<
    PlenaryMeetingCommand,
    'PublishPlenaryConclusions'
  >(
    'messaging',
    'PublishPlenaryConclusions',
    z.strictObject({ meetingId: uuid, text: plenary.text, topics: plenary.topics }),
  ),
  'focal.messaging.plenary-meeting.cancel': command<PlenaryMeetingCommand, 'CancelPlenaryMeeting'>(
    'messaging',
    'CancelPlenaryMeeting',
    z.strictObject({ meetingId: uuid, reason }),
  ),
} as const;

export type CommandSubject = keyof typeof COMMANDS;
export type CommandFields<S extends CommandSubject> = z.infer<(typeof COMMANDS)[S]['schema']>;
export type ServiceName = (typeof COMMANDS)[CommandSubject]['service'];

export const commandSubjectsOf = (service: ServiceName): CommandSubject[] =>
  (Object.keys(COMMANDS) as CommandSubject[]).filter((subject) => COMMANDS[subject].service === service);
