// @ts-check
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', '.sluice/**', 'bin/**', '.venv-lightgbm/**', '.venv-schemathesis/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no I/O, no Node builtins, and only
    // *types* from activities, the API, or the SDK's client/worker packages.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'Workflows must not do I/O; move this into an activity.' })),
          patterns: [
            { group: ['**/activities/**', '**/api/**', '**/workers/**'], allowTypeImports: true, message: 'Workflows import activities as types only (proxyActivities).' },
            { group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity', 'minio', '@duckdb/*', 'onnxruntime-node', 'express'], allowTypeImports: true, message: 'Not available in the workflow sandbox.' },
          ],
        },
      ],
    },
  },
  // The layers (CONTRIBUTING.md): each folder imports only what sits below it, so the API never pulls in
  // the pipeline's engines and no activity reaches a workflow or a Temporal client except through ports.
  ...[
    { files: ['shared/**/*.ts', 'formats/**/*.ts'], banned: ['activities', 'domain', 'control', 'workflows', 'api', 'cli', 'workers', 'scripts', 'test'], why: 'shared/ and formats/ import nothing of ours' },
    { files: ['domain/**/*.ts'], banned: ['activities', 'control', 'workflows', 'api', 'cli', 'workers', 'scripts', 'test'], why: 'domain/ holds the platform logic: no Temporal roles, no API' },
    { files: ['activities/**/*.ts'], banned: ['control', 'workflows', 'api', 'cli', 'workers', 'scripts', 'test'], why: 'activities reach Temporal only through ports the worker injects' },
    { files: ['control/**/*.ts'], banned: ['activities', 'api', 'cli', 'workers', 'scripts', 'test'], why: 'control/ is the Temporal client: it knows workflows, not activities' },
    { files: ['api/**/*.ts'], banned: ['activities', 'workers', 'cli', 'scripts', 'test'], why: 'the API serves from domain/ and control/ only' },
  ].map(({ files, banned, why }) => ({
    files,
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        // Relative paths only climb to the root and down again: `../../api/x.ts`, never `shared/api/`'s `./api/x.ts`.
        { patterns: [{ regex: `^(\\.\\./)+(${banned.join('|')})/`, message: why }] },
      ],
    },
  })),
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
