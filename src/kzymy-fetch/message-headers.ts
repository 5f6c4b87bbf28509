/**
 * Just enough RFC 5322 header reading for local delivery: the header block, unfolded fields by
 * name, and the envelope (sender and recipient) that fetchmail-style %F/%T and an mbox From_
 * line need. A decrypted kzymy message starts with Return-Path and Delivered-To, added by the
 * server from the SMTP envelope (docs/message-format.md); an encrypted one has only the stub
 * outer From/To.
 */

/** The bytes before the first empty line (the whole message if there is none). */
export function headerBlock(message: Buffer): string {
  const crlf = message.indexOf('\r\n\r\n');
  const lf = message.indexOf('\n\n');
  const ends = [crlf, lf].filter((i) => i >= 0);
  const end = ends.length > 0 ? Math.min(...ends) : message.length;
  return message.subarray(0, Math.min(end, 256 * 1024)).toString('latin1');
}

/** The first value of a header field, unfolded (RFC 5322 §2.2.3), or null. */
export function headerValue(headers: string, name: string): string | null {
  const lines = headers.split(/\r?\n/);
  const prefix = `${name.toLowerCase()}:`;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (!line.toLowerCase().startsWith(prefix)) continue;
    let value = line.slice(prefix.length);
    while (i + 1 < lines.length && /^[ \t]/.test(lines[i + 1] ?? '')) value += lines[++i];
    return value.trim();
  }
  return null;
}

/** The address inside `<...>`, or the bare value; '' for the null sender `<>`. */
export function addressOf(value: string): string {
  const angle = /<([^>]*)>/.exec(value);
  return (angle ? (angle[1] ?? '') : value).trim();
}

export interface Envelope {
  sender: string;
  recipient: string;
}

export function envelopeOf(message: Buffer): Envelope {
  const headers = headerBlock(message);
  const returnPath = headerValue(headers, 'Return-Path');
  const from = headerValue(headers, 'From');
  const deliveredTo = headerValue(headers, 'Delivered-To');
  const to = headerValue(headers, 'To');
  return {
    sender: returnPath !== null ? addressOf(returnPath) : from ? addressOf(from) : '',
    recipient: addressOf(deliveredTo ?? to ?? ''),
  };
}

/** CRLF → LF, the Unix mailbox convention; bare CRs and LFs are left alone. */
export function toUnixLineEndings(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(message.length);
  let length = 0;
  for (let i = 0; i < message.length; i++) {
    const byte = message[i] as number;
    if (byte === 0x0d && message[i + 1] === 0x0a) continue;
    out[length++] = byte;
  }
  return out.subarray(0, length);
}
