// Lint: typescript-eslint with type information, the determinism rule, and layering.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { determinismBlock } from './eslint.determinism.js';

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'coverage/**', 'test/lint/fixtures/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': [
        'error',
        { considerDefaultExhaustiveForUnions: true, requireDefaultForNonUnion: false },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        { allowNumber: true, allowBoolean: true },
      ],
      eqeqeq: ['error', 'always'],
    },
  },
  determinismBlock,
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
