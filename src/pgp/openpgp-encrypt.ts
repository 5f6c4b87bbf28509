/**
 * Encryption through OpenPGP.js, for the keys the native path (./native/) does not handle: ECDH
 * on NIST or Brainpool curves, ElGamal. Same format: a v3 PKESK and SEIPDv1 with MDC, no
 * compression, a literal packet with the arrival date and no file name.
 */
import { ReadableStream } from 'node:stream/web';
import * as openpgp from 'openpgp';
import type { LiteralFormat } from './native/seipd';

/**
 * Every OpenPGP.js option that shapes the output, fixed here so that a change of library
 * defaults cannot silently change the format.
 */
export const ENCRYPT_CONFIG: openpgp.PartialConfig = {
  // GnuPG 2.2 cannot read SEIPDv2 (RFC 9580 AEAD) or the LibrePGP OCB packet. Note that with
  // encryption keys given, OpenPGP.js 6 ignores aeadProtect and follows the key's Features
  // subpacket; the session key given below (without an aeadAlgorithm) is what really forces
  // SEIPDv1 and a v3 PKESK.
  aeadProtect: false,
  preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed,
  showVersion: false,
  showComment: false,
};

export interface OpenPgpEncryption {
  key: openpgp.PublicKey;
  date: Date;
  arrival: Date;
  sessionKey: { data: Uint8Array; algorithm: openpgp.enums.symmetricNames };
}

const FORMATS = { b: 'binary', u: 'utf8' } as const;

function options(e: OpenPgpEncryption) {
  return {
    encryptionKeys: e.key,
    sessionKey: e.sessionKey,
    date: e.date,
    format: 'binary',
    config: ENCRYPT_CONFIG,
  } as const;
}

/** The binary message for `payload`, held whole. */
export async function openpgpEncrypt(
  e: OpenPgpEncryption,
  payload: Uint8Array,
  format: LiteralFormat,
): Promise<Uint8Array> {
  const message = await openpgp.createMessage({
    binary: payload,
    format: FORMATS[format],
    date: e.arrival,
  });
  return openpgp.encrypt({ message, ...options(e) });
}

/** The binary message for the consecutive pieces of `payload`, as OpenPGP.js streams it. */
export async function openpgpEncryptStream(
  e: OpenPgpEncryption,
  payload: readonly Uint8Array[],
): Promise<AsyncIterable<Uint8Array>> {
  const message = await openpgp.createMessage({
    binary: streamOf(payload),
    format: 'binary',
    date: e.arrival,
  });
  return openpgp.encrypt({ message, ...options(e) });
}

/** Bytes handed to OpenPGP.js at a time when streaming: what it and the armor hold in flight. */
const STREAM_PIECE_BYTES = 256 * 1024;

/**
 * A web stream handing out the pieces as OpenPGP.js asks for them, in chunks of exactly
 * STREAM_PIECE_BYTES (the last one shorter): views where a piece holds a whole chunk, a copy
 * where a chunk spans pieces. The sizes matter twice: given one 25 MB Buffer, OpenPGP.js would
 * encrypt it as one chunk and hold several copies of it; and it writes a partial body length
 * (RFC 4880 §4.2.2.4) per chunk, so chunks that followed the capture's slabs would make two
 * payloads of one padded size encrypt to different sizes, and the padding would leak.
 */
function streamOf(payload: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  const pieces = payload.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  let next = 0;
  let offset = 0;
  let left = pieces.reduce((sum, piece) => sum + piece.length, 0);
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (left === 0) {
          controller.close();
          return;
        }
        const size = Math.min(STREAM_PIECE_BYTES, left);
        left -= size;
        let piece = pieces[next] as Buffer;
        while (offset >= piece.length) {
          piece = pieces[++next] as Buffer;
          offset = 0;
        }
        if (piece.length - offset >= size) {
          controller.enqueue(piece.subarray(offset, offset + size));
          offset += size;
          return;
        }
        const chunk = Buffer.allocUnsafe(size);
        let filled = 0;
        while (filled < size) {
          while (offset >= piece.length) {
            piece = pieces[++next] as Buffer;
            offset = 0;
          }
          const copied = piece.copy(chunk, filled, offset, offset + (size - filled));
          filled += copied;
          offset += copied;
        }
        controller.enqueue(chunk);
      },
    },
    { highWaterMark: 0 },
  );
}
