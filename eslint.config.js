import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The platform and the agent talk through @flowgate/protocol and nothing else: neither
 * imports the other's code (the platform only spawns the agent's command, found by
 * require.resolve in packages/server/src/package-paths.ts).
 */
const importsAcross = (other) => ({
  patterns: [
    {
      group: [`@flowgate/${other}`, `@flowgate/${other}/*`],
      message: `Share it through @flowgate/protocol (or @flowgate/core): the platform and the agent do not import each other.`,
    },
    {
      group: [`**/${other}/src/**`, `**/packages/${other}/**`],
      message: `Share it through @flowgate/protocol (or @flowgate/core): the platform and the agent do not import each other.`,
    },
  ],
});

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'data/**', 'packages/web/src/api/openapi.gen.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        performance: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        crypto: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/no-empty-object-type': 'off',
    },
  },
  {
    // CommonJS on purpose: what Node-RED loads with require() (packages/agent/src/node-red-settings*.cjs)
    // and the editor token check it shares with the platform (packages/core/src/editor-token-check.cjs).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  // The browser's globals only where code runs in one: the web UI, and the callbacks e2e tests hand to the page.
  { files: ['packages/web/**', 'e2e/**'], languageOptions: { globals: { document: 'readonly', window: 'readonly' } } },
  // A promise nobody awaits loses its failure: an unhandled rejection, or a refusal never answered.
  // Type-aware, so these read the TypeScript program (the tsconfig each file belongs to).
  {
    files: ['packages/*/src/**/*.ts', 'packages/*/src/**/*.tsx', 'packages/*/test/**/*.ts', 'e2e/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test() and describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    // React ignores what an event handler returns; the web UI's async handlers report their own failures (useAction).
    files: ['packages/web/src/**/*.tsx'],
    rules: { '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }] },
  },
  { files: ['packages/server/**'], rules: { 'no-restricted-imports': ['error', importsAcross('agent')] } },
  { files: ['packages/agent/**'], rules: { 'no-restricted-imports': ['error', importsAcross('server')] } },
);
