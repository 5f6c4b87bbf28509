// Lint rules: typescript-eslint's recommended set, the privacy rule that keeps raw console
// output (which bypasses the structured logger and its redaction) out of the server code, and
// the boundaries: each library with a wide surface is imported by one folder of src/ only.
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
    ignores: ['src/cli/**', 'src/kzymy-fetch/cli.ts'],
    rules: { 'no-console': 'error' },
  },
  ...boundaries({
    openpgp: 'src/pgp/',
    ioredis: 'src/redis/',
    mongodb: 'src/store/',
    'better-sqlite3': 'src/store/',
  }),
);

/**
 * Each library may be imported only under its owner folder. ESLint lets a later block replace a
 * rule, not extend it, so every file set gets one complete list: all libraries for src/ as a
 * whole, then for each owner folder all libraries but its own.
 */
function boundaries(owners) {
  const rule = (allowedOwner) => [
    'error',
    {
      paths: Object.entries(owners)
        .filter(([, owner]) => owner !== allowedOwner)
        .map(([name, owner]) => ({ name, message: `only ${owner} imports ${name}` })),
    },
  ];
  return [
    {
      files: ['src/**/*.ts', 'haraka-plugins/**/*.ts'],
      rules: { 'no-restricted-imports': rule() },
    },
    ...[...new Set(Object.values(owners))].map((owner) => ({
      files: [`${owner}**/*.ts`],
      rules: { 'no-restricted-imports': rule(owner) },
    })),
  ];
}
