import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { cruise, type IConfiguration, type ICruiseResult } from 'dependency-cruiser';

// `npm run lint:layers` checks the tree with .dependency-cruiser.cjs; this proves that each of its rules fires,
// on a small tree of fixtures laid out like ours.
const { forbidden } = createRequire(import.meta.url)('../.dependency-cruiser.cjs') as IConfiguration;

const FIXTURES: Record<string, string> = {
  'libs/domain/src/pure.ts': "import { readFileSync } from 'node:fs';\nexport const a = readFileSync;\n",
  'libs/domain/src/framework.ts':
    "import { Injectable } from '@nestjs/common';\nexport const b = Injectable;\n",
  'libs/domain/src/index.ts': 'export const c = 1;\n',
  'libs/events/src/index.ts':
    "import { d } from '../../../apps/gateway/src/inner.js';\nexport const e = d;\n",
  'libs/events/src/inner.ts': 'export const f = 1;\n',
  'apps/gateway/src/inner.ts': "import { g } from '../../directory/src/index.js';\nexport const d = g;\n",
  'apps/gateway/src/index.ts': "export { d } from './inner.js';\n",
  'apps/directory/src/index.ts':
    "import { f } from '../../../libs/events/src/inner.js';\nexport const g = f;\n",
  'scripts/tool.ts': "import { d } from '../apps/gateway/src/inner.js';\nexport const h = d;\n",
  'apps/system/src/one.ts': "import { two } from './two.js';\nexport const one = () => two;\n",
  'apps/system/src/two.ts': "import { one } from './one.js';\nexport const two = () => one;\n",
};

describe('the layer rules', () => {
  let root: string;
  let result: ICruiseResult;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'focal-layers-'));
    for (const [path, source] of Object.entries(FIXTURES)) {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), source);
    }
    const cwd = process.cwd();
    process.chdir(root);
    try {
      const cruised = await cruise(['libs', 'apps', 'scripts'], {
        ruleSet: { forbidden },
        validate: true,
        tsPreCompilationDeps: true,
        enhancedResolveOptions: { extensions: ['.ts', '.js'] },
      });
      result = cruised.output as ICruiseResult;
    } finally {
      process.chdir(cwd);
    }
  }, 120_000);

  afterAll(() => rm(root, { recursive: true, force: true }));

  const violations = (rule: string) =>
    result.summary.violations
      .filter((violation) => violation.rule.name === rule)
      .map((violation) => `${violation.from} → ${violation.to}`);

  it('keep the domain free of I/O and frameworks', () => {
    expect(violations('domain-imports-nothing')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^libs\/domain\/src\/pure\.ts → (node:)?fs$/),
        expect.stringMatching(/^libs\/domain\/src\/framework\.ts → @nestjs\/common$/),
      ]),
    );
  });

  it('keep libraries from importing apps, and apps from importing each other', () => {
    expect(violations('libraries-never-import-apps')).toEqual([
      'libs/events/src/index.ts → apps/gateway/src/inner.ts',
    ]);
    expect(violations('apps-apart')).toEqual(['apps/gateway/src/inner.ts → apps/directory/src/index.ts']);
  });

  it('reach apps and libraries through their public entries only', () => {
    expect(violations('composition-through-public-entries')).toEqual([
      'scripts/tool.ts → apps/gateway/src/inner.ts',
    ]);
    expect(violations('libraries-through-public-entries')).toEqual([
      'apps/directory/src/index.ts → libs/events/src/inner.ts',
    ]);
  });

  it('refuse cycles', () => {
    expect(violations('no-cycles')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^apps\/system\/src\/(one|two)\.ts → apps\/system\/src\/(one|two)\.ts$/),
      ]),
    );
  });
});
