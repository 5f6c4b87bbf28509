/**
 * The self-hosted assets (stylesheet, scripts), read once at startup from src/web/static/ —
 * tsc does not copy them to dist/, and projectRoot() finds the same folder from both. Served
 * from memory with fixed names only, so no request path ever reaches the file system.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { projectRoot } from '../util/project-root';

const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

export interface StaticAsset {
  body: Buffer;
  type: string;
}

export type StaticAssets = ReadonlyMap<string, StaticAsset>;

export function staticDir(): string {
  return join(projectRoot(), 'src', 'web', 'static');
}

/** The files every page family relies on; a missing one is a startup error, not a broken page. */
const REQUIRED = ['style.css', 'pow.js', 'pow-worker.js', 'copy.js'];

export function loadStaticAssets(dir = staticDir()): StaticAssets {
  const assets = new Map<string, StaticAsset>();
  const names = existsSync(dir) ? readdirSync(dir) : [];
  const missing = REQUIRED.filter((name) => !names.includes(name));
  if (missing.length > 0) {
    throw new Error(
      `web: ${missing.join(', ')} not found in ${dir} (an install must ship src/web/static/ next to dist/)`,
    );
  }
  for (const name of names) {
    const type = TYPES[extname(name)];
    if (type) assets.set(name, { body: readFileSync(join(dir, name)), type });
  }
  return assets;
}
