import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { CLIENT_DIR, clientFiles } from './client-files.js';

/** `npm run client:generate`: writes the OpenAPI document and its TypeScript types into clients/typescript. */
for (const [path, content] of Object.entries(await clientFiles())) {
  const file = join(CLIENT_DIR, path);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, content);
  console.log(`wrote ${file}`);
}
