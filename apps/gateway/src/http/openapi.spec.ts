import { Validator } from '@seriousme/openapi-schema-validator';

import { GATEWAY_CONTROLLERS } from '../gateway.module.js';
import { openApiDocument } from './openapi.js';

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
});
