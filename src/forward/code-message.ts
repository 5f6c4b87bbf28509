/**
 * The message that proves a destination is hers: a code, encrypted to her key and mailed to the
 * destination in the same PGP/MIME form as every forwarded message. Only someone who can read
 * that mailbox *and* holds the key can type the code back, so kzymy cannot be aimed at a third
 * party's address (who would see one ciphertext from the server, and nothing after).
 */
import { randomBytes } from 'node:crypto';
import { encryptToPgpMime, formatRfc5322Date } from '../pgp/pgp-mime';
import type { PayloadFormat } from '../pgp/protected-payload';

export interface CodeMessageInput {
  username: string;
  /** kzymy's mail domain. */
  domain: string;
  publicKey: string;
  destination: string;
  code: string;
  validMinutes: number;
  now: Date;
  /** Her payload format, as for every message she receives (docs/message-format.md). */
  format?: PayloadFormat;
}

/** The plaintext inside the ciphertext; the line "Forwarding code:" is fixed. */
export function codeMessageText(input: CodeMessageInput): string {
  const nym = `${input.username}@${input.username}.${input.domain}`;
  const lines = [
    `From: kzymy <postmaster@${input.domain}>`,
    `To: ${nym}`,
    'Subject: kzymy forwarding code',
    `Date: ${formatRfc5322Date(input.now)}`,
    `Message-ID: <${randomBytes(16).toString('hex')}@${input.domain}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'kzymy forwarding',
    '',
    `Username:         ${input.username}`,
    `Forward to:       ${input.destination}`,
    `Forwarding code:  ${input.code}`,
    '',
    `Enter the code on your account page, under Forwarding, within ${input.validMinutes} minutes.`,
    'From then on each message is sent here as it is stored (encrypted to your key) and',
    'deleted from kzymy once this mail server has accepted it.',
    '',
  ];
  return lines.join('\r\n');
}

/** The whole message as sent: RFC 3156 PGP/MIME, outer headers as for every forwarded message. */
export function codeMessage(input: CodeMessageInput): Promise<Buffer> {
  return encryptToPgpMime({
    raw: Buffer.from(codeMessageText(input), 'ascii'),
    publicKeyArmored: input.publicKey,
    envelopeFrom: '',
    recipients: [input.destination],
    arrival: input.now,
    domain: input.domain,
    outerTo: `${input.username}@${input.username}.${input.domain}`,
    format: input.format,
  });
}
