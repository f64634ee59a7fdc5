import { closed, maySee, participationReport, type Actor } from '@focal/domain';
import { Controller, Delete, Get, Inject, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { z } from 'zod';

import { Caller, type GatewayRequest } from '../auth/auth.guard.js';
import { listOf, writeAnswer } from '../http/answers.js';
import { CommandGateway, type WriteResult } from '../http/command-gateway.js';
import { Operation, Tag, UuidParam, ValidBody, ValidQuery, WRITE_PROBLEMS } from '../http/operation.js';
import { Problem } from '../http/problem.js';
import { READ_MODELS, type ReadModels } from '../read-models/read-models.js';
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

const WRITE = ['Idempotency-Key', 'If-Match'] as const;
const done = (description: string) => ({ status: 200, description, schema: writeAnswer });
// A stream's version counts the closed session's events too: shown (as `version` and ETag) only to those who
// may see them, so that a guest state or liaison organisation cannot count what it may not see.
const delegateAnswer = writeAnswer
  .extend({ version: writeAnswer.shape.version.optional() })
  .meta({ id: 'PlenaryDelegateWriteResult' });
const notFound = (id: string) =>
  new Problem(404, 'not-found', 'Not found', `no plenary meeting ${id}: list them at /v1/plenary-meetings`);

/** A delegate write's answer as the caller may see it: without the version for who may not see the closed session. */
function withoutClosedCount(caller: Actor, reply: FastifyReply, result: WriteResult) {
  if (maySee(caller, closed)) return result;
  void reply.removeHeader('etag');
  return { id: result.id, position: result.position };
}

@Tag('plenary meetings')
@Controller('v1/plenary-meetings')
export class PlenaryMeetingsController {
  constructor(
    @Inject(CommandGateway) private readonly commands: CommandGateway,
    @Inject(READ_MODELS) private readonly readModels: ReadModels,
  ) {}

  @Post()
  @Operation({
    summary: 'Convene a plenary meeting (secretariat)',
    body: conveneBody,
    headers: WRITE,
    success: { status: 201, description: 'convened', schema: writeAnswer },
    problems: WRITE_PROBLEMS,
  })
  convene(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @ValidBody(conveneBody) body: z.infer<typeof conveneBody>,
  ) {
    const id = this.commands.newId(request);
    return this.commands.send(
      request,
      reply,
      'focal.messaging.plenary-meeting.convene',
      id,
      { meetingId: id, ...body },
      201,
    );
  }

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

  @Get(':id')
  @Operation({
    summary: 'One meeting with its agenda and delegates: the closed session’s only for those who may see it',
    headers: ['Focal-Read-After'],
    success: { status: 200, description: 'the meeting', schema: plenaryMeetingDetailAnswer },
    problems: [400, 404],
  })
  async read(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Caller() caller: Actor,
    @UuidParam('id') id: string,
  ) {
    const meeting = await this.meeting(request, id);
    // The stream's version counts the closed session's events too: only for those who may see them.
    const seesAll = maySee(caller, closed);
    if (seesAll) void reply.header('etag', `"${meeting.version}"`);
    return {
      ...plenaryMeetingView(meeting),
      agenda: (await this.readModels.plenaryAgenda(id, caller)).map(agendaItemView),
      delegates: (await this.readModels.plenaryDelegates(id, caller)).map(delegateView),
      ...(seesAll ? { version: meeting.version } : {}),
    };
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

  @Post(':id/agenda-items')
  @Operation({
    summary: 'Add an item to the open or closed session’s agenda (secretariat)',
    body: agendaItemBody,
    headers: WRITE,
    success: { status: 201, description: 'added', schema: writeAnswer },
    problems: WRITE_PROBLEMS,
  })
  addAgendaItem(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
    @ValidBody(agendaItemBody) body: z.infer<typeof agendaItemBody>,
  ) {
    const itemId = this.commands.newId(request);
    return this.commands.send(
      request,
      reply,
      'focal.messaging.plenary-meeting.add-agenda-item',
      itemId,
      { meetingId: id, itemId, ...body },
      201,
    );
  }

  @Post(':id/delegates')
  @Operation({
    summary: 'Register a delegate',
    description:
      'A member or observer state registers one of its own contact points, for either session; a guest state ' +
      'or a liaison organisation registers its own delegation (from its token) for the open session only; the ' +
      'secretariat may register any of them.',
    body: delegateBody,
    headers: WRITE,
    success: { status: 201, description: 'registered', schema: delegateAnswer },
    problems: WRITE_PROBLEMS,
  })
  async registerDelegate(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Caller() caller: Actor,
    @UuidParam('id') id: string,
    @ValidBody(delegateBody) body: z.infer<typeof delegateBody>,
  ) {
    const delegateId = this.commands.newId(request);
    // A state's delegate's name is its contact point's personal data: ignored, never sent on (SPEC §6).
    const { name, ...named } = body;
    const command = { meetingId: id, delegateId, ...named, ...(body.contactPointId ? {} : { name }) };
    return withoutClosedCount(
      caller,
      reply,
      await this.commands.send(
        request,
        reply,
        'focal.messaging.plenary-meeting.register-delegate',
        delegateId,
        command,
        201,
      ),
    );
  }

  @Delete(':id/delegates/:delegateId')
  @Operation({
    summary: 'Withdraw a delegate (whoever registered them, or the secretariat)',
    headers: WRITE,
    success: { status: 200, description: 'withdrawn', schema: delegateAnswer },
    problems: WRITE_PROBLEMS,
  })
  withdrawDelegate(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
    @UuidParam('delegateId') delegateId: string,
  ) {
    return this.commands.send(
      request,
      reply,
      'focal.messaging.plenary-meeting.withdraw-delegate',
      delegateId,
      {
        meetingId: id,
        delegateId,
      },
    );
  }

  @Post(':id/attendance')
  @Operation({
    summary: 'Record that a registered delegate attended, on or after the meeting’s start (secretariat)',
    body: attendanceBody,
    headers: WRITE,
    success: done('recorded'),
    problems: WRITE_PROBLEMS,
  })
  recordAttendance(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
    @ValidBody(attendanceBody) body: z.infer<typeof attendanceBody>,
  ) {
    return this.commands.send(
      request,
      reply,
      'focal.messaging.plenary-meeting.record-attendance',
      body.delegateId,
      { meetingId: id, delegateId: body.delegateId },
    );
  }

  @Post(':id/conclusions')
  @Operation({
    summary: 'Publish the conclusions once the meeting has ended; it is then concluded (secretariat)',
    body: conclusionsBody,
    headers: WRITE,
    success: done('published'),
    problems: WRITE_PROBLEMS,
  })
  publishConclusions(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
    @ValidBody(conclusionsBody) body: z.infer<typeof conclusionsBody>,
  ) {
    return this.commands.send(request, reply, 'focal.messaging.plenary-meeting.publish-conclusions', id, {
      meetingId: id,
      ...body,
    });
  }

  @Post(':id/cancel')
  @Operation({
    summary: 'Cancel a meeting (secretariat)',
    body: cancelBody,
    headers: WRITE,
    success: done('cancelled'),
    problems: WRITE_PROBLEMS,
  })
  cancel(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
    @ValidBody(cancelBody) body: z.infer<typeof cancelBody>,
  ) {
    return this.commands.send(request, reply, 'focal.messaging.plenary-meeting.cancel', id, {
      meetingId: id,
      reason: body.reason,
    });
  }

  /** The meeting, after the caller's own writes (Focal-Read-After), or 404. */
  private async meeting(request: GatewayRequest, id: string) {
    await this.commands.consistentRead(request);
    const meeting = await this.readModels.findFresh(() => this.readModels.plenaryMeeting(id));
    if (!meeting) throw notFound(id);
    return meeting;
  }
}
