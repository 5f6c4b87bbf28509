/**
 * The framing of the OpenPGP packets kzymy writes: packet headers with a definite length and
 * multiprecision integers. Only what encryption needs; reading is OpenPGP.js's job (and
 * ../packets.ts's, for the key check).
 */

/** RFC 9580 §5: the packet type IDs kzymy writes. */
export const PacketTag = {
  publicKeyEncryptedSessionKey: 1,
  literalData: 11,
  symEncryptedIntegrityProtectedData: 18,
  modificationDetectionCode: 19,
} as const;

/**
 * RFC 9580 §4.2.1: an OpenPGP-format packet header for a body of `length` octets. The length
 * is always known in advance (kzymy holds the whole message), so no partial body lengths.
 */
export function packetHeader(tag: number, length: number): Buffer {
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) {
    throw new RangeError('packet body length out of range');
  }
  // RFC 9580 §4.2: "Bit 7 -- Always one", "Bit 6 -- Always one (OpenPGP format)", bits 5-0 tag.
  const first = 0xc0 | tag;
  // RFC 9580 §4.2.1.1: "A one-octet Body Length header encodes a length of 0 to 191 octets."
  if (length < 192) return Buffer.from([first, length]);
  // RFC 9580 §4.2.1.2: 192 to 8383 octets: ((1st_octet - 192) << 8) + (2nd_octet) + 192.
  if (length < 8384) {
    const rest = length - 192;
    return Buffer.from([first, (rest >> 8) + 192, rest & 0xff]);
  }
  // RFC 9580 §4.2.1.3: 0xFF, then the length as a four-octet big-endian number.
  const header = Buffer.allocUnsafe(6);
  header[0] = first;
  header[1] = 0xff;
  header.writeUInt32BE(length, 2);
  return header;
}

/**
 * RFC 9580 §3.2: a multiprecision integer: "a two-octet scalar that is the length of the MPI in
 * bits followed by a string of octets that contain the actual integer", big-endian, with no
 * leading zero octets ("the size of an MPI is ((MPI.length + 7) / 8) + 2 octets").
 */
export function mpi(value: Uint8Array): Buffer {
  let start = 0;
  while (start < value.length && value[start] === 0) start++;
  if (start === value.length) throw new RangeError('an MPI of zero is not written');
  const top = value[start] as number;
  const bits = (value.length - start - 1) * 8 + (32 - Math.clz32(top));
  if (bits > 0xffff) throw new RangeError('MPI too long');
  const out = Buffer.allocUnsafe(2 + value.length - start);
  out.writeUInt16BE(bits, 0);
  out.set(value.subarray(start), 2);
  return out;
}

/** Reads an MPI at `offset` of a packet body; returns its integer octets and the next offset. */
export function readMpi(body: Uint8Array, offset: number): { value: Uint8Array; next: number } {
  if (offset + 2 > body.length) throw new RangeError('truncated MPI');
  const bits = ((body[offset] as number) << 8) | (body[offset + 1] as number);
  const next = offset + 2 + Math.ceil(bits / 8);
  if (next > body.length) throw new RangeError('truncated MPI');
  return { value: body.subarray(offset + 2, next), next };
}
