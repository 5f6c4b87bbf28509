// A minimal OpenPGP packet-header walker (RFC 4880 §4.2, RFC 9580 §4.2).
//
// Used before handing bytes to OpenPGP.js so that key-check can tell *why* an upload is not
// acceptable (a private key, two keys, a v5/v6 key OpenPGP.js or GnuPG 2.2 cannot use) even
// when the full parser would just fail. It reads headers and the first bytes of key packets;
// it never interprets or copies key material.

/** RFC 9580 §5: packet type IDs the key check cares about. */
export const Tag = {
  secretKey: 5,
  publicKey: 6,
  secretSubkey: 7,
  publicSubkey: 14,
} as const;

export interface PacketHeader {
  tag: number;
  /** Key packet version (first body octet) for key packets; undefined otherwise. */
  keyVersion?: number;
  /** Public-key algorithm ID for key packets (RFC 9580 §9.1); undefined otherwise. */
  keyAlgorithm?: number;
}

/** Thrown when the bytes are not a well-formed sequence of OpenPGP packets. */
export class PacketFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PacketFormatError';
  }
}

const KEY_TAGS: ReadonlySet<number> = new Set([
  Tag.secretKey,
  Tag.publicKey,
  Tag.secretSubkey,
  Tag.publicSubkey,
]);

/** List the top-level packets of `bytes`; throws PacketFormatError on malformed framing. */
export function listPackets(bytes: Uint8Array): PacketHeader[] {
  const packets: PacketHeader[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const first = bytes[pos++] as number;
    // RFC 4880 §4.2: "The first octet of the packet header is called the Packet Tag. ...
    // Bit 7 -- Always one".
    if ((first & 0x80) === 0) throw new PacketFormatError('invalid packet tag');
    let tag: number;
    const chunks: Array<[number, number]> = []; // [start, length] of body pieces
    if (first & 0x40) {
      // New format (RFC 4880 §4.2.2): tag in bits 5-0, then one or more length octets.
      tag = first & 0x3f;
      for (;;) {
        const { length, partial, next } = readNewLength(bytes, pos);
        chunks.push([next, length]);
        pos = next + length;
        if (!partial) break;
      }
    } else {
      // Old format (RFC 4880 §4.2.1): tag in bits 5-2, length type in bits 1-0.
      tag = (first >> 2) & 0x0f;
      const lengthType = first & 0x03;
      let length: number;
      if (lengthType === 3) {
        length = bytes.length - pos; // indeterminate: to the end of the data
      } else {
        const n = 1 << lengthType; // 1, 2 or 4 octets
        length = readUint(bytes, pos, n);
        pos += n;
      }
      chunks.push([pos, length]);
      pos += length;
    }
    if (pos > bytes.length) throw new PacketFormatError('truncated packet');
    const header: PacketHeader = { tag };
    const [bodyStart, bodyLength] = chunks[0] ?? [pos, 0];
    if (KEY_TAGS.has(tag) && bodyLength >= 1) {
      header.keyVersion = bytes[bodyStart];
      // RFC 4880 §5.5.2: v3 has a two-octet validity period before the algorithm;
      // v4 (and v5/v6) have version, four-octet creation time, algorithm.
      const algoOffset = header.keyVersion === 3 ? 7 : 5;
      if (bodyLength > algoOffset) header.keyAlgorithm = bytes[bodyStart + algoOffset];
    }
    packets.push(header);
  }
  return packets;
}

function readNewLength(
  bytes: Uint8Array,
  pos: number,
): { length: number; partial: boolean; next: number } {
  const o1 = bytes[pos];
  if (o1 === undefined) throw new PacketFormatError('truncated packet length');
  if (o1 < 192) return { length: o1, partial: false, next: pos + 1 };
  if (o1 < 224) {
    const o2 = bytes[pos + 1];
    if (o2 === undefined) throw new PacketFormatError('truncated packet length');
    return { length: ((o1 - 192) << 8) + o2 + 192, partial: false, next: pos + 2 };
  }
  if (o1 === 255) return { length: readUint(bytes, pos + 1, 4), partial: false, next: pos + 5 };
  // RFC 4880 §4.2.2.4: partial body length, 1 << (o1 & 0x1f) octets, more to follow.
  return { length: 1 << (o1 & 0x1f), partial: true, next: pos + 1 };
}

function readUint(bytes: Uint8Array, pos: number, n: number): number {
  if (pos + n > bytes.length) throw new PacketFormatError('truncated packet length');
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + (bytes[pos + i] as number);
  return v;
}
