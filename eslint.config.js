import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    // The domain is pure: no framework, no transport, no database, no Node I/O (SPEC §2, STYLE.md).
    files: ['libs/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '@nestjs/*',
                'nats',
                '@nats-io/*',
                'pg',
                'pg-*',
                '@electric-sql/*',
                '@eventstore/*',
                '@focal/events',
              ],
              message: 'libs/domain stays pure: frameworks, transports and stores belong at the edges.',
            },
            {
              group: [
                'node:*',
                'fs',
                'fs/*',
                'net',
                'http',
                'https',
                'child_process',
                'dgram',
                'dns',
                'os',
                'worker_threads',
              ],
              message: 'libs/domain does no I/O: time and ids come in with the command.',
            },
            {
              group: ['**/apps/**', '**/libs/events/**'],
              message: 'libs/domain depends on nothing else in Focal.',
            },
          ],
        },
      ],
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
    },
  },
);
