/**
 * The set-ups as docs/clients/ shows them: each guide holds, between two marker lines, the
 * Markdown this file makes for the example server. `checkClientDocs` (run by the tests) finds
 * every block that differs; `writeClientDocs` (write-docs.ts) rewrites them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientSetup } from './index';
import type { MailServer } from './servers';
import { passwordFileCommands, type ClientId, type ClientSetup, type Protocol } from './setup';

/** The server and user the guides are written for; a user replaces these two. */
export const EXAMPLE_SERVER: MailServer = {
  host: 'YOUR-SERVER.onion',
  via: 'onion',
  imapPort: 143,
  pop3Port: 110,
};
export const EXAMPLE_USER = 'YOUR-USERNAME';

export type DocBlock =
  | { doc: string; kind: 'setup'; client: ClientId; protocol: Protocol }
  | { doc: string; kind: 'password' };

export const DOC_BLOCKS: readonly DocBlock[] = [
  { doc: 'clients/README.md', kind: 'password' },
  { doc: 'clients/kzymy-fetch.md', kind: 'setup', client: 'kzymy-fetch', protocol: 'imap' },
  { doc: 'clients/kzymy-fetch.md', kind: 'setup', client: 'kzymy-fetch', protocol: 'pop3' },
  { doc: 'clients/fetchmail.md', kind: 'setup', client: 'fetchmail', protocol: 'imap' },
  { doc: 'clients/fetchmail.md', kind: 'setup', client: 'fetchmail', protocol: 'pop3' },
  { doc: 'clients/getmail.md', kind: 'setup', client: 'getmail', protocol: 'imap' },
  { doc: 'clients/getmail.md', kind: 'setup', client: 'getmail', protocol: 'pop3' },
  { doc: 'clients/mbsync.md', kind: 'setup', client: 'mbsync', protocol: 'imap' },
  { doc: 'clients/offlineimap.md', kind: 'setup', client: 'offlineimap', protocol: 'imap' },
  { doc: 'clients/neomutt.md', kind: 'setup', client: 'neomutt', protocol: 'imap' },
  { doc: 'clients/neomutt.md', kind: 'setup', client: 'neomutt', protocol: 'pop3' },
];

function blockName(block: DocBlock): string {
  return block.kind === 'password' ? 'password file' : `${block.client} ${block.protocol}`;
}

function markers(block: DocBlock): { begin: string; end: string } {
  const name = blockName(block);
  return {
    begin: `<!-- generated from src/client-settings: ${name} -->`,
    end: `<!-- end of generated: ${name} -->`,
  };
}

function fence(text: string, info = ''): string {
  return '```' + info + '\n' + text.replace(/\n$/, '') + '\n```';
}

/** A set-up as Markdown: its files, the commands to run once, and the command that fetches. */
export function setupMarkdown(setup: ClientSetup): string {
  const parts: string[] = [];
  for (const file of setup.files) parts.push(`\`${file.path}\`:`, fence(file.text));
  if (setup.prepare.length > 0) parts.push('Once:', fence(setup.prepare.join('\n'), 'sh'));
  parts.push('Fetch:', fence(setup.run, 'sh'));
  return parts.join('\n\n');
}

export function blockMarkdown(block: DocBlock): string {
  if (block.kind === 'password') return fence(passwordFileCommands().join('\n'), 'sh');
  return setupMarkdown(clientSetup(block.client, EXAMPLE_SERVER, EXAMPLE_USER, block.protocol));
}

/** The text between a block's markers in `text`, or null when the markers are missing. */
export function blockIn(text: string, block: DocBlock): string | null {
  const { begin, end } = markers(block);
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start < 0 || stop < start) return null;
  return text.slice(start + begin.length, stop).trim();
}

/** Every block that is missing or differs from what src/client-settings makes. */
export function checkClientDocs(docsDir: string): string[] {
  const problems: string[] = [];
  for (const block of DOC_BLOCKS) {
    const found = blockIn(readFileSync(join(docsDir, block.doc), 'utf8'), block);
    if (found === null) problems.push(`docs/${block.doc}: no block "${blockName(block)}"`);
    else if (found !== blockMarkdown(block))
      problems.push(`docs/${block.doc}: block "${blockName(block)}" differs`);
  }
  return problems;
}

/** Rewrites every block whose markers are present; returns the blocks it could not find. */
export function writeClientDocs(docsDir: string): string[] {
  const missing: string[] = [];
  for (const block of DOC_BLOCKS) {
    const file = join(docsDir, block.doc);
    const text = readFileSync(file, 'utf8');
    const { begin, end } = markers(block);
    const start = text.indexOf(begin);
    const stop = text.indexOf(end);
    if (start < 0 || stop < start) {
      missing.push(`docs/${block.doc}: ${begin} … ${end}`);
      continue;
    }
    const next =
      text.slice(0, start + begin.length) +
      '\n\n' +
      blockMarkdown(block) +
      '\n\n' +
      text.slice(stop);
    if (next !== text) writeFileSync(file, next);
  }
  return missing;
}
