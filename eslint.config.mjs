// One lint for the harness, its tests and scripts: ESLint's and typescript-eslint's recommended
// rules, the type-checked ones where there are types (tsconfig.test.json covers harness/src and
// test/). Formatting is Prettier's (.prettierrc.json); `npm run lint` checks both, `npm run
// format` applies both.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Fixtures are other people's code on purpose (a module author's repo, captured outputs).
  { ignores: ['dist/', 'node_modules/', '.kmod-harness/', 'reports/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // An abort signal's reason is rethrown as it came (it is `any` in the DOM types).
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // `_name` says: deliberately unused (a destructured field left out, a parameter kept for its position).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // vitest's asymmetric matchers (expect.stringMatching, expect.any, ...) are typed `any`.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      // Fakes implement async interfaces with values at hand.
      '@typescript-eslint/require-await': 'off',
    },
  },
  { files: ['**/*.mjs', '**/*.js'], ...tseslint.configs.disableTypeChecked },
);
