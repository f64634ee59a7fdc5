import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { createFocalClient, expectOk, FocalProblemError, ifMatch, positionOf } from '@focal/client';

import { CLIENT_DIR, clientFiles } from '../scripts/client-files.js';

/*
 * The typed client is generated from the OpenAPI document the code builds; its generated files are committed.
 * Regenerated here in memory, they must be the committed ones byte for byte: a route or schema changed without
 * `npm run client:generate` fails here, so the document, the client and its users cannot drift apart.
 */
describe('the typed client (clients/typescript)', () => {
  it('is generated from the OpenAPI document as the code builds it now', async () => {
    const generated = await clientFiles();
    expect(Object.keys(generated).sort()).toEqual(['openapi.json', 'src/schema.ts']);
    for (const [path, content] of Object.entries(generated)) {
      const committed = await readFile(join(CLIENT_DIR, path), 'utf8').catch(() => '(missing)');
      if (committed !== content) {
        const lines = committed.split('\n');
        const at = content.split('\n').findIndex((line, index) => line !== lines[index]);
        throw new Error(
          `clients/typescript/${path} is not what the code generates (first difference at line ${at + 1}): ` +
            'run npm run client:generate and commit the result',
        );
      }
    }
  });

  it('sends the token, the typed parameters and body, and turns a problem into a FocalProblemError', async () => {
    const sent: Request[] = [];
    const answers = [
      new Response(JSON.stringify({ id: 'i', version: 2, position: '17' }), {
        status: 200,
        headers: { 'content-type': 'application/json', 'focal-position': '17' },
      }),
      new Response(
        JSON.stringify({
          type: 'urn:focal:problem:version-mismatch',
          title: 'Precondition failed',
          status: 412,
          detail: 'liaison-organisation-i is no longer at version 2',
          reason: 'version-mismatch',
        }),
        { status: 412, headers: { 'content-type': 'application/problem+json' } },
      ),
    ];
    const focal = createFocalClient({
      baseUrl: 'http://focal.test/',
      token: 'T0K3N',
      fetch: async (request) => {
        sent.push(request);
        return answers.shift()!;
      },
    });
    const change = () =>
      focal.PATCH('/v1/liaison-organisations/{id}', {
        params: { path: { id: 'i' }, header: { 'If-Match': ifMatch(1) } },
        body: { acronym: 'ICC-CPI' },
      });

    const changed = await change();
    expect(expectOk(changed)).toEqual({ id: 'i', version: 2, position: '17' });
    expect(positionOf(changed.response)).toBe('17');
    expect(sent[0]!.url).toBe('http://focal.test/v1/liaison-organisations/i');
    expect(sent[0]!.method).toBe('PATCH');
    expect(sent[0]!.headers.get('authorization')).toBe('Bearer T0K3N');
    expect(sent[0]!.headers.get('if-match')).toBe('"1"');
    expect(await sent[0]!.json()).toEqual({ acronym: 'ICC-CPI' });

    const stale = await change();
    expect(stale.error?.reason).toBe('version-mismatch');
    let thrown: unknown;
    try {
      expectOk(stale);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(FocalProblemError);
    expect(thrown).toMatchObject({
      status: 412,
      problem: { reason: 'version-mismatch' },
      message: '412 version-mismatch: liaison-organisation-i is no longer at version 2',
    });
  });
});
