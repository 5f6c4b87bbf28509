/**
 * kzymy-fetch's local delivery of a hostile (decrypted) message: the header reading in
 * src/kzymy-fetch/message-headers.ts (header block, unfolded fields, the envelope), and the two places
 * the envelope and the bytes go — an mbox entry (src/kzymy-fetch/deliver-mbox.ts, mboxrd) and an MDA
 * command line (src/kzymy-fetch/deliver-mda.ts, %F and %T shell-quoted).
 *
 * Crashes: any exception; an input slower than slowMs (the regular expressions must stay
 * linear); toUnixLineEndings doing anything but turn each CRLF into LF; an mbox entry whose
 * From_ line is not one line or that an mboxrd reader does not turn back into the message; an
 * expanded MDA command in which %F or %T is not one single-quoted shell word that reads back
 * as the envelope value.
 */
import * as fc from 'fast-check';
import { mboxEntry } from '../../src/kzymy-fetch/deliver-mbox';
import { expandMdaCommand } from '../../src/kzymy-fetch/deliver-mda';
import {
  envelopeOf,
  headerBlock,
  headerValue,
  toUnixLineEndings,
} from '../../src/kzymy-fetch/message-headers';
import { hostileBytes, tokens } from '../harness/bytes';
import { defineTarget, invariant } from '../harness/target';

const VOCABULARY = [
  'Return-Path:',
  'return-path:',
  'Delivered-To:',
  'From:',
  'To:',
  'Subject:',
  '<',
  '>',
  '<>',
  '\r\n',
  '\n',
  '\r\n\r\n',
  '\n\n',
  '\r\n ',
  '\r\n\t',
  ' ',
  'a@b.example',
  '"x y" <z@w>',
  'From ',
  '>From ',
  '\r',
  "'",
  '$(x)',
];

/** An mboxrd reader (the From_ line, the blank line after the entry, one ">" off "From "). */
function readMboxEntry(entry: string): { fromLine: string; body: string } {
  const newline = entry.indexOf('\n');
  const fromLine = entry.slice(0, newline);
  const rest = entry.slice(newline + 1);
  const body = rest.endsWith('\n') ? rest.slice(0, -1) : rest;
  const lines = body.split('\n').map((line) => (/^>+From /.test(line) ? line.slice(1) : line));
  return { fromLine, body: lines.join('\n') };
}

/** POSIX sh: the words of a command line made of plain and single-quoted parts. */
function shellWords(command: string): string[] | null {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i] as string;
    if (c === ' ') {
      if (word !== null) words.push(word);
      word = null;
    } else if (c === "'") {
      const close = command.indexOf("'", i + 1);
      if (close < 0) return null;
      word = (word ?? '') + command.slice(i + 1, close);
      i = close;
    } else if (c === '\\' && i + 1 < command.length) {
      word = (word ?? '') + command[++i];
    } else if (/[a-z%-]/.test(c)) {
      word = (word ?? '') + c;
    } else {
      return null; // an unquoted shell metacharacter
    }
  }
  if (word !== null) words.push(word);
  return words;
}

export default defineTarget<Buffer, null>({
  name: 'fetch-local-delivery',
  covers:
    'src/kzymy-fetch/message-headers.ts, mboxEntry (deliver-mbox.ts), expandMdaCommand (deliver-mda.ts)',
  async setup() {
    return null;
  },
  inputs() {
    return fc.oneof(
      tokens(VOCABULARY, { maxTokens: 60, separator: '', hostile: 20 }).map((s) =>
        Buffer.from(s, 'latin1'),
      ),
      hostileBytes(600),
      // Long folded and unterminated headers, so that super-linear work exceeds slowMs.
      fc
        .tuple(
          fc.constantFrom('Return-Path: <', 'From: ', 'To:', 'X:\r\n ', 'Delivered-To: a\r\n'),
          fc.integer({ min: 1, max: 200_000 }),
          fc.constantFrom(' ', '\r\n ', '<', 'a', '\r\n', '\rFrom ', "'"),
        )
        .map(([head, n, unit]) => Buffer.from(head + unit.repeat(n), 'latin1')),
    );
  },
  run(message) {
    const block = headerBlock(message);
    invariant(typeof block === 'string' && block.length <= message.length, 'header block');
    for (const name of ['Return-Path', 'From', 'Delivered-To', 'To']) {
      const value = headerValue(block, name);
      invariant(value === null || typeof value === 'string', `${name} value`);
    }
    const envelope = envelopeOf(message);
    const unix = toUnixLineEndings(message);
    const want = Buffer.from(message.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
    invariant(unix.equals(want), 'toUnixLineEndings changed more than CRLF');

    const entry = mboxEntry(message, envelope.sender, new Date(0)).toString('latin1');
    const { fromLine, body } = readMboxEntry(entry);
    invariant(/^From \S+ Thu Jan {2}1 00:00:00 1970$/.test(fromLine), 'the From_ line is broken');
    const text = unix.toString('latin1');
    invariant(
      body === (text.endsWith('\n') ? text : text + '\n'),
      'the mbox entry does not read back as the message',
    );

    const command = expandMdaCommand('procmail -f %F -d %T %%', envelope);
    const words = shellWords(command);
    invariant(
      words !== null &&
        words.length === 6 &&
        words[2] === envelope.sender &&
        words[4] === envelope.recipient,
      'an MDA argument is not one shell word holding the envelope value',
    );
  },
  smokeRuns: 200,
  // Generous for a loaded machine: a quadratic step on the 200,000-unit inputs takes seconds more.
  slowMs: 5000,
});
