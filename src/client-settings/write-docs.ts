/**
 * Rewrites the generated blocks of docs/clients/ from src/client-settings:
 *   node dist/src/client-settings/write-docs.js
 * Run it after changing a set-up; test/clients/docs.test.ts fails until the docs agree.
 */
import { join } from 'node:path';
import { projectRoot } from '../util/project-root';
import { writeClientDocs } from './docs-blocks';

const missing = writeClientDocs(join(projectRoot(), 'docs'));
for (const line of missing) process.stderr.write(`missing markers: ${line}\n`);
process.exitCode = missing.length > 0 ? 1 : 0;
