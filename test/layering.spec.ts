import { ESLint } from 'eslint';

// The layering rule lives in eslint.config.js and runs in `npm test` through `npm run lint`; this proves
// that it fires.
describe('libs/domain stays pure', () => {
  const eslint = new ESLint();
  const lint = async (source: string, filePath: string) => {
    const [result] = await eslint.lintText(source, { filePath });
    return result!.messages
      .filter((message) => message.ruleId === 'no-restricted-imports')
      .map((m) => m.message);
  };

  it.each([
    "import { Injectable } from '@nestjs/common';",
    "import { connect } from '@nats-io/transport-node';",
    "import pg from 'pg';",
    "import { PGlite } from '@electric-sql/pglite';",
    "import { readFileSync } from 'node:fs';",
    "import { randomUUID } from 'node:crypto';",
    "import { openPostgresEventStore } from '@focal/events';",
  ])('refuses %s in the domain', async (source) => {
    expect(await lint(`${source}\nexport {};\n`, 'libs/domain/src/state/state.ts')).toHaveLength(1);
  });

  it('allows the same import at the edges', async () => {
    expect(await lint("import pg from 'pg';\nexport const p = pg;\n", 'libs/events/src/sql/x.ts')).toEqual(
      [],
    );
  });
});
