/**
 * The encrypted container: a version 1 SEIPD packet (RFC 9580 §5.13.1) holding one Literal Data
 * packet (§5.9) and the Modification Detection Code. AES in CFB mode with a zero IV and the
 * random prefix, SHA-1 over the plaintext: what GnuPG 2.2 and Thunderbird read. No compression.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { AES_BLOCK_BYTES, type AesAlgorithm } from './algorithms';
import { PacketTag, packetHeader } from './packet-framing';

/** RFC 9580 §5.9: 'b' binary data, 'u' UTF-8 text (with CRLF line endings). */
export type LiteralFormat = 'b' | 'u';

export interface LiteralData {
  format: LiteralFormat;
  /** RFC 9580 §5.9: "A 4-octet number that indicates a date associated with the literal data". */
  date: Date;
}

/**
 * Plaintext octets encrypted per step: a large message goes out in pieces no larger than this
 * (the armor and the store's chunk writes then hold only a few of them at a time).
 */
export const PIECE_BYTES = 256 * 1024;

/** RFC 9580 §5.13.1: "A 1-octet version number with value 1." */
const SEIPD_VERSION_1 = Buffer.from([1]);
/** RFC 9580 §5.13.1: "Two constant octets with the values 0xD3 and 0x14 are appended". */
const MDC_CONSTANT = Buffer.from([0xd3, 0x14]);
/** The constant octets and the 20-octet SHA-1 hash that follows them. */
const MDC_LENGTH = MDC_CONSTANT.length + 20;
/** RFC 9580 §5.13.1: "The IV is specified as all zeros." */
const ZERO_IV = Buffer.alloc(AES_BLOCK_BYTES);

/**
 * The SEIPD packet encrypting `payload` (consecutive pieces, together the literal data) with
 * `sessionKey`, produced piece by piece. The length is known in advance, so the packets have
 * definite lengths (RFC 9580 §4.2.1.3) whatever the size. `random` is a block of fresh random
 * octets for the prefix.
 */
export function* seipdPacket(
  cipher: AesAlgorithm,
  sessionKey: Buffer,
  random: Buffer,
  literal: LiteralData,
  payload: readonly Uint8Array[],
): Generator<Buffer> {
  const size = payload.reduce((sum, piece) => sum + piece.length, 0);
  const literalHead = literalDataHead(literal, size);
  // RFC 9580 §5.13.1: "The length of the octet string equals the block size of the cipher in
  // octets, plus two. The first octets ... are random; the last two octets are each copies of
  // their 2nd preceding octet."
  if (random.length !== AES_BLOCK_BYTES) throw new RangeError('the prefix needs one random block');
  const prefix = Buffer.allocUnsafe(AES_BLOCK_BYTES + 2);
  random.copy(prefix);
  prefix[AES_BLOCK_BYTES] = prefix[AES_BLOCK_BYTES - 2] as number;
  prefix[AES_BLOCK_BYTES + 1] = prefix[AES_BLOCK_BYTES - 1] as number;
  const encryptedLength = prefix.length + literalHead.length + size + MDC_LENGTH;
  // RFC 9580 §12.9: CFB with the segment size equal to the block size; §5.13.1: "this prefix
  // data is encrypted in the same CFB context, and no special CFB resynchronization is done".
  const cfb = createCipheriv(cipher.cfb, sessionKey, ZERO_IV);
  // RFC 9580 §5.13.1: "The input to the hash function is comprised of the prefix data ... and
  // all of the plaintext, including the trailing constant octets 0xD3, 0x14."
  const mdc = createHash('sha1');
  const first = Buffer.concat([prefix, literalHead]);
  mdc.update(first);
  yield Buffer.concat([
    packetHeader(PacketTag.symEncryptedIntegrityProtectedData, 1 + encryptedLength),
    SEIPD_VERSION_1,
    cfb.update(first),
  ]);
  for (const piece of payload) {
    for (let at = 0; at < piece.length; at += PIECE_BYTES) {
      const slice = piece.subarray(at, at + PIECE_BYTES);
      mdc.update(slice);
      yield cfb.update(slice);
    }
  }
  mdc.update(MDC_CONSTANT);
  // "The 20 octets of the SHA-1 hash are then appended to the plaintext (after the constant
  // octets 0xD3, 0x14) and encrypted along with the plaintext using the same CFB context."
  const tail = Buffer.concat([MDC_CONSTANT, mdc.digest()]);
  yield Buffer.concat([cfb.update(tail), cfb.final()]);
}

/** RFC 9580 §5.9: the Literal Data packet's header and fields before the data itself. */
function literalDataHead(literal: LiteralData, size: number): Buffer {
  const seconds = Math.floor(literal.date.getTime() / 1000);
  // Format octet, a 1-octet filename length (0: no file name), the 4-octet date.
  const fields = Buffer.allocUnsafe(6);
  fields[0] = literal.format.charCodeAt(0);
  fields[1] = 0;
  fields.writeUInt32BE(seconds, 2);
  return Buffer.concat([packetHeader(PacketTag.literalData, fields.length + size), fields]);
}
