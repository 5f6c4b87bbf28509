/**
 * ASCII armor for an OpenPGP message (RFC 4880 §6.2), built with Node's native base64.
 * OpenPGP.js armors in JavaScript through strings, which for a 25 MB message costs about half the
 * encryption time and several hundred MiB of transient memory. `Armorer` takes the binary message
 * piece by piece, so a large message is armored as it is encrypted and never held whole.
 */

const BEGIN = '-----BEGIN PGP MESSAGE-----\r\n\r\n';
const END = '-----END PGP MESSAGE-----\r\n';
/** RFC 4880 §6.3: "lines ... no longer than 76 characters"; 57 bytes make 76 base64 characters. */
const BYTES_PER_LINE = 57;
const CHARS_PER_LINE = 76;
/** Bytes encoded per base64 call: whole lines, so no line straddles two calls. */
const BLOCK_BYTES = BYTES_PER_LINE * 1024;

/** RFC 4880 §6.1 CRC-24 (init 0xB704CE, polynomial 0x1864CFB), table-driven. */
const CRC24_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 16;
    for (let bit = 0; bit < 8; bit++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
    table[i] = crc & 0xffffff;
  }
  return table;
})();

const CRC24_INIT = 0xb704ce;

function updateCrc24(crc: number, data: Uint8Array): number {
  for (let i = 0; i < data.length; i++) {
    crc =
      ((crc << 8) ^ (CRC24_TABLE[((crc >> 16) ^ (data[i] as number)) & 0xff] as number)) & 0xffffff;
  }
  return crc;
}

export function crc24(data: Uint8Array): number {
  return updateCrc24(CRC24_INIT, data);
}

/**
 * Armors a binary OpenPGP message given in pieces of any size: `begin()`, then `push()` per
 * piece, then `end()`; the concatenated outputs are the armored message, CRLF line ends, no
 * Version or Comment header (nothing identifies the software). Each call returns only whole
 * lines; up to 56 bytes wait for the next piece.
 */
export class Armorer {
  private crc = CRC24_INIT;
  private carry: Buffer = Buffer.alloc(0);

  begin(): Buffer {
    return Buffer.from(BEGIN, 'latin1');
  }

  push(piece: Uint8Array): Buffer {
    const input = Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    this.crc = updateCrc24(this.crc, input);
    const bytes = this.carry.length > 0 ? Buffer.concat([this.carry, input]) : input;
    const whole = bytes.length - (bytes.length % BYTES_PER_LINE);
    // Copied: `piece` belongs to the caller and may be reused.
    this.carry = Buffer.from(bytes.subarray(whole));
    return encodeLines(bytes.subarray(0, whole));
  }

  end(): Buffer {
    const tail = encodeLines(this.carry);
    const crc = this.crc;
    const checksum = Buffer.from([(crc >> 16) & 0xff, (crc >> 8) & 0xff, crc & 0xff]);
    this.carry = Buffer.alloc(0);
    return Buffer.concat([
      tail,
      Buffer.from(`=${checksum.toString('base64')}\r\n${END}`, 'latin1'),
    ]);
  }
}

/** Base64 in lines of 76 characters, each ending in CRLF; the last line may be shorter. */
function encodeLines(bytes: Buffer): Buffer {
  const fullLines = Math.floor(bytes.length / BYTES_PER_LINE);
  const tail = bytes.length - fullLines * BYTES_PER_LINE;
  const tailChars = tail === 0 ? 0 : Math.ceil(tail / 3) * 4;
  const size = fullLines * (CHARS_PER_LINE + 2) + (tailChars > 0 ? tailChars + 2 : 0);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let offset = 0; offset < bytes.length; offset += BLOCK_BYTES) {
    const block = bytes
      .subarray(offset, Math.min(offset + BLOCK_BYTES, bytes.length))
      .toString('base64');
    for (let line = 0; line < block.length; line += CHARS_PER_LINE) {
      at += out.write(block.substring(line, line + CHARS_PER_LINE), at, 'latin1');
      at += out.write('\r\n', at, 'latin1');
    }
  }
  if (at !== size) throw new Error(`armor size mismatch: wrote ${at} of ${size} bytes`);
  return out;
}

/** The armored form of a whole binary message (see Armorer). */
export function armorMessage(binary: Uint8Array): Buffer {
  const armorer = new Armorer();
  return Buffer.concat([armorer.begin(), armorer.push(binary), armorer.end()]);
}
