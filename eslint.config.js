// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-plugin-prettier/recommended';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const CONTEXTS = 'accounts|interviews|realtime|emotion|scoring|workers';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'data/**', 'e2e/artifacts/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', '*.ts', 'scripts/*.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Contexts meet only through their index.ts; nothing reaches into another context's files.
    files: ['apps/server/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^\\.{1,2}/(\\.\\./)*(${CONTEXTS})/(?!index\\.ts$)`,
              message: 'Import another context only through its index.ts.',
            },
          ],
        },
      ],
    },
  },
  {
    // Infrastructure never imports a context or a role.
    files: ['apps/server/src/infra/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^\\.\\./(\\.\\./)*(${CONTEXTS}|roles)(/|$)`,
              message: 'infra/ must not depend on a context or a role.',
            },
            {
              regex: '^\\.\\./\\.\\./(container|app)\\.ts$',
              message: 'infra/ must not depend on the composition root.',
            },
          ],
        },
      ],
    },
  },
  {
    // The web app imports only the shared contracts.
    files: ['apps/web/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@parley/*', '!@parley/contracts'], message: 'The web app imports only @parley/contracts.' },
            {
              regex: '^(\\.\\./)+(\\.\\./)(server|packages|e2e)(/|$)',
              message: 'The web app imports only @parley/contracts.',
            },
          ],
        },
      ],
    },
  },
  {
    // Tests read JSON answers loosely; the assertions are the type check.
    files: ['**/*.test.ts', '**/*.suite.ts', 'apps/server/src/shared/testing/**/*.ts', 'bench/api.bench.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  prettier,
);
