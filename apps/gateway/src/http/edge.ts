import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { BODY_LIMIT_BYTES, inputFault, queryStringFault } from './input.js';
import { frameworkProblem, Problem, sendProblem, toProblem } from './problem.js';

/*
 * The HTTP edge: what reaches the gateway before any controller, and every way the framework can refuse it,
 * answered as Focal's problems. Bodies are JSON (UTF-8) or nothing; every body, query string and path
 * parameter is checked once here for what no store can hold (see input.ts).
 */

/** Options for the Fastify instance: the body limit, and Focal's problems where Fastify answers on its own. */
export const edgeServerOptions = {
  bodyLimit: BODY_LIMIT_BYTES,
  // A path that is not valid percent-encoded UTF-8, or a parameter over the router's length: answered before
  // any hook or filter runs.
  frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) =>
    sendProblem(reply, { ...toProblem(error), instance: request.url }),
  clientErrorHandler: answerClientError,
};

/**
 * Takes JSON bodies only (anything else is a 415), refuses input no store can hold, and keeps the table of
 * routes that tells a 405 from a 404. Install before the application registers its routes.
 */
export function installEdge(fastify: FastifyInstance): { allowedMethods(path: string): string[] } {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: BODY_LIMIT_BYTES },
    (request: FastifyRequest, body: Buffer, done: (error: Error | null, body?: unknown) => void) => {
      try {
        refuseCharsets(request);
        done(null, parseJson(body));
      } catch (error) {
        done(error as Error);
      }
    },
  );
  // Before the body is read: a compressed one is refused with the one coding taken (RFC 9110 §12.5.3).
  fastify.addHook('preParsing', async (request, reply, payload) => {
    const encoding = request.headers['content-encoding']?.trim().toLowerCase();
    if (encoding && encoding !== 'identity' && request.method !== 'GET' && request.method !== 'HEAD') {
      void reply.header('accept-encoding', 'identity');
      throw new Problem(
        415,
        'unsupported-media-type',
        'Unsupported Media Type',
        `the body is sent with Content-Encoding: ${encoding.slice(0, 50)}, which this API does not take: send ` +
          'it uncompressed, without Content-Encoding',
      );
    }
    return payload;
  });
  fastify.addHook('preValidation', async (request) => {
    const query = request.url.indexOf('?');
    const fault =
      (query >= 0 ? queryStringFault(request.url.slice(query + 1)) : undefined) ??
      inputFault(request.params, 'path') ??
      inputFault(request.query, 'query') ??
      inputFault(request.body, 'body');
    if (fault) {
      throw new Problem(400, 'invalid-input', 'Invalid input', `${fault.field}: ${fault.message}`, {
        [fault.field]: fault.message,
      });
    }
  });
  const routes: { methods: string[]; pattern: RegExp }[] = [];
  fastify.addHook('onRoute', (route) => {
    routes.push({ methods: [route.method].flat(), pattern: routePattern(route.url ?? route.path) });
  });
  return {
    allowedMethods: (path) =>
      [
        ...new Set(routes.filter((route) => route.pattern.test(path)).flatMap((route) => route.methods)),
      ].sort(),
  };
}

/** JSON has one charset, UTF-8 (RFC 8259): a body declared in another is a 415 that says so. */
function refuseCharsets(request: FastifyRequest): void {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1];
  if (charset && !/^utf-?8$/i.test(charset)) {
    throw new Problem(
      415,
      'unsupported-media-type',
      'Unsupported Media Type',
      `the body is declared as ${charset.slice(0, 50)}, but JSON is UTF-8: send it as UTF-8, with ` +
        'Content-Type: application/json (charset=utf-8 or none)',
    );
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A JSON body; none at all is no body (an action that takes none, sent with Content-Type: application/json).
 * JSON is UTF-8 (RFC 8259): other bytes are refused rather than replaced.
 */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw malformed('the body is not UTF-8: send JSON encoded as UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const why = (error as Error).message.slice(0, 200);
    throw malformed(`the body is not JSON (${why}): send one JSON object, or no body`);
  }
}

const malformed = (detail: string) => new Problem(400, 'malformed-json', 'Malformed JSON', detail);

/** A route's URL as a pattern for the paths it takes: `:id` one segment, `*` the rest. */
function routePattern(url: string): RegExp {
  const segments = url
    .split('/')
    .map((segment) =>
      segment.startsWith(':')
        ? '[^/]+'
        : segment === '*'
          ? '.*'
          : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    );
  return new RegExp(`^${segments.join('/')}$`);
}

/**
 * Requests that are not HTTP Node can read (a control character in a header, headers over the limit, a
 * request that never completes): Fastify's default answers JSON of its own; this answers a problem.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status =
    error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = JSON.stringify(frameworkProblem(status));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
