import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'shim/',
      'src/api/generated/',
      'src/cri/generated/',
      'eslint.config.js',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Type-aware rules: the daemon is all async, and a promise nobody awaits loses its error.
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test collects these itself.
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // The runtime library stands alone: the layers above it build on it, never the reverse.
    files: ['src/runtime/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                '**/supervisor/**',
                '**/api/**',
                '**/cri/**',
                '**/cli/**',
                '**/daemon/**',
                '**/images/**',
                '**/index.js',
              ],
              message: 'src/runtime must not import the layers above it (or the package entry).',
            },
          ],
        },
      ],
    },
  },
  {
    // Above the runtime, its internals are reached through its one entry point.
    files: ['src/**/*.ts'],
    ignores: ['src/runtime/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/runtime/**', '!**/runtime/index.js'],
              message: 'import the runtime library from src/runtime/index.js only.',
            },
          ],
        },
      ],
    },
  },
  {
    // The CRI is a layer of its own above the supervisor and the API: the
    // layers it builds on never import it.
    files: ['src/supervisor/**/*.ts', 'src/api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/runtime/**', '!**/runtime/index.js'],
              message: 'import the runtime library from src/runtime/index.js only.',
            },
            {
              group: ['**/cri/**'],
              message: 'src/cri builds on the supervisor and the API, not the reverse.',
            },
          ],
        },
      ],
    },
  },
  {
    // The images layer sits beside the runtime library, below the CLI, the CRI and berthd.
    files: ['src/images/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/runtime/**', '!**/runtime/index.js'],
              message: 'import the runtime library from src/runtime/index.js only.',
            },
            {
              group: ['**/cli/**', '**/daemon/**', '**/api/**', '**/supervisor/**', '**/cri/**'],
              message: 'src/images must not import the layers above it.',
            },
          ],
        },
      ],
    },
  },
);
