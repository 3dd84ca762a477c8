import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import regexp from 'eslint-plugin-regexp';

// Every package's shipped code: any pattern here may see text from senders (docs/security.md).
const SOURCES = ['*/src/**/*.ts', 'cli/bin/**/*.js', 'browser-sdk/src/**/*.ts'];

// dispatchers/src has three bounded folders (ARCHITECTURE.md): a file reaches another folder only
// through its index.ts, and runtime imports run one way: pipeline → intelligence; alerts → pipeline,
// intelligence; the composition root (src/*.ts) → all. Types may point back (Sink, EnrichedEvent, …).
const DISPATCHER_FOLDERS = ['pipeline', 'intelligence', 'alerts'];
const DISPATCHER_ROOT_FILES =
  'config|dispatcher|replay|sink-pipeline|dead-letter-replay|metrics|pipeline-health|index';
/** A runtime import of these folders (or of the composition root's files) from `folder` fails lint. */
function dispatcherLayer(folder, forbidden, root) {
  const patterns = forbidden.map((other) => ({
    regex: `(^|/)${other}/index\\.js$`,
    allowTypeImports: true,
    message: `dispatchers/src/${folder}/ must not import ${other}/ at runtime (import type is fine): see ARCHITECTURE.md.`,
  }));
  if (root)
    patterns.push({
      regex: `^(\\.\\./)+(${DISPATCHER_ROOT_FILES})\\.js$`,
      allowTypeImports: true,
      message: `dispatchers/src/${folder}/ must not import the composition root at runtime (import type is fine).`,
    });
  return {
    files: [`dispatchers/src/${folder}/**/*.ts`],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns }] },
  };
}

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.telltale/**', 'benchmarks/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  { ...regexp.configs['flat/recommended'], files: SOURCES },
  {
    files: SOURCES,
    rules: {
      // ReDoS: the checker proves each pattern linear, or the build fails.
      'regexp/no-super-linear-backtracking': 'error',
      // ignoreSticky: a sticky (y) pattern is tried at one position only, so it cannot move; partials (the
      // IDENT pieces of new RegExp(...)) are checked where they are assembled, not alone.
      'regexp/no-super-linear-move': ['error', { ignoreSticky: true, ignorePartial: true }],
      'regexp/no-misleading-capturing-group': 'error',
      // Style-only rules of the recommended set: they would rewrite others' working patterns for no gain.
      'regexp/prefer-w': 'off',
      'regexp/use-ignore-case': 'off',
    },
  },
  {
    // In the SDK a capturing group is two bytes smaller than (?:…), and the bundle budget counts bytes.
    files: ['browser-sdk/src/**/*.ts'],
    rules: { 'regexp/no-unused-capturing-group': 'off' },
  },
  {
    files: ['dispatchers/src/**/*.ts', 'dispatchers/test/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: DISPATCHER_FOLDERS.map((folder) => ({
            regex: `(^|/)${folder}/(?!index\\.js$).+`,
            message: `Deep import into dispatchers/src/${folder}/: import through ${folder}/index.ts.`,
          })),
        },
      ],
      // \`import { type A } from\` still loads the module (verbatimModuleSyntax): only \`import type\` is type-only.
      '@typescript-eslint/no-import-type-side-effects': 'error',
    },
  },
  dispatcherLayer('pipeline', ['alerts'], true),
  dispatcherLayer('intelligence', ['pipeline', 'alerts'], true),
  dispatcherLayer('alerts', [], true),
  {
    // Tests read loosely-typed JSON answers; strictness there buys nothing.
    files: ['**/test/**/*.ts', 'test-support/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly' },
    },
  },
  {
    files: ['browser-sdk/demo/**/*.js'],
    languageOptions: {
      globals: { window: 'readonly', document: 'readonly', Telltale: 'readonly', setTimeout: 'readonly' },
    },
  },
);
