/**
 * Encryption of hostile mail: src/pgp/pgp-mime.ts encryptToPgpMimeParts (and src/pgp/armor.ts)
 * with message bytes as DATA hands them over (in one piece or several, malformed, now and then
 * over the 1 MiB streaming threshold) and envelope values as SMTP clients send them.
 *
 * Crashes: an exception other than the documented TypeError for a value that may not go into a
 * header; and these invariants (RFC 3156, docs/message-format.md):
 * - the output is 7-bit text in CRLF lines of at most 78 characters;
 * - the outer header is kzymy's fixed one: nothing from the message, the envelope or the alias
 *   reaches it (only the outer To the caller chose);
 * - decrypting the exact format gives back Return-Path, Delivered-To (one per recipient) and
 *   Authentication-Results, then the message byte for byte;
 * - decrypting the protected format (the default) gives a payload that passes the checks of
 *   fuzz/harness/protected-payload.ts, its HP-Outer fields those of the outer header.
 *
 * The header-protection rewriter has a target of its own, without encryption and so with many
 * more inputs: fuzz/targets/header-protection.ts.
 */
import * as fc from 'fast-check';
import {
  encryptToPgpMimeParts,
  STREAM_ABOVE_BYTES,
  type EncryptInput,
} from '../../src/pgp/pgp-mime';
import type { PayloadFormat } from '../../src/pgp/protected-payload';
import { hostileBytes, hostileText, tokens } from '../harness/bytes';
import { decryptArmored, recipientKeys, type RecipientKeys } from '../harness/pgp-keys';
import { checkProtectedPayload } from '../harness/protected-payload';
import { defineTarget, invariant } from '../harness/target';

interface Input {
  pieces: Buffer[];
  envelopeFrom: string;
  recipients: string[];
  authenticationResults: string | undefined;
  format: PayloadFormat;
  outerTo: string;
  domain: string;
}

const MIME_WORDS = [
  'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="b"',
  'Content-Type: text/plain',
  'Subject: secret canary',
  '--b',
  '--b--',
  '-----BEGIN PGP MESSAGE-----',
  '\r\n',
  '\n',
  '\r',
  '\r\n\r\n',
  '.',
  '\0',
  'From: canary <c@a.example>',
  // Fields kzymy writes into the payload itself: a sender's must not pass for them.
  'HP-Outer: Subject: forged',
  'Return-Path: <forged@example.org>',
  'Content-Type: text/plain; protected-headers="v1"; hp="cipher"',
  'Kzymy-Padding: x',
];

const OUTER = new RegExp(
  [
    '^From: kzymy <postmaster@(?<domain>[^>\\r\\n]+)>',
    'To: (?<to>[^\\r\\n]*)',
    'Subject: \\.\\.\\.',
    'Date: (?<date>[A-Z][a-z]{2}, \\d{2} [A-Z][a-z]{2} \\d{4} \\d{2}:\\d{2}:\\d{2} \\+0000)',
    'Message-ID: (?<messageId><[0-9a-f]{32}@(?<mid>[^>\\r\\n]+)>)',
    'MIME-Version: 1\\.0',
    'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";',
    ' boundary="(?<boundary>kzymy-[0-9a-f]{32})"',
    '',
    'This is an OpenPGP/MIME encrypted message \\(RFC 4880 and 3156\\)',
    '--\\k<boundary>',
    'Content-Type: application/pgp-encrypted',
    'Content-Description: PGP/MIME version identification',
    '',
    'Version: 1',
    '',
    '--\\k<boundary>',
    'Content-Type: application/octet-stream; name="encrypted.asc"',
    'Content-Description: OpenPGP encrypted message',
    'Content-Disposition: inline; filename="encrypted.asc"',
    '',
    '-----BEGIN PGP MESSAGE-----',
    '',
    '(?:[A-Za-z0-9+/=]{1,76}\\r\\n)+-----END PGP MESSAGE-----',
    '',
    '--\\k<boundary>--',
    '$',
  ].join('\\r\\n'),
);

const message = fc.oneof(
  { arbitrary: hostileBytes(2000).map((b) => [b]), weight: 10 },
  {
    arbitrary: fc.array(
      tokens(MIME_WORDS, { maxTokens: 30, separator: '' }).map((s) => Buffer.from(s, 'latin1')),
      { maxLength: 5 },
    ),
    weight: 10,
  },
  // Over STREAM_ABOVE_BYTES: the streamed path (rare: each costs tens of milliseconds).
  {
    arbitrary: fc.tuple(hostileBytes(300), fc.integer({ min: 1, max: 5 })).map(([piece, extra]) => {
      const big = Buffer.alloc(STREAM_ABOVE_BYTES + extra * 1000, piece.length > 0 ? piece : 'x');
      return [big.subarray(0, 1000), big.subarray(1000)];
    }),
    weight: 1,
  },
);

