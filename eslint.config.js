import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers of src/, bottom up (ARCHITECTURE.md). Each may import only the
 * layers it lists (`below`), and the runtime library only through its entry,
 * src/runtime/index.ts. `cli` and `daemon` are the two executables, side by
 * side: neither imports the other. The CLI speaks berthd's v0.2.8 API (or runs
 * the library daemonless), never the CRI, so it does not import src/cri.
 * Patterns match the import as written: a folder named after a layer.
 */
const LAYERS = [
  { layer: 'runtime', below: [] },
  // Beside the runtime: it builds on it, the runtime never imports it.
  { layer: 'images', below: ['runtime'] },
  { layer: 'supervisor', below: ['runtime', 'images'] },
  { layer: 'api', below: ['runtime', 'images', 'supervisor'] },
  { layer: 'cri', below: ['runtime', 'images', 'supervisor', 'api'] },
  { layer: 'daemon', below: ['runtime', 'images', 'supervisor', 'api', 'cri'] },
  { layer: 'cli', below: ['runtime', 'images', 'supervisor', 'api'] },
];

function layerRules() {
  const names = LAYERS.map(({ layer }) => layer);
  return LAYERS.map(({ layer, below }) => {
    const barred = names.filter((name) => name !== layer && !below.includes(name));
    const patterns = [
      {
        group: barred.map((name) => `**/${name}/**`),
        message: below.length
          ? `src/${layer} may import only ${below.map((n) => `src/${n}`).join(', ')} (ARCHITECTURE.md's layers).`
          : `src/${layer} imports no other layer (ARCHITECTURE.md's layers).`,
      },
      layer === 'runtime'
        ? {
            // Its own entry (or the package's) would be an import cycle.
            group: ['**/index.js'],
            message: 'src/runtime imports its modules directly, never an index.',
          }
        : {
            group: ['**/runtime/**', '!**/runtime/index.js'],
            message: 'import the runtime library from src/runtime/index.js only.',
          },
    ];
    return {
      files: [`src/${layer}/**/*.ts`],
      rules: { 'no-restricted-imports': ['error', { patterns }] },
    };
  });
}

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
  ...layerRules(),
);
