import addFormats from 'ajv-formats';
import { OpenAPIBackend, type Document, type Operation } from 'openapi-backend';

/*
 * Every answer the system tests receive through `TestSystem.call` is held to the OpenAPI document the gateway
 * serves (/docs-json), with openapi-backend as the validator a client's developers would use: the status must
 * be one the operation documents, the content type one it documents for that status, and a JSON body must
 * match its schema. A route the document does not know may only answer 404 or 405.
 */

let validator: Promise<OpenAPIBackend> | undefined;

const SELF = /^\/docs(-json|\/.*)?$/;

async function load(baseUrl: string): Promise<OpenAPIBackend> {
  const response = await fetch(`${baseUrl}/docs-json`);
  if (!response.ok) throw new Error(`GET /docs-json answered ${response.status}`);
  // The document itself is checked against the OpenAPI 3.1 schema in apps/gateway/src/http/openapi.spec.ts;
  // openapi-backend checks definitions against 3.0 only, so it is told not to.
  const api = new OpenAPIBackend({
    definition: (await response.json()) as Document,
    quick: true,
    strict: false,
    // uuid, date-time, email and uri are checked, not ignored.
    customizeAjv: (ajv) => addFormats.default(ajv),
  });
  await api.init();
  return api;
}

export interface Exchange {
  method: string;
  /** Path and query, as sent. */
  path: string;
  status: number;
  headers: Headers;
  body: unknown;
}

/** Throws, naming the operation and what does not match, when `exchange` is not what the document says. */
export async function assertDocumented(baseUrl: string, exchange: Exchange): Promise<void> {
  validator ??= load(baseUrl);
  const api = await validator;
  const [path, query = ''] = exchange.path.split('?');
  const operation = api.matchOperation({
    method: exchange.method.toLowerCase(),
    path: path!,
    query,
    headers: {},
  });
  const what = `${exchange.method} ${exchange.path} answered ${exchange.status}`;
  if (!operation) {
    // The document does not describe itself (Swagger UI and the JSON it serves).
    if (exchange.status === 404 || exchange.status === 405 || SELF.test(path!)) return;
    throw new Error(`${what}, but the OpenAPI document has no such operation`);
  }
  const problems = mismatches(api, operation, exchange);
  if (problems.length > 0) {
    throw new Error(
      `${what}, which does not match the OpenAPI document (${operation.operationId}): ${problems.join('; ')}\n` +
        `body: ${JSON.stringify(exchange.body)?.slice(0, 500)}`,
    );
  }
}

function mismatches(api: OpenAPIBackend, operation: Operation, exchange: Exchange): string[] {
  const responses = (operation.responses ?? {}) as Record<string, { content?: Record<string, unknown> }>;
  const documented = responses[String(exchange.status)] ?? responses.default;
  if (!documented)
    return [`status ${exchange.status} is not documented (only ${Object.keys(responses).join(', ')})`];
  const contentType = exchange.headers.get('content-type')?.split(';')[0]?.trim();
  const types = Object.keys(documented.content ?? {});
  if (types.length === 0) {
    return exchange.body === undefined || exchange.body === '' ? [] : ['a body where the document says none'];
  }
  if (!contentType || !types.includes(contentType)) {
    return [`content type ${contentType ?? 'none'} where the document says ${types.join(' or ')}`];
  }
  if (!contentType.endsWith('json')) return [];
  const result = api.validateResponse(exchange.body, operation, exchange.status);
  return result.valid
    ? []
    : (result.errors ?? []).map(
        (error) => `${error.instancePath || 'body'} ${error.message ?? 'does not match'}`,
      );
}
