// Jest runs the TypeScript sources as ESM (NestJS 12 is ESM only); see ../shared/TOOLCHAIN.md.
// ts-jest only transpiles here: `npm run typecheck` is the type check.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  testMatch: ['<rootDir>/{apps,libs,test}/**/*.{spec,int-spec,e2e-spec}.ts'],
  moduleNameMapper: {
    '^@focal/events$': '<rootDir>/libs/events/src/index.ts',
    '^@focal/domain$': '<rootDir>/libs/domain/src/index.ts',
    '^@focal/contracts$': '<rootDir>/libs/contracts/src/index.ts',
    '^@focal/service$': '<rootDir>/libs/service/src/index.ts',
    '^@focal/audit$': '<rootDir>/libs/audit/src/index.ts',
    '^@focal/client$': '<rootDir>/clients/typescript/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  globalSetup: '<rootDir>/test/global-setup.ts',
  testTimeout: 60_000,
  // A failed test can leave a system whose store is held still running (the stuck-store test, when it failed
  // mid-way on 2026-11-28, kept Jest alive at the end of the run): the run ends when the tests do, red or green,
  // instead of at CI's time limit. Passing runs stop everything they start (each file exits on its own).
  forceExit: true,
  // On two cores Jest would run every file in its own process, one after another, and what each file leaves
  // in the heap stays until the run ends: the full run reached the default heap limit (about 4 GB) in its last
  // file on 2026-12-06, and with 8 GB it spent its time collecting garbage, starving the systems under test.
  // With this limit the files run in a worker that is replaced whenever a file leaves it holding more.
  workerIdleMemoryLimit: '1.5GB',
};
