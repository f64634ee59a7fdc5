import { randomUUID } from 'node:crypto';

import { maySee, participantOf, threadEventVisibility, type Actor } from '@focal/domain';
import { Controller, Get, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';

import {
  AcceptMeetingDto,
  ConcludeMeetingDto,
  MeetingStatusQueryDto,
  OpenThreadDto,
  PostMessageDto,
  RequestMeetingDto,
} from '../dto/messaging.dto.js';
import { ReasonDto } from '../dto/directory.dto.js';
import { Caller, CommandGateway, READ_MODELS, type GatewayRequest } from '../http/context.js';
import { UuidParam, ValidBody, ValidQuery } from '../http/params.js';
import { Problem } from '../http/problem.js';
import type { ReadModels } from '../read-models/read-models.js';
import { meetingRequestView, messageView, threadView } from './views.js';

// Whatever the caller may not see does not exist for them: 404, never 403, so nothing leaks.
const notFound = (what: string) => new Problem(404, 'not-found', 'Not found', `no ${what} that you may see`);

@ApiTags('meeting requests')
@ApiBearerAuth()
@Controller('v1/meeting-requests')
export class MeetingRequestsController {
  constructor(
    @Inject(CommandGateway) private readonly commands: CommandGateway,
    @Inject(READ_MODELS) private readonly readModels: ReadModels,
  ) {}

  @Post()
  @ApiBody({ type: RequestMeetingDto })
  @ApiOperation({ summary: 'Request an ad hoc meeting (member states)' })
  request(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @ValidBody(RequestMeetingDto) body: RequestMeetingDto,
  ) {
    const id = this.commands.newId(request);
    return this.commands.send(
      request,
      reply,
      'focal.messaging.meeting-request.request',
      id,
      { requestId: id, ...body },
      201,
    );
  }

  @Get()
  @ApiOperation({ summary: 'The requests the caller may see, newest first' })
  async list(
    @Req() request: GatewayRequest,
    @Caller() caller: Actor,
    @ValidQuery(MeetingStatusQueryDto) query: MeetingStatusQueryDto,
  ) {
    await this.commands.consistentRead(request);
    return { items: (await this.readModels.meetingRequests(caller, query.status)).map(meetingRequestView) };
  }

  @Get(':id')
  async read(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Caller() caller: Actor,
    @UuidParam('id') id: string,
  ) {
    await this.commands.consistentRead(request);
    const row = await this.readModels.meetingRequest(id);
    if (!row || !maySee(caller, row.visibility)) throw notFound(`ad hoc meeting request ${id}`);
    void reply.header('etag', `"${row.version}"`);
    return meetingRequestView(row);
  }

  @Post(':id/co-sponsor')
  coSponsor(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
  ) {
    return this.commands.send(request, reply, 'focal.messaging.meeting-request.co-sponsor', id, {
      requestId: id,
    });
  }

  @Post(':id/withdraw')
  withdraw(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
  ) {
    return this.commands.send(request, reply, 'focal.messaging.meeting-request.withdraw', id, {
      requestId: id,
    });
  }

  @Post(':id/accept')
  @ApiBody({ type: AcceptMeetingDto })
  accept(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
    @ValidBody(AcceptMeetingDto) body: AcceptMeetingDto,
  ) {
    return this.commands.send(request, reply, 'focal.messaging.meeting-request.accept', id, {
      requestId: id,
      ...body,
    });
  }

  @Post(':id/decline')
  @ApiBody({ type: ReasonDto })
  decline(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
    @ValidBody(ReasonDto) body: ReasonDto,
  ) {
    return this.commands.send(request, reply, 'focal.messaging.meeting-request.decline', id, {
      requestId: id,
      reason: body.reason,
    });
  }

  @Post(':id/cancel')
  @ApiBody({ type: ReasonDto })
  cancel(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
    @ValidBody(ReasonDto) body: ReasonDto,
  ) {
    return this.commands.send(request, reply, 'focal.messaging.meeting-request.cancel', id, {
      requestId: id,
      reason: body.reason,
    });
  }

  @Post(':id/conclude')
  @ApiBody({ type: ConcludeMeetingDto })
  conclude(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @UuidParam('id') id: string,
    @ValidBody(ConcludeMeetingDto) body: ConcludeMeetingDto,
  ) {
    return this.commands.send(request, reply, 'focal.messaging.meeting-request.conclude', id, {
      requestId: id,
      conclusions: body.conclusions,
    });
  }
}

@ApiTags('threads')
@ApiBearerAuth()
@Controller('v1')
export class ThreadsController {
  constructor(
    @Inject(CommandGateway) private readonly commands: CommandGateway,
    @Inject(READ_MODELS) private readonly readModels: ReadModels,
  ) {}

  @Post('threads')
  @ApiBody({ type: OpenThreadDto })
  @ApiOperation({ summary: 'Open a thread; the caller takes part in it' })
  open(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @ValidBody(OpenThreadDto) body: OpenThreadDto,
  ) {
    const id = this.commands.newId(request);
    return this.commands.send(
      request,
      reply,
      'focal.messaging.thread.open',
      id,
      { threadId: id, ...body },
      201,
    );
  }

  @Get('inbox')
  @ApiOperation({ summary: "The caller's threads: overdue urgent ones first, with unread counts" })
  async inbox(@Req() request: GatewayRequest, @Caller() caller: Actor) {
    await this.commands.consistentRead(request);
    return { items: (await this.readModels.inbox(caller, new Date())).map(threadView) };
  }

  @Get('threads/:id')
  @ApiOperation({ summary: 'A thread with its messages; records their delivery to the caller' })
  async read(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Caller() caller: Actor,
    @UuidParam('id') id: string,
  ) {
    await this.commands.consistentRead(request);
    const thread = await this.visibleThread(caller, id);
    const self = participantOf(caller);
    let messages = await this.readModels.messages(id);
    // Receipts are the participants': the secretariat or an auditor reading from outside leaves none.
    const undelivered =
      self && thread.participants.includes(self)
        ? messages.filter((m) => m.author !== self && !m.delivered_to.includes(self))
        : [];
    for (const message of undelivered) {
      await this.commands.record(request, 'focal.messaging.thread.record-delivered', {
        threadId: id,
        messageId: message.message_id,
      });
    }
    if (undelivered.length > 0) {
      await this.readModels.catchUp();
      messages = await this.readModels.messages(id);
    }
    void reply.header('etag', `"${(await this.readModels.thread(id))?.version ?? thread.version}"`);
    return { ...threadView(thread), messages: messages.map(messageView) };
  }

  @Post('threads/:id/messages')
  @ApiBody({ type: PostMessageDto })
  async post(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Caller() caller: Actor,
    @UuidParam('id') id: string,
    @ValidBody(PostMessageDto) body: PostMessageDto,
  ) {
    await this.visibleThread(caller, id);
    const messageId = request.headers['idempotency-key'] ? this.commands.newId(request) : randomUUID();
    const result = await this.commands.send(
      request,
      reply,
      'focal.messaging.thread.post-message',
      id,
      { threadId: id, messageId, ...body },
      201,
    );
    return { ...result, messageId };
  }

  @Post('threads/:id/messages/:messageId/read')
  async markRead(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Caller() caller: Actor,
    @UuidParam('id') id: string,
    @UuidParam('messageId') messageId: string,
  ) {
    await this.visibleThread(caller, id);
    return this.commands.send(request, reply, 'focal.messaging.thread.mark-read', id, {
      threadId: id,
      messageId,
    });
  }

  /**
   * The thread, if the caller may read it (its participants, the secretariat, auditors: the domain's rule);
   * otherwise it does not exist for them. Who may post or mark read is the decider's to say.
   */
  private async visibleThread(caller: Actor, id: string) {
    const thread = await this.readModels.findFresh(() => this.readModels.thread(id));
    if (!thread || !maySee(caller, threadEventVisibility(thread.participants)))
      throw notFound(`thread ${id}`);
    return thread;
  }
}
