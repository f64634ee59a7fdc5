import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

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
});
