/**
 * Every target in fuzz/targets/, found by listing the compiled directory: a new target is one
 * new file, nothing to register.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FuzzTarget } from './target';

const TARGETS_DIR = join(__dirname, '..', 'targets');

export function targetNames(): string[] {
  return readdirSync(TARGETS_DIR)
    .filter((file) => file.endsWith('.js'))
    .map((file) => file.slice(0, -'.js'.length))
    .sort();
}

export function loadTarget(name: string): FuzzTarget {
  if (!targetNames().includes(name)) {
    throw new Error(`no fuzz target "${name}" (have: ${targetNames().join(', ')})`);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const module = require(join(TARGETS_DIR, `${name}.js`)) as { default?: FuzzTarget };
  const target = module.default;
  if (!target || target.name !== name) {
    throw new Error(
      `fuzz/targets/${name}.ts must default-export defineTarget({ name: '${name}' })`,
    );
  }
  return target;
}
