/**
 * The cost floor of encrypting one message in Node: the same primitives an OpenPGP v4
 * SEIPDv1 message needs — for Curve25519 an ephemeral X25519 key and agreement, SHA-256 KDF and
 * AES key wrap; for RSA one public-key encryption of the session key; then AES-256-CFB over the
 * literal data, SHA-1 MDC, base64 in 76-column lines —
 * called synchronously through node:crypto, without any OpenPGP framing, armor checksum or
 * MIME. Its output is not a valid message; it answers "how fast could any in-process
 * implementation be on this machine", which says whether a target is within reach at all.
 */
import {
  constants,
  createCipheriv,
  createHash,
  diffieHellman,
  generateKeyPairSync,
  publicEncrypt,
  randomBytes,
  type KeyObject,
} from 'node:crypto';

export type FloorKind = 'curve25519' | 'rsa4096';

const KW_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');
const recipients = new Map<FloorKind, KeyObject>();

function recipientKey(kind: FloorKind): KeyObject {
  let key = recipients.get(kind);
  if (!key) {
    key =
      kind === 'rsa4096'
        ? generateKeyPairSync('rsa', { modulusLength: 4096 }).publicKey
        : generateKeyPairSync('x25519').publicKey;
    recipients.set(kind, key);
  }
  return key;
}

export function floorEncrypt(raw: Buffer, kind: FloorKind): Buffer {
  const sessionKey = randomBytes(32);
  const wrapped =
    kind === 'rsa4096'
      ? publicEncrypt(
          { key: recipientKey(kind), padding: constants.RSA_PKCS1_PADDING },
          Buffer.concat([Buffer.from([9]), sessionKey, Buffer.alloc(2)]),
        )
      : wrapForX25519(sessionKey, recipientKey(kind));
  const prefix = randomBytes(18);
  const literalHeader = Buffer.alloc(16);
  const mdc = createHash('sha1').update(prefix).update(literalHeader).update(raw).digest();
  const cipher = createCipheriv('aes-256-cfb', sessionKey, Buffer.alloc(16));
  const body = Buffer.concat([
    wrapped,
    cipher.update(prefix),
    cipher.update(literalHeader),
    cipher.update(raw),
    cipher.update(mdc),
    cipher.final(),
  ]);
  const base64 = body.toString('base64');
  const lines: string[] = [];
  for (let at = 0; at < base64.length; at += 76) lines.push(base64.slice(at, at + 76));
  return Buffer.from(lines.join('\r\n'), 'ascii');
}

/** RFC 6637 §8: ephemeral ECDH, KDF, AES key wrap of the session key. */
function wrapForX25519(sessionKey: Buffer, recipient: KeyObject): Buffer {
  const ephemeral = generateKeyPairSync('x25519');
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient });
  const kek = createHash('sha256')
    .update(Buffer.from([0, 0, 0, 1]))
    .update(shared)
    .update(Buffer.alloc(56))
    .digest();
  const wrap = createCipheriv('id-aes256-wrap', kek, KW_IV);
  return Buffer.concat([wrap.update(Buffer.concat([sessionKey, Buffer.alloc(8)])), wrap.final()]);
}
