// Lint rules the formatter cannot check. Formatting itself is Prettier's (`.prettierrc.json`);
// `pnpm lint` runs both, and knip for unused files, exports and dependencies.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.ci/out/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // A local named `process`, `name` or `URL` hides the global the next reader expects.
      'no-shadow': 'off',
      '@typescript-eslint/no-shadow': [
        'error',
        {
          builtinGlobals: true,
          hoist: 'never',
          allow: ['QuotaExceededError'],
          ignoreTypeValueShadow: true,
          ignoreFunctionTypeParameterNameValueShadow: true,
        },
      ],
      'max-len': [
        'error',
        { code: 160, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true },
      ],
      // Untyped JSON from the wire is narrowed where it is read; `any` there is deliberate.
      '@typescript-eslint/no-explicit-any': 'off',
      // A `let` a closure reads before its one assignment (wired after the closure is built).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  { files: ['apps/api/src/dashboard/**/*.js'], languageOptions: { globals: { ...globals.browser } } },
  {
    // Packages decide; only apps read the environment (config is validated once per process).
    files: ['packages/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Packages never read process.env: take typed options from the app (see @sluice/config).',
        },
      ],
    },
  },
);
