/** Synthetic test mail: plausible headers and a text body of random printable lines. */
import { randomBytes } from 'node:crypto';
import type { EncryptInput } from '../src/pgp/pgp-mime';

const CRLF = '\r\n';

/**
 * A complete RFC 5322 message of exactly `size` bytes (for sizes above ~400). The body is
 * base64 of random bytes in 76-character lines, so it neither compresses well (like most real
 * attachments) nor contains a line starting with '.'.
 */
export function makeMessage(size: number, tag = randomBytes(6).toString('hex')): Buffer {
  const headers = [
    'From: Bench Sender <sender@example.org>',
    `To: inbox@bench.kzymy.test`,
    `Subject: benchmark message ${tag}`,
    'Date: Mon, 01 Dec 2025 12:00:00 +0000',
    `Message-ID: <${tag}@example.org>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    '',
  ].join(CRLF);
  const bodyBytes = Math.max(0, size - headers.length);
  const lineLength = 78; // 76 characters + CRLF
  const lines = Math.ceil(bodyBytes / lineLength);
  const text = randomBytes(Math.ceil((lines * 76 * 3) / 4))
    .toString('base64')
    .replace(/[+/]/g, 'x');
  const body = Buffer.alloc(bodyBytes);
  let at = 0;
  for (let i = 0; at < bodyBytes; i++) {
    const line = text.slice(i * 76, i * 76 + 76) + CRLF;
    at += body.write(line, at, 'ascii');
  }
  // The last line may have been cut: make sure the message still ends with CRLF.
  if (bodyBytes >= 2) body.write(CRLF, bodyBytes - 2, 'ascii');
  return Buffer.concat([Buffer.from(headers, 'ascii'), body]);
}

/** "4 KB", "100 KB", "1 MB", "25 MB" (decimal-ish labels for binary sizes: 1 KB = 1024 B). */
export function sizeLabel(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} B`;
}

/** What the encryption benchmarks hand encryptToPgpMime: `raw` to this key, a fixed envelope. */
export function benchEncryptInput(raw: Buffer, publicKeyArmored: string): EncryptInput {
  return {
    raw,
    publicKeyArmored,
    envelopeFrom: 'sender@example.org',
    recipients: ['inbox@bench.kzymy.test'],
    arrival: new Date(),
    domain: 'kzymy.test',
    outerTo: 'bench@bench.kzymy.test',
  };
}
