/**
 * ASCII armor for an OpenPGP message (RFC 4880 §6.2), built with Node's native base64 straight
 * into one Buffer. OpenPGP.js armors in JavaScript through strings, which for a 25 MB message
 * costs about half the encryption time and several hundred MiB of transient memory; this costs
 * one copy of the output.
 */

const BEGIN = '-----BEGIN PGP MESSAGE-----\r\n\r\n';
const END = '-----END PGP MESSAGE-----\r\n';
/** RFC 4880 §6.3: "lines ... no longer than 76 characters"; 57 bytes make 76 base64 characters. */
const BYTES_PER_LINE = 57;
const CHARS_PER_LINE = 76;
/** Bytes encoded per base64 call: whole lines, so no line straddles two calls. */
const BLOCK_BYTES = BYTES_PER_LINE * 1024;
/** "=" and the base64 of the 3-byte CRC (RFC 4880 §6.2), then CRLF: always 7 bytes. */
const CRC_LINE = { length: 7 } as const;

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

export function crc24(data: Uint8Array): number {
  let crc = 0xb704ce;
  for (let i = 0; i < data.length; i++) {
    crc =
      ((crc << 8) ^ (CRC24_TABLE[((crc >> 16) ^ (data[i] as number)) & 0xff] as number)) & 0xffffff;
  }
  return crc;
}

/** The armored form, CRLF line ends, no Version or Comment header (nothing identifies the software). */
export function armorMessage(binary: Uint8Array): Buffer {
  const bytes = Buffer.from(binary.buffer, binary.byteOffset, binary.byteLength);
  const fullLines = Math.floor(bytes.length / BYTES_PER_LINE);
  const tail = bytes.length - fullLines * BYTES_PER_LINE;
  const tailChars = tail === 0 ? 0 : Math.ceil(tail / 3) * 4;
  const size =
    BEGIN.length +
    fullLines * (CHARS_PER_LINE + 2) +
    (tailChars > 0 ? tailChars + 2 : 0) +
    CRC_LINE.length +
    END.length;
  const out = Buffer.allocUnsafe(size);
  let at = out.write(BEGIN, 0, 'latin1');
  for (let offset = 0; offset < bytes.length; offset += BLOCK_BYTES) {
    const block = bytes
      .subarray(offset, Math.min(offset + BLOCK_BYTES, bytes.length))
      .toString('base64');
    for (let line = 0; line < block.length; line += CHARS_PER_LINE) {
      at += out.write(block.substring(line, line + CHARS_PER_LINE), at, 'latin1');
      at += out.write('\r\n', at, 'latin1');
    }
  }
  const crc = crc24(bytes);
  const checksum = Buffer.from([(crc >> 16) & 0xff, (crc >> 8) & 0xff, crc & 0xff]).toString(
    'base64',
  );
  at += out.write(`=${checksum}\r\n`, at, 'latin1');
  at += out.write(END, at, 'latin1');
  if (at !== size) throw new Error(`armor size mismatch: wrote ${at} of ${size} bytes`);
  return out;
}
