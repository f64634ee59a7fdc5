import createClient, { type Client } from 'openapi-fetch';

import type { components, paths } from './schema.js';

/*
 * Focal's typed client: openapi-fetch over the types openapi-typescript generates from the gateway's OpenAPI
 * document (src/schema.ts, `npm run client:generate`). Every path, parameter, body and answer is typed by the
 * document, so a call the API does not take does not compile.
 */

export type { components, operations, paths } from './schema.js';

/** RFC 9457 problem details, as every error of the API is answered; switch on `reason`. */
export type Problem = components['schemas']['Problem'];
/** What every write answers: the entity, its new version (also the ETag) and its event's position. */
export type WriteResult = components['schemas']['WriteResult'];
export type FocalClient = Client<paths>;

export interface FocalClientOptions {
  /** The gateway's URL, e.g. http://127.0.0.1:3000 */
  baseUrl: string;
  /** A bearer token (JWT), sent with every request; none for the public operations (health, metrics). */
  token?: string;
  /** Another fetch, e.g. one that records or checks each exchange; globalThis.fetch when not given. */
  fetch?: (request: Request) => Promise<Response>;
}

export function createFocalClient(options: FocalClientOptions): FocalClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const { token } = options;
  if (token) {
    client.use({
      onRequest({ request }) {
        request.headers.set('authorization', `Bearer ${token}`);
        return request;
      },
    });
  }
  return client;
}

/** The If-Match value for a version read before (a write's `version`, or its ETag's number). */
export const ifMatch = (version: number): string => `"${version}"`;

/** A write's Focal-Position, to send back as Focal-Read-After so that a read sees that write. */
export const positionOf = (response: Response): string | undefined =>
  response.headers.get('focal-position') ?? undefined;

export function isProblem(body: unknown): body is Problem {
  const candidate = body as Partial<Problem> | null;
  return (
    typeof candidate === 'object' &&
    candidate !== null &&
    typeof candidate.reason === 'string' &&
    typeof candidate.status === 'number'
  );
}

/** An answer that was not a success, with its problem when it had one. */
export class FocalProblemError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | undefined,
    readonly body: unknown,
  ) {
    super(
      problem
        ? `${status} ${problem.reason}: ${problem.detail}`
        : `${status}: ${JSON.stringify(body)?.slice(0, 300)}`,
    );
    this.name = 'FocalProblemError';
  }
}

/** The data of an answer that must succeed; anything else is thrown as a FocalProblemError. */
export function expectOk<Data>(result: { data?: Data; error?: unknown; response: Response }): Data {
  if (!result.response.ok || result.error !== undefined) {
    throw new FocalProblemError(
      result.response.status,
      isProblem(result.error) ? result.error : undefined,
      result.error,
    );
  }
  return result.data as Data;
}
