/**
 * The header-protection rewriter: src/pgp/protected-payload.ts buildPayload (with
 * src/pgp/header-section.ts, which reads the original's header section from hostile bytes, and
 * src/pgp/padding.ts), in both payload formats, on originals built from header lines a sender
 * could use against it (kzymy's own field names, the RFC 9788 and Thunderbird markers, folded and
 * malformed lines, stray CR and NUL, bare LF and CR line ends) and hostile bodies, handed over in
 * arbitrary pieces as DATA hands them. No encryption: pgp-mime covers that, and decrypts to the
 * same checks.
 *
 * Crashes: any exception; a size that is not the bytes'; and, protected, the checks of
 * fuzz/harness/protected-payload.ts (kzymy's fields first, no marker from the sender, no byte
 * lost, the size a bucket, the padding field the only difference from the unpadded payload);
 * exact, anything but the delivery fields followed by the original byte for byte.
 */
import * as fc from 'fast-check';
import { buildPayload, type OuterField } from '../../src/pgp/protected-payload';
import { chunked, hostileBytes, hostileText } from '../harness/bytes';
import { checkProtectedPayload } from '../harness/protected-payload';
import { defineTarget, invariant } from '../harness/target';

interface Input {
  lines: string[];
  ending: string[];
  separator: string | null;
  body: Buffer;
  cuts: number[];
  envelopeFrom: string;
  recipients: string[];
  authenticationResults: string | undefined;
  format: 'protected' | 'exact';
}

/** What pgp-mime.ts records of its outer header (its field names and kinds of value). */
const OUTER_FIELDS: readonly OuterField[] = [
  { name: 'From', value: 'kzymy <postmaster@kzymy.test>' },
  { name: 'To', value: 'undisclosed-recipients:;' },
  { name: 'Subject', value: '...' },
  { name: 'Date', value: 'Thu, 15 Jan 2026 12:00:00 +0000' },
  { name: 'Message-ID', value: '<0123456789abcdef0123456789abcdef@kzymy.test>' },
];

const BOUNDARY = 'kzymy-00112233445566778899aabbccddeeff';

/** Header lines: ordinary ones, kzymy's own names and the markers, malformed ones. */
const HEADER_LINES = [
  'Subject: hello',
  'From: Alice <alice@example.org>',
  'To: x@y.kzymy.test',
  'Date: Thu, 15 Jan 2026 11:59:00 +0000',
  'Message-ID: <a@b>',
  'Subject: =?UTF-8?B?w6k=?=',
  ' folded continuation',
  '\tfolded with a tab',
  'Subject : space before the colon',
  'MIME-Version: 1.0',
  'mime-version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Type: multipart/mixed; boundary="b"; protected-headers="v1"; hp="cipher"',
  'CONTENT-TYPE: multipart/signed; protocol="application/pgp-signature"',
  'Content-Transfer-Encoding: base64',
  'Content-Disposition: inline',
  'Return-Path: <evil@example.org>',
  'Delivered-To: someone-else@kzymy.test',
  'Authentication-Results: kzymy.test; dkim=pass header.d=bank.example',
  'HP-Outer: Subject: ...',
  'hp-outer: From: kzymy <postmaster@kzymy.test>',
  'Kzymy-Padding: xxxx',
  'X-Stray: a\rb',
  'X-Nul: a\0b',
  'Subject: \0',
  'no colon here',
  ':empty name',
  'Subject:',
  'X: y',
  // A delimiter of the original's own multipart (kzymy's boundary is 128 random bits).
  '--b',
];

const LINE_ENDS = ['\r\n', '\r\n', '\r\n', '\n', '\r', '', '\r\r\n', '\n\r'];

const envelope = fc.constantFrom(
  '',
  'alice@example.org',
  'ünï@例え.jp',
  'bounce+x=y@lists.example',
);
const recipient = fc.constantFrom('a@k3x.kzymy.test', 'b.c@k3x.kzymy.test', 'ü@k3x.kzymy.test');

