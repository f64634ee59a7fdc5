import type { Server, ServerResponse } from 'node:http';

import type { FastifyInstance } from 'fastify';

/**
 * How the server stops: it stops listening, answers the requests in flight (for at most `answerWithinMs`),
 * then closes every connection left. Closing only the idle ones is not enough: Node counts a connection that
 * has not sent a whole request (a client's spare socket, a half-sent header) as busy, and the close would wait
 * for it; closing all of them at once cut requests in flight off unanswered. Returns how many requests are
 * being answered.
 */
export function drainOnClose(fastify: FastifyInstance, answerWithinMs: number): () => number {
  const answering = new Set<ServerResponse>();
  let allAnswered: (() => void) | undefined;
  fastify.addHook('onRequest', (_request, reply, done) => {
    const response = reply.raw;
    answering.add(response);
    // Answered, or its connection gone: a live stream (hijacked) counts until it ends.
    response.once('close', () => {
      answering.delete(response);
      if (answering.size === 0) allAnswered?.();
    });
    done();
  });
  fastify.addHook('preClose', (done) => {
    const answered = new Promise<void>((resolve) => {
      allAnswered = resolve;
      if (answering.size === 0) resolve();
    });
    let bound: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (bound = setTimeout(resolve, answerWithinMs)));
    void Promise.race([answered, late]).then(() => {
      clearTimeout(bound);
      fastify.server.closeAllConnections();
    });
    done();
  });
  return () => answering.size;
}

/**
 * Resolves once no connection has come for `quietMs` (at most `withinMs` after the call), the server still
 * listening: a client that connected just before a stop, while the event loop was busy and its connection
 * still waited in the kernel's queue, is accepted and answered rather than reset by the closing listener.
 */
export function quietSpell(server: Server, quietMs: number, withinMs: number): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    let quiet: NodeJS.Timeout | undefined;
    const over = () => {
      clearTimeout(quiet);
      clearTimeout(bound);
      server.off('connection', connected);
      resolve();
    };
    const connected = () => {
      clearTimeout(quiet);
      quiet = setTimeout(over, quietMs);
    };
    const bound = setTimeout(over, withinMs);
    server.on('connection', connected);
    connected();
  });
}
