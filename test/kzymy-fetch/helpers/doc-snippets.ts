/**
 * The configuration blocks of docs/clients/*.md, so tests run exactly what the docs tell users
 * to write. A block is marked by the line `<!-- tested: NAME -->` right before its fence.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../src/util/project-root';

export function docSnippet(doc: string, name: string): string {
  const text = readFileSync(join(projectRoot(), 'docs', doc), 'utf8');
  const marker = `<!-- tested: ${name} -->`;
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`docs/${doc} has no block marked ${marker}`);
  const open = /```[^\n]*\n/.exec(text.slice(at));
  if (!open) throw new Error(`docs/${doc}: no code block after ${marker}`);
  const start = at + open.index + open[0].length;
  const end = text.indexOf('\n```', start - 1);
  return text.slice(start, end + 1);
}

/** Replaces each placeholder, insisting that it occurs (a renamed one must fail the test). */
export function fillIn(snippet: string, values: Record<string, string>): string {
  let out = snippet;
  for (const [placeholder, value] of Object.entries(values)) {
    if (!out.includes(placeholder))
      throw new Error(`placeholder ${placeholder} not in:\n${snippet}`);
    out = out.split(placeholder).join(value);
  }
  return out;
}
