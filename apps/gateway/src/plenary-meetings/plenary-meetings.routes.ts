import { closed, maySee, participationReport, type Actor } from '@focal/domain';
import { Controller, Get, Req } from '@nestjs/common';
import type { z } from 'zod';

import { Caller, type GatewayRequest } from '../auth/auth.guard.js';
import { listOf, writeAnswer } from '../http/answers.js';
import { command, commandRoutes, FeatureController } from '../http/command-routes.js';
import { Operation, Tag, UuidParam, ValidQuery } from '../http/operation.js';
import { read, readRoutes } from '../http/read-routes.js';
import { Problem } from '../http/problem.js';
import {
  agendaItemBody,
  attendanceBody,
  cancelBody,
  conclusionsBody,
  conveneBody,
  delegateBody,
  participationAnswer,
  plenaryMeetingAnswer,
  plenaryMeetingDetailAnswer,
  plenarySearchQuery,
} from './plenary-meetings.schemas.js';
import { agendaItemView, delegateView, plenaryMeetingView } from './plenary-meetings.views.js';

const done = (description: string) => ({ status: 200 as const, description });
// A stream's version counts the closed session's events too: shown (as `version` and ETag) only to those who
// may see them, so that a guest state or liaison organisation cannot count what it may not see.
const delegateAnswer = writeAnswer
  .extend({ version: writeAnswer.shape.version.optional() })
  .meta({ id: 'PlenaryDelegateWriteResult' });
const notFound = (id: string) =>
  new Problem(404, 'not-found', 'Not found', `no plenary meeting ${id}: list them at /v1/plenary-meetings`);

/** Who may not see the closed session is not shown the meeting's version, which counts its events. */
const closedCountHiddenFrom = (caller: Actor) => !maySee(caller, closed);

@Tag('plenary meetings')
@Controller('v1/plenary-meetings')
export class PlenaryMeetingsController extends FeatureController {
  @Get()
  @Operation({
    summary: 'Plenary meetings with their conclusions, the latest first; searchable by text and topic',
    query: plenarySearchQuery,
    headers: ['Focal-Read-After'],
    success: { status: 200, description: 'the meetings', schema: listOf(plenaryMeetingAnswer) },
    problems: [400],
  })
  async list(
    @Req() request: GatewayRequest,
    @ValidQuery(plenarySearchQuery) query: z.infer<typeof plenarySearchQuery>,
  ) {
    await this.commands.consistentRead(request);
    return { items: (await this.readModels.plenaryMeetings(query)).map(plenaryMeetingView) };
  }

  @Get(':id/participation')
  @Operation({
    summary: 'Participation by session, kind of participant and country; the closed session’s is closed',
    headers: ['Focal-Read-After'],
    success: { status: 200, description: 'the report', schema: participationAnswer },
    problems: [400, 404],
  })
  async participation(@Req() request: GatewayRequest, @Caller() caller: Actor, @UuidParam('id') id: string) {
    await this.meeting(request, id);
    const delegates = await this.readModels.plenaryDelegates(id, caller);
    return {
      meetingId: id,
      ...participationReport(
        caller,
        delegates.map(({ session, kind, country, attended }) => ({
          session,
          kind,
          attended,
          ...(country ? { country } : {}),
        })),
      ),
    };
  }

  /** The meeting, after the caller's own writes (Focal-Read-After), or 404. */
  private async meeting(request: GatewayRequest, id: string) {
    await this.commands.consistentRead(request);
    const meeting = await this.readModels.findFresh(() => this.readModels.plenaryMeeting(id));
    if (!meeting) throw notFound(id);
    return meeting;
  }
}

