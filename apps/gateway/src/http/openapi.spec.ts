import { Validator } from '@seriousme/openapi-schema-validator';

import { GATEWAY_CONTROLLERS } from '../gateway.module.js';
import { openApiDocument } from './openapi.js';
import { OPERATION, type OperationSpec } from './operation.js';
import { REASONS_BY_STATUS } from './problem.js';

type Json = Record<string, unknown>;

/** Every operation's spec, by controller and handler name, as the document is built from them. */
const specs = GATEWAY_CONTROLLERS.flatMap((controller) =>
  Object.getOwnPropertyNames(controller.prototype).flatMap((name) => {
    const handler = (controller.prototype as unknown as Record<string, unknown>)[name];
    if (name === 'constructor' || typeof handler !== 'function') return [];
    const spec = Reflect.getMetadata(OPERATION, handler) as OperationSpec | undefined;
    return spec ? [{ name: `${controller.name}.${name}`, spec }] : [];
  }),
);

describe('the OpenAPI document', () => {
  const document = openApiDocument(GATEWAY_CONTROLLERS);

  it('is valid OpenAPI 3.1', async () => {
    const result = await new Validator().validate(JSON.parse(JSON.stringify(document)));
    expect(result).toEqual({ valid: true });
  });

  it('names every operation once, documents its problems as problem+json, and asks for a token unless public', () => {
    const operations = Object.entries(document.paths ?? {}).flatMap(([path, item]) =>
      Object.entries(
        item as Record<string, { operationId?: string; responses?: object; security?: unknown[] }>,
      ).map(([method, operation]) => ({ path, method, ...operation })),
    );
    expect(operations.length).toBeGreaterThan(30);
    const ids = operations.map((operation) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const operation of operations) {
      const responses = operation.responses as Record<string, { content?: Record<string, unknown> }>;
      for (const [status, response] of Object.entries(responses)) {
        // Every error can be a problem; readiness's 503 may also be its JSON checks.
        if (Number(status) >= 400)
          expect(Object.keys(response.content ?? {})).toContain('application/problem+json');
      }
      expect(Object.keys(responses)).toEqual(expect.arrayContaining(['429', '500', '503']));
      if (operation.security === undefined) expect(Object.keys(responses)).toContain('401');
    }
  });

  it('shows an example of every request body, which the body’s own schema takes', () => {
    const bodies = specs.filter(({ spec }) => spec.body);
    expect(bodies.length).toBeGreaterThan(20);
    for (const { name, spec } of bodies) {
      const examples = (spec.body!.meta()?.examples ?? []) as unknown[];
      expect({ name, examples: examples.length > 0 }).toEqual({ name, examples: true });
      for (const example of examples) {
        const parsed = spec.body!.safeParse(example);
        expect({ name, example, issues: parsed.error?.issues ?? [] }).toEqual({ name, example, issues: [] });
      }
    }
  });

  it('lists the reasons of each problem the gateway alone decides, with an example of each problem', () => {
    const json = JSON.parse(JSON.stringify(document)) as { paths: Json; components: { schemas: Json } };
    const resolve = (schema: Json) =>
      (typeof schema.$ref === 'string' ? json.components.schemas[schema.$ref.split('/').pop()!] : schema) as {
        properties: { reason: { enum?: string[] } };
      };
    let checked = 0;
    for (const item of Object.values(json.paths) as Json[]) {
      for (const operation of Object.values(item) as { responses: Json }[]) {
        for (const [status, response] of Object.entries(operation.responses)) {
          const problem = (response as { content?: Json }).content?.['application/problem+json'] as
            { schema: Json; example?: { status: number; reason: string } } | undefined;
          if (!problem) continue;
          const known = REASONS_BY_STATUS[Number(status) as keyof typeof REASONS_BY_STATUS];
          const reasons = resolve(problem.schema).properties.reason.enum;
          expect({ status, reasons }).toEqual({ status, reasons: known });
          expect(problem.example?.status).toBe(Number(status));
          if (reasons) expect(reasons).toContain(problem.example!.reason);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(300);
  });
});
