import { ServiceFailedError, ServiceUnavailableError } from '@focal/contracts';
import { LogNotReadableError } from '@focal/events';
import { BadRequestException, HttpException, NotFoundException } from '@nestjs/common';

import { REASONS_BY_STATUS, toProblem } from './problem.js';

/** A Fastify error as Nest hands it to the filter: an HttpException whose cause carries Fastify's code. */
const fastifyError = (statusCode: number, code: string, message: string) =>
  new HttpException(message, statusCode, {
    cause: Object.assign(new Error(message), { name: 'FastifyError', statusCode, code }),
  });

describe('toProblem: every error a problem with a reason, in Focal words', () => {
  it.each([
    ['the store hiding events', new LogNotReadableError(5_000), 503, 'log-not-readable-yet'],
    [
      'a service not answering',
      new ServiceUnavailableError('directory', 'no answer in 5 s'),
      503,
      'service-unavailable',
    ],
    [
      'a service failing',
      new ServiceFailedError('directory', 'internal-error', 'it failed'),
      500,
      'internal-error',
    ],
    ['a bug', new TypeError('x is undefined'), 500, 'internal-error'],
    ['a route that does not exist', new NotFoundException('Cannot GET /v1/nowhere'), 404, 'no-such-route'],
    [
      'a body over the limit',
      fastifyError(413, 'FST_ERR_CTP_BODY_TOO_LARGE', 'Request body is too large'),
      413,
      'body-too-large',
    ],
    [
      'a media type not taken',
      fastifyError(415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE', 'Unsupported Media Type'),
      415,
      'unsupported-media-type',
    ],
    [
      'a path that is not UTF-8',
      Object.assign(new Error("'/v1/%ED' is not a valid url component"), {
        name: 'FastifyError',
        statusCode: 400,
        code: 'FST_ERR_BAD_URL',
      }),
      400,
      'malformed-url',
    ],
    [
      'a bad request from elsewhere in Nest',
      new BadRequestException('Unexpected token'),
      400,
      'malformed-request',
    ],
    ['a status with no words of its own', new HttpException('I am a teapot', 418), 418, 'i-m-a-teapot'],
  ])('%s', (_case, error, status, reason) => {
    const problem = toProblem(error);
    expect(problem).toMatchObject({ status, reason, type: `urn:focal:problem:${reason}` });
    expect(problem.detail).toEqual(expect.any(String));
    for (const text of [problem.type, problem.title, problem.detail]) {
      expect(text).not.toMatch(/Exception|FastifyError|TypeError|ServiceFailedError|FST_ERR/);
    }
  });

  // What the OpenAPI document lists as each status's reasons must hold what these errors are answered with.
  it.each([
    new LogNotReadableError(5_000),
    new ServiceUnavailableError('directory', 'no answer in 5 s'),
    new ServiceFailedError('directory', 'internal-error', 'it failed'),
    new TypeError('x is undefined'),
    fastifyError(413, 'FST_ERR_CTP_BODY_TOO_LARGE', 'Request body is too large'),
    fastifyError(415, 'FST_ERR_CTP_INVALID_MEDIA_TYPE', 'Unsupported Media Type'),
    fastifyError(400, 'FST_ERR_CTP_INVALID_CONTENT_LENGTH', 'Content-Length does not match'),
    fastifyError(400, 'FST_ERR_CTP_EMPTY_JSON_BODY', 'Body cannot be empty'),
    new BadRequestException('Unexpected token'),
  ])('%s: a reason the document lists for its status', (error) => {
    const problem = toProblem(error);
    expect(REASONS_BY_STATUS[problem.status as keyof typeof REASONS_BY_STATUS]).toContain(problem.reason);
  });
});