// Mostly values SMTP lets through (so that most inputs are encrypted), sometimes hostile ones.
const envelopeValue = fc.oneof(
  {
    arbitrary: fc.constantFrom('', 'alice@example.org', 'bounce+x=y@lists.example', 'ünï@例え.jp'),
    weight: 3,
  },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }), weight: 3 },
  { arbitrary: hostileText(40), weight: 1 },
);

export default defineTarget<Input, RecipientKeys>({
  name: 'pgp-mime',
  covers: 'src/pgp/pgp-mime.ts encryptToPgpMimeParts, src/pgp/armor.ts',
  setup: () => recipientKeys(),
  inputs() {
    return fc.record({
      pieces: message,
      envelopeFrom: envelopeValue,
      // None at all is refused with the documented TypeError.
      recipients: fc.array(envelopeValue, { maxLength: 3 }),
      authenticationResults: fc.constantFrom(
        undefined,
        'kzymy.test; spf=pass smtp.mailfrom=example.org',
        'kzymy.test;\r\n dkim=fail header.d=example.org',
        'kzymy.test; dkim=pass\r\nInjected: x',
      ),
      format: fc.constantFrom('protected' as const, 'exact' as const),
      outerTo: fc.oneof(
        { arbitrary: fc.constant('undisclosed-recipients:;'), weight: 8 },
        { arbitrary: hostileText(20), weight: 1 },
      ),
      domain: fc.oneof(
        { arbitrary: fc.constantFrom('kzymy.test', 'xn--bcher-kva.example'), weight: 8 },
        { arbitrary: hostileText(12), weight: 1 },
      ),
    });
  },
  async run(input, keys) {
    const request: EncryptInput = {
      raw: input.pieces.length === 1 ? (input.pieces[0] as Buffer) : input.pieces,
      publicKeyArmored: keys.publicKeyArmored,
      envelopeFrom: input.envelopeFrom,
      recipients: input.recipients,
      ...(input.authenticationResults === undefined
        ? {}
        : { authenticationResults: input.authenticationResults }),
      format: input.format,
      arrival: new Date(Date.UTC(2026, 0, 15, 12)),
      domain: input.domain,
      outerTo: input.outerTo,
    };
    const parts: Buffer[] = [];
    try {
      for await (const part of await encryptToPgpMimeParts(request)) parts.push(part);
    } catch (error) {
      // The documented refusal: a value that cannot go into a header. Never message bytes.
      if (
        error instanceof TypeError &&
        /^encryptToPgpMime: (envelopeFrom|recipients?|authenticationResults|outerTo|domain) /.test(
          error.message,
        )
      ) {
        return;
      }
      throw error;
    }
    const output = Buffer.concat(parts);
    const text = output.toString('latin1');
    invariant(
      output.every((byte) => byte < 0x80),
      'output is not 7-bit',
    );
    invariant(!/\r(?!\n)|(?<!\r)\n/.test(text), 'output has a bare CR or LF');
    invariant(
      text.split('\r\n').every((l) => l.length <= 78),
      'output line over 78 characters',
    );
    const outer = OUTER.exec(text);
    invariant(outer, "the outer message is not kzymy's fixed form");
    invariant(
      outer.groups?.domain === input.domain && outer.groups?.mid === input.domain,
      'domain',
    );
    invariant(outer.groups?.to === input.outerTo, 'outer To');
    const plaintext = await decryptArmored(output, keys.privateKey);
    const original = Buffer.concat(input.pieces);
    if (input.format === 'protected') {
      checkProtectedPayload(plaintext, {
        original,
        envelopeFrom: input.envelopeFrom,
        recipients: input.recipients,
        ...(input.authenticationResults === undefined
          ? {}
          : { authenticationResults: input.authenticationResults }),
        outerFields: [
          { name: 'From', value: `kzymy <postmaster@${input.domain}>` },
          { name: 'To', value: input.outerTo },
          { name: 'Subject', value: '...' },
          { name: 'Date', value: outer.groups?.date ?? '' },
          { name: 'Message-ID', value: outer.groups?.messageId ?? '' },
        ],
        padded: true,
      });
      return;
    }
    const delivery = [
      `Return-Path: <${input.envelopeFrom}>`,
      ...input.recipients.map((r) => `Delivered-To: ${r}`),
      ...(input.authenticationResults === undefined
        ? []
        : [`Authentication-Results: ${input.authenticationResults}`]),
    ];
    const expected = Buffer.concat([Buffer.from(delivery.join('\r\n') + '\r\n', 'utf8'), original]);
    invariant(plaintext.equals(expected), 'decrypted payload differs from the message');
  },
  smokeRuns: 60,
  slowMs: 10_000,
});
