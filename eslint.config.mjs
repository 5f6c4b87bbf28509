// Lint rules: typescript-eslint's recommended set plus the privacy rule that keeps raw console
// output (which bypasses the structured logger and its redaction) out of the server code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'var/', 'test-artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['src/**/*.ts', 'haraka-plugins/**/*.ts'],
    ignores: ['src/cli/**', 'src/fetch/cli.ts'],
    rules: { 'no-console': 'error' },
  },
);
