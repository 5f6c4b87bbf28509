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

/**
 * RFC 4880 §6.1 (RFC 9580 §6.1) CRC-24: initial value 0xB704CE, polynomial 0x1864CFB, most
 * significant bit first. Computed "slicing by 8" (eight bytes per step through eight tables),
 * about seven times faster in JavaScript than a byte at a time: at a megabyte the checksum
 * would otherwise cost more than the encryption itself. The register holds the CRC in its top
 * 24 bits, so each table entry is a 32-bit shift of the polynomial.
 */
const CRC24_TABLES = (() => {
  const poly = 0x864cfb00 | 0; // 0x1864CFB without its top bit, shifted into the top 24 bits
  const tables = Array.from({ length: 8 }, () => new Int32Array(256));
  const [first] = tables as [Int32Array];
  for (let i = 0; i < 256; i++) {
    let crc = i << 24;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x80000000 ? (crc << 1) ^ poly : crc << 1;
    first[i] = crc;
  }
  // Table k: the effect of a byte followed by k zero bytes.
  for (let k = 1; k < 8; k++) {
    const previous = tables[k - 1] as Int32Array;
    const table = tables[k] as Int32Array;
    for (let i = 0; i < 256; i++) {
      const p = previous[i] as number;
      table[i] = (p << 8) ^ (first[(p >>> 24) & 0xff] as number);
    }
  }
  return tables as [
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
    Int32Array,
  ];
})();

const CRC24_INIT = 0xb704ce;

function updateCrc24(crc: number, data: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC24_TABLES;
  let c = crc << 8;
  const whole = data.length - (data.length % 8);
  let i = 0;
  for (; i < whole; i += 8) {
    const w =
      c ^
      (((data[i] as number) << 24) |
        ((data[i + 1] as number) << 16) |
        ((data[i + 2] as number) << 8) |
        (data[i + 3] as number));
    c =
      (t7[w >>> 24] as number) ^
      (t6[(w >>> 16) & 0xff] as number) ^
      (t5[(w >>> 8) & 0xff] as number) ^
      (t4[w & 0xff] as number) ^
      (t3[data[i + 4] as number] as number) ^
      (t2[data[i + 5] as number] as number) ^
      (t1[data[i + 6] as number] as number) ^
      (t0[data[i + 7] as number] as number);
  }
  for (; i < data.length; i++)
    c = (c << 8) ^ (t0[((c >>> 24) ^ (data[i] as number)) & 0xff] as number);
  return (c >>> 8) & 0xffffff;
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

/**
 * Base64 in lines of 76 characters, each ending in CRLF; the last line may be shorter. Each
 * block of whole lines is encoded by Node in one call and written where it belongs, then its
 * lines are moved apart (last first) to make room for the line ends: one copy per line instead
 * of one string per line.
 */
function encodeLines(bytes: Buffer): Buffer {
  const fullLines = Math.floor(bytes.length / BYTES_PER_LINE);
  const tail = bytes.length - fullLines * BYTES_PER_LINE;
  const tailChars = tail === 0 ? 0 : Math.ceil(tail / 3) * 4;
  const size = fullLines * (CHARS_PER_LINE + 2) + (tailChars > 0 ? tailChars + 2 : 0);
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let offset = 0; offset < bytes.length; offset += BLOCK_BYTES) {
    const block = bytes.subarray(offset, Math.min(offset + BLOCK_BYTES, bytes.length));
    // Fits: the block's lines end up after `at`, CRLFs included, so out has room for it here.
    const chars = out.write(block.toString('base64'), at, 'latin1');
    const lines = Math.ceil(chars / CHARS_PER_LINE);
    for (let line = lines - 1; line >= 0; line--) {
      const from = at + line * CHARS_PER_LINE;
      const length = Math.min(CHARS_PER_LINE, chars - line * CHARS_PER_LINE);
      const to = at + line * (CHARS_PER_LINE + 2);
      if (to !== from) out.copyWithin(to, from, from + length);
      out[to + length] = 0x0d;
      out[to + length + 1] = 0x0a;
    }
    at += chars + lines * 2;
  }
  if (at !== size) throw new Error(`armor size mismatch: wrote ${at} of ${size} bytes`);
  return out;
}

/** The armored form of a whole binary message (see Armorer). */
export function armorMessage(binary: Uint8Array): Buffer {
  const armorer = new Armorer();
  return Buffer.concat([armorer.begin(), armorer.push(binary), armorer.end()]);
}
