/** Reading what kzymy-fetch (or procmail, fetchmail, getmail) delivered, for assertions. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The messages in a Maildir's new/ (and cur/), in name order. */
export function readMaildir(dir: string): Buffer[] {
  const files: string[] = [];
  for (const sub of ['new', 'cur']) {
    const path = join(dir, sub);
    if (!existsSync(path)) continue;
    for (const name of readdirSync(path).sort()) files.push(join(path, name));
  }
  return files.map((file) => readFileSync(file));
}

/** An mboxrd file's messages, with the ">From " quoting undone and the separators removed. */
export function readMbox(file: string): Buffer[] {
  const text = readFileSync(file, 'latin1');
  const starts: number[] = [];
  const pattern = /(^|\n)From /g;
  for (let match = pattern.exec(text); match; match = pattern.exec(text)) {
    starts.push(match.index + (match[1] ? 1 : 0));
  }
  return starts.map((start, i) => {
    const entry = text.slice(start, starts[i + 1] ?? text.length);
    const body = entry.slice(entry.indexOf('\n') + 1).replace(/\n$/, '');
    return Buffer.from(body.replace(/^>(>*From )/gm, '$1'), 'latin1');
  });
}

/** Messages compared as a set of strings (delivery order is not what these tests are about). */
export function asSortedStrings(messages: readonly Buffer[]): string[] {
  return messages.map((m) => m.toString('latin1')).sort();
}
