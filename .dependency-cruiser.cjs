// The layer rules of issue #15, checked by `npm run lint:layers` (part of `npm test`).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment:
        'An import cycle makes the order of initialisation an accident; break it with a smaller module.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'domain-imports-nothing',
      comment:
        'libs/domain is pure deciders: no framework, no I/O, no other library (its tests may use fast-check).',
      severity: 'error',
      from: { path: '^libs/domain/src/', pathNot: '\\.spec\\.ts$' },
      to: { pathNot: '^libs/domain/src/' },
    },
    {
      name: 'libraries-never-import-apps',
      severity: 'error',
      from: { path: '^libs/' },
      to: { path: '^apps/' },
    },
    {
      name: 'apps-apart',
      comment: 'A service or the gateway never imports another app; they talk over NATS.',
      severity: 'error',
      from: { path: '^apps/(directory|messaging|gateway)/' },
      to: { path: '^apps/([^/]+)/', pathNot: '^apps/$1/' },
    },
    {
      name: 'composition-through-public-entries',
      comment: 'The composition root, scripts and benches use each app through its src/index.ts only.',
      severity: 'error',
      from: { path: '^(apps/system|scripts|bench)/' },
      to: { path: '^apps/(directory|messaging|gateway)/', pathNot: '^apps/[^/]+/src/index\\.ts$' },
    },
    {
      name: 'libraries-through-public-entries',
      comment: 'Outside a library, only its index.ts (the @focal/* alias) is reachable.',
      severity: 'error',
      from: { path: '^(apps|scripts|bench)/' },
      to: { path: '^libs/[^/]+/src/', pathNot: '^libs/[^/]+/src/index\\.ts$' },
    },
    {
      name: 'client-stands-alone',
      comment:
        'clients/typescript is published on its own: it knows the API by its OpenAPI document, never by our code.',
      severity: 'error',
      from: { path: '^clients/' },
      to: { path: '^(apps|libs|scripts|bench|test)/' },
    },
    {
      name: 'client-through-its-entry',
      comment: 'Outside the client, only its src/index.ts (the @focal/client alias) is reachable.',
      severity: 'error',
      from: { path: '^(apps|libs|scripts|bench|test)/' },
      to: { path: '^clients/[^/]+/src/', pathNot: '^clients/[^/]+/src/index\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
