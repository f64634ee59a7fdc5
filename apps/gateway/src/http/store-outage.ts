import type { StoreHealth } from '@focal/service';
import type { FastifyInstance, FastifyReply } from 'fastify';

import { problemType } from './problem.js';

/** Operations answer for themselves, store or not: health says why, docs need no store. */
const ANSWERS_ANYWAY = /^\/(health|docs)(\/|\?|$|-json)/;

/**
 * While the store does not answer, the API says so at once (503 with Retry-After) instead of holding the
 * caller; requests that were waiting on the store when it was lost are answered the same way. A request that
 * runs long on a store that answers is never cut: only the store's health decides.
 */
export function answerStoreOutages(fastify: FastifyInstance, health: StoreHealth): () => void {
  const waiting = new Set<FastifyReply>();
  const refuse = (reply: FastifyReply) => {
    if (reply.sent || reply.raw.headersSent) return;
    void reply
      .code(503)
      .header('content-type', 'application/problem+json')
      .header('retry-after', String(Math.ceil(health.options.timeoutMs / 1000)))
      .send({
        type: problemType('store-unavailable'),
        title: 'Service unavailable',
        status: 503,
        detail: 'the event store does not answer: try again shortly (see /health/ready)',
        reason: 'store-unavailable',
        instance: reply.request.url,
      });
  };
  fastify.addHook('onRequest', async (request, reply) => {
    if (ANSWERS_ANYWAY.test(request.url)) return;
    if (!health.healthy) return refuse(reply);
    waiting.add(reply);
    reply.raw.once('close', () => waiting.delete(reply));
  });
  return health.onChange((change) => {
    if (change.kind !== 'lost') return;
    for (const reply of waiting) refuse(reply);
    waiting.clear();
  });
}
