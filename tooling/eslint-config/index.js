// Shared ESLint flat config: the recommended JS and TypeScript rules, with the few exceptions
// our code relies on (underscore-prefixed unused names, `any` at JSON boundaries in tests).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export const tetherConfig = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'artifacts/**', 'results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-empty': ['error', { allowEmptyCatch: false }],
      // TypeScript checks names itself; the rule only misfires on Node globals in .mjs fixtures.
      'no-undef': 'off',
    },
  },
  {
    files: ['**/*.test.ts', '**/*.test.tsx', '**/test-fixtures/**', '**/test-support/**'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);

export default tetherConfig;