export default defineTarget<Input, null>({
  name: 'header-protection',
  covers:
    'src/pgp/protected-payload.ts buildPayload, src/pgp/header-section.ts, src/pgp/padding.ts',
  async setup() {
    return null;
  },
  inputs() {
    return fc.record({
      lines: fc.array(
        fc.oneof(
          { arbitrary: fc.constantFrom(...HEADER_LINES), weight: 8 },
          { arbitrary: hostileText(30), weight: 1 },
        ),
        { maxLength: 12 },
      ),
      ending: fc.array(fc.constantFrom(...LINE_ENDS), { minLength: 12, maxLength: 12 }),
      separator: fc.constantFrom('\r\n', '\r\n', '\n', '\r', null),
      body: fc.oneof(
        { arbitrary: hostileBytes(300), weight: 8 },
        // Around bucket edges: 4 KiB and 8 KiB payloads.
        {
          arbitrary: fc.integer({ min: 3500, max: 8300 }).map((n) => Buffer.alloc(n, 0x41)),
          weight: 1,
        },
      ),
      cuts: fc.array(fc.nat(), { maxLength: 4 }),
      envelopeFrom: envelope,
      recipients: fc.array(recipient, { minLength: 1, maxLength: 3 }),
      authenticationResults: fc.constantFrom(
        undefined,
        'kzymy.test; spf=pass smtp.mailfrom=example.org',
        'kzymy.test;\r\n dkim=fail header.d=example.org',
      ),
      format: fc.constantFrom('protected' as const, 'protected' as const, 'exact' as const),
    });
  },
  run(input) {
    const head = input.lines.map((line, i) => line + (input.ending[i] ?? '\r\n')).join('');
    const original = Buffer.concat([
      Buffer.from(head + (input.separator ?? ''), 'latin1'),
      input.body,
    ]);
    const pieces = chunked(original, input.cuts);
    const base = {
      original: pieces,
      envelopeFrom: input.envelopeFrom,
      recipients: input.recipients,
      ...(input.authenticationResults === undefined
        ? {}
        : { authenticationResults: input.authenticationResults }),
      outerFields: OUTER_FIELDS,
      boundary: BOUNDARY,
    };
    const built = buildPayload({
      ...base,
      format: input.format,
      pad: input.format === 'protected',
    });
    const payload = Buffer.concat(built.pieces);
    invariant(payload.length === built.size, `size ${built.size} for ${payload.length} bytes`);
    // The pieces of the original are handed on as views, never changed.
    invariant(Buffer.concat(pieces).equals(original), 'the original was changed');
    if (input.format === 'exact') {
      const delivery = [
        `Return-Path: <${input.envelopeFrom}>`,
        ...input.recipients.map((r) => `Delivered-To: ${r}`),
        ...(input.authenticationResults === undefined
          ? []
          : [`Authentication-Results: ${input.authenticationResults}`]),
      ];
      const expected = Buffer.concat([
        Buffer.from(delivery.join('\r\n') + '\r\n', 'utf8'),
        original,
      ]);
      invariant(
        payload.equals(expected),
        'the exact payload is not the delivery fields + original',
      );
      invariant(built.paddingBytes === 0, 'the exact payload is padded');
      return;
    }
    const unpadded = buildPayload({ ...base, format: 'protected', pad: false });
    invariant(unpadded.paddingBytes === 0, 'an unpadded payload has padding');
    invariant(
      built.size - unpadded.size === built.paddingBytes,
      'the padding bytes are not the difference',
    );
    checkProtectedPayload(payload, {
      original,
      envelopeFrom: input.envelopeFrom,
      recipients: input.recipients,
      ...(input.authenticationResults === undefined
        ? {}
        : { authenticationResults: input.authenticationResults }),
      outerFields: OUTER_FIELDS,
      padded: true,
      unpadded: Buffer.concat(unpadded.pieces),
    });
  },
  smokeRuns: 500,
  slowMs: 2_000,
});