readRoutes(PlenaryMeetingsController, {
  read: read({
    path: ':id',
    summary: 'One meeting with its agenda and delegates: the closed session’s only for those who may see it',
    success: { description: 'the meeting', schema: plenaryMeetingDetailAnswer },
    load: (id, { readModels }) => readModels.findFresh(() => readModels.plenaryMeeting(id)),
    notFound,
    // The stream's version counts the closed session's events too: only for those who may see them.
    etag: (meeting, { caller }) => (maySee(caller, closed) ? meeting.version : undefined),
    view: async (meeting, { caller, readModels }) => ({
      ...plenaryMeetingView(meeting),
      agenda: (await readModels.plenaryAgenda(meeting.id, caller)).map(agendaItemView),
      delegates: (await readModels.plenaryDelegates(meeting.id, caller)).map(delegateView),
      ...(maySee(caller, closed) ? { version: meeting.version } : {}),
    }),
  }),
});

commandRoutes(PlenaryMeetingsController, {
  convene: command({
    path: '',
    summary: 'Convene a plenary meeting (secretariat)',
    body: conveneBody,
    success: { status: 201, description: 'convened' },
    subject: 'focal.messaging.plenary-meeting.convene',
    send: ({ body, newId }) => ({ stream: newId(), command: { meetingId: newId(), ...body } }),
  }),
  addAgendaItem: command({
    path: ':id/agenda-items',
    summary: 'Add an item to the open or closed session’s agenda (secretariat)',
    body: agendaItemBody,
    success: { status: 201, description: 'added' },
    subject: 'focal.messaging.plenary-meeting.add-agenda-item',
    send: ({ ids: { id }, body, newId }) => ({
      stream: newId(),
      command: { meetingId: id, itemId: newId(), ...body },
    }),
  }),
  registerDelegate: command({
    path: ':id/delegates',
    summary: 'Register a delegate',
    description:
      'A member or observer state registers one of its own contact points, for either session; a guest state ' +
      'or a liaison organisation registers its own delegation (from its token) for the open session only; the ' +
      'secretariat may register any of them.',
    body: delegateBody,
    success: { status: 201, description: 'registered', schema: delegateAnswer },
    subject: 'focal.messaging.plenary-meeting.register-delegate',
    send: ({ ids: { id }, body, newId }) => {
      // A state's delegate's name is its contact point's personal data: ignored, never sent on (SPEC §6).
      const { name, ...named } = body;
      return {
        stream: newId(),
        command: { meetingId: id, delegateId: newId(), ...named, ...(body.contactPointId ? {} : { name }) },
      };
    },
    versionHiddenFrom: closedCountHiddenFrom,
  }),
  withdrawDelegate: command({
    method: 'delete',
    path: ':id/delegates/:delegateId',
    summary: 'Withdraw a delegate (whoever registered them, or the secretariat)',
    success: { status: 200, description: 'withdrawn', schema: delegateAnswer },
    subject: 'focal.messaging.plenary-meeting.withdraw-delegate',
    send: ({ ids: { id, delegateId } }) => ({ stream: delegateId, command: { meetingId: id, delegateId } }),
    versionHiddenFrom: closedCountHiddenFrom,
  }),
  recordAttendance: command({
    path: ':id/attendance',
    summary: 'Record that a registered delegate attended, on or after the meeting’s start (secretariat)',
    body: attendanceBody,
    success: done('recorded'),
    subject: 'focal.messaging.plenary-meeting.record-attendance',
    send: ({ ids: { id }, body }) => ({
      stream: body.delegateId,
      command: { meetingId: id, delegateId: body.delegateId },
    }),
  }),
  publishConclusions: command({
    path: ':id/conclusions',
    summary: 'Publish the conclusions once the meeting has ended; it is then concluded (secretariat)',
    body: conclusionsBody,
    success: done('published'),
    subject: 'focal.messaging.plenary-meeting.publish-conclusions',
    send: ({ ids: { id }, body }) => ({ stream: id, command: { meetingId: id, ...body } }),
  }),
  cancel: command({
    path: ':id/cancel',
    summary: 'Cancel a meeting (secretariat)',
    body: cancelBody,
    success: done('cancelled'),
    subject: 'focal.messaging.plenary-meeting.cancel',
    send: ({ ids: { id }, body }) => ({ stream: id, command: { meetingId: id, reason: body.reason } }),
  }),
});
