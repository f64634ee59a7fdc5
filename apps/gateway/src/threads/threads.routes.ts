import { randomUUID } from 'node:crypto';

import { maySee, participantOf, type Actor } from '@focal/domain';
import { Controller, Get, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';

import { listOf, writeAnswer } from '../http/answers.js';
import { Caller, type GatewayRequest } from '../auth/auth.guard.js';
import { command, commandRoutes, FeatureController } from '../http/command-routes.js';
import { Operation, Tag, UuidParam, ValidBody, WRITE_PROBLEMS } from '../http/operation.js';
import { Problem } from '../http/problem.js';
import { threadVisibility } from '../read-models/read-models.js';
import { messageAnswer, openThreadBody, postMessageBody, threadAnswer } from './threads.schemas.js';
import { messageView, threadView } from './threads.views.js';

// Whatever the caller may not see does not exist for them: 404, never 403, so nothing leaks.
const notFound = (what: string) => new Problem(404, 'not-found', 'Not found', `no ${what} that you may see`);
const WRITE = ['Idempotency-Key', 'If-Match'] as const;

@Tag('threads')
@Controller('v1')
export class ThreadsController extends FeatureController {
  @Get('inbox')
  @Operation({
    summary: "The caller's threads: overdue urgent ones first, with unread counts",
    headers: ['Focal-Read-After'],
    success: {
      status: 200,
      description: 'the threads the caller takes part in',
      schema: listOf(threadAnswer),
    },
  })
  async inbox(@Req() request: GatewayRequest, @Caller() caller: Actor) {
    await this.commands.consistentRead(request);
    return { items: (await this.readModels.inbox(caller, new Date())).map(threadView) };
  }

  @Get('threads/:id')
  @Operation({
    summary:
      'A thread with its messages (participants, the secretariat, auditors); records their delivery to a participant',
    headers: ['Focal-Read-After'],
    success: {
      status: 200,
      description: 'the thread (ETag: its version)',
      schema: threadAnswer.extend({ messages: z.array(messageAnswer) }),
    },
    problems: [400, 404],
  })
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
    // The receipts moved the thread on: its version and ETag are both the one after them (a tester's If-Match
    // with the body's version, read before them, was refused with 412).
    let current = thread;
    if (undelivered.length > 0) {
      await this.readModels.catchUp();
      messages = await this.readModels.messages(id);
      current = (await this.readModels.thread(id)) ?? thread;
    }
    void reply.header('etag', `"${current.version}"`);
    return { ...threadView(current), messages: messages.map(messageView) };
  }

  @Post('threads/:id/messages')
  @Operation({
    summary: 'Post a message (participants), with a handling code and attachments by fingerprint',
    body: postMessageBody,
    headers: WRITE,
    success: { status: 201, description: 'posted', schema: writeAnswer.extend({ messageId: z.string() }) },
    problems: WRITE_PROBLEMS,
  })
  async post(
    @Req() request: GatewayRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Caller() caller: Actor,
    @UuidParam('id') id: string,
    @ValidBody(postMessageBody) body: z.infer<typeof postMessageBody>,
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
  @Operation({
    summary: 'Record that the caller read a message (participants)',
    headers: WRITE,
    success: { status: 200, description: 'recorded (once)', schema: writeAnswer },
    problems: WRITE_PROBLEMS,
  })
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
    if (!thread || !maySee(caller, threadVisibility(thread))) throw notFound(`thread ${id}`);
    return thread;
  }
}

commandRoutes(ThreadsController, {
  open: command({
    path: 'threads',
    summary: 'Open a thread; the caller takes part in it',
    body: openThreadBody,
    success: { status: 201, description: 'opened' },
    subject: 'focal.messaging.thread.open',
    send: ({ body, newId }) => ({ stream: newId(), command: { threadId: newId(), ...body } }),
  }),
});
