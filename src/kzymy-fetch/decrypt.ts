/**
 * --decrypt: turn a kzymy PGP/MIME message (RFC 3156) back into the message that was sent, with
 * the user's own GnuPG. The encrypted part is a complete message in either of the user's formats
 * (docs/message-format.md): the protected one (the original's header fields marked as protected,
 * its body part byte for byte, Authentication-Results, padding) or the exact one (delivery
 * headers, then the original byte for byte). Either way gpg's output *is* the message to
 * deliver, Return-Path and Delivered-To first: nothing of the stub outer message is kept.
 */
import { spawn } from 'node:child_process';
import { FetchError } from './errors';
import { headerBlock, headerValue } from './message-headers';

export interface GpgOptions {
  /** The gpg binary (default `gpg`). */
  gpg: string;
  /** GNUPGHOME; undefined uses the environment's (or ~/.gnupg). */
  homedir?: string;
}

/** The armored OpenPGP message of a multipart/encrypted message, or null if it is not one. */
export function pgpMimePayload(message: Buffer): Buffer | null {
  const headers = headerBlock(message);
  const contentType = headerValue(headers, 'Content-Type') ?? '';
  // RFC 3156 §4: multipart/encrypted with protocol="application/pgp-encrypted".
  if (!/^multipart\/encrypted\s*;/i.test(contentType)) return null;
  if (!/protocol\s*=\s*"?application\/pgp-encrypted"?/i.test(contentType)) return null;
  const boundary = /boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i.exec(contentType);
  const marker = boundary?.[1] ?? boundary?.[2];
  if (!marker) return null;
  const text = message.toString('latin1');
  // The second body part (RFC 3156 §4: "application/octet-stream" holding the OpenPGP message).
  const parts = text.split(
    new RegExp(`\\r?\\n--${escapeRegExp(marker)}(?:--)?[ \\t]*(?=\\r?\\n|$)`),
  );
  const encrypted = parts[2];
  if (encrypted === undefined) return null;
  const begin = encrypted.indexOf('-----BEGIN PGP MESSAGE-----');
  const endMarker = '-----END PGP MESSAGE-----';
  const end = encrypted.indexOf(endMarker, begin);
  if (begin < 0 || end < 0) return null;
  return Buffer.from(encrypted.slice(begin, end + endMarker.length) + '\n', 'latin1');
}

/**
 * Decrypts a kzymy message; a message that is not PGP/MIME is returned unchanged (kzymy never
 * stores one, but another server might deliver a bounce or a notice that way).
 */
export async function decryptMessage(message: Buffer, options: GpgOptions): Promise<Buffer> {
  const armored = pgpMimePayload(message);
  if (!armored) return message;
  const { stdout, status, code, stderr } = await runGpg(options, armored);
  if (code !== 0 || !status.includes('DECRYPTION_OKAY')) {
    // gpg 2.2 does not always emit NO_SECKEY; its (C locale) text says it then.
    const why =
      status.some((s) => s.startsWith('NO_SECKEY')) || stderr.includes('No secret key')
        ? 'no secret key for it in this GnuPG home'
        : status.find((s) => s.startsWith('DECRYPTION_FAILED') || s.startsWith('BADMDC'))
          ? 'the ciphertext is damaged or was tampered with'
          : `gpg exited with status ${code}`;
    throw new FetchError('decrypt', `cannot decrypt a message (${why}): it stays on the server`);
  }
  return stdout;
}

function runGpg(
  options: GpgOptions,
  input: Buffer,
): Promise<{ stdout: Buffer; status: string[]; code: number | null; stderr: string }> {
  const args = ['--batch', '--quiet', '--status-fd', '2', '--decrypt'];
  if (options.homedir) args.unshift('--homedir', options.homedir);
  return new Promise((resolve, reject) => {
    const child = spawn(options.gpg, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C', LANGUAGE: '' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.stdin.on('error', () => undefined);
    child.on('error', (error) =>
      reject(
        new FetchError('config', `cannot run ${options.gpg} (${error.message})`, { cause: error }),
      ),
    );
    child.on('close', (code) => {
      const stderr = Buffer.concat(err).toString('utf8');
      const status = stderr
        .split('\n')
        .filter((line) => line.startsWith('[GNUPG:] '))
        .map((line) => line.slice('[GNUPG:] '.length));
      resolve({ stdout: Buffer.concat(out), status, code, stderr });
    });
    child.stdin.end(input);
  });
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
