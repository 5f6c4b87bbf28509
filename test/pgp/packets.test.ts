import { expect } from 'chai';
import { listPackets, PacketFormatError } from '../../src/pgp/packets';

const bytes = (...parts: Array<number | number[]>): Uint8Array =>
  new Uint8Array(parts.flatMap((p) => (Array.isArray(p) ? p : [p])));
const fill = (n: number, v = 0): number[] => new Array<number>(n).fill(v);

describe('pgp/packets: listPackets', () => {
  it('reads old-format headers with 1-, 2- and 4-octet lengths (RFC 4880 §4.2.1)', () => {
    // Old format, tag 6 (public key), one-octet length 6: v4, time, algorithm 22 (EdDSA).
    const oneOctet = bytes(0x98, 6, 4, 0, 0, 0, 0, 22);
    // Old format, tag 14 (public subkey), two-octet length 6, algorithm 18 (ECDH).
    const twoOctet = bytes(0xb9, 0, 6, 4, 0, 0, 0, 0, 18);
    // Old format, tag 13 (user ID), four-octet length 2.
    const fourOctet = bytes(0xb6, 0, 0, 0, 2, 0x61, 0x62);
    expect(listPackets(bytes([...oneOctet], [...twoOctet], [...fourOctet]))).to.deep.equal([
      { tag: 6, keyVersion: 4, keyAlgorithm: 22 },
      { tag: 14, keyVersion: 4, keyAlgorithm: 18 },
      { tag: 13 },
    ]);
  });

  it('reads new-format headers with 1-, 2- and 5-octet and partial lengths (§4.2.2)', () => {
    const oneOctet = bytes(0xc6, 6, 6, 0, 0, 0, 0, 27); // v6 Ed25519 public key
    const twoOctet = bytes(0xc5, 192, 8, [4, 0, 0, 0, 0, 1], fill(194)); // 200-octet secret key
    const fiveOctet = bytes(0xcd, 255, 0, 0, 0, 3, 1, 2, 3); // user ID
    // Literal data: partial chunk of 2^1 = 2 octets, then a final 1-octet length of 1.
    const partial = bytes(0xcb, 0xe1, 9, 9, 1, 9);
    expect(
      listPackets(bytes([...oneOctet], [...twoOctet], [...fiveOctet], [...partial])),
    ).to.deep.equal([
      { tag: 6, keyVersion: 6, keyAlgorithm: 27 },
      { tag: 5, keyVersion: 4, keyAlgorithm: 1 },
      { tag: 13 },
      { tag: 11 },
    ]);
  });

  it('finds the algorithm after the validity period of a v3 key', () => {
    expect(listPackets(bytes(0x98, 8, 3, 0, 0, 0, 0, 0, 0, 1))).to.deep.equal([
      { tag: 6, keyVersion: 3, keyAlgorithm: 1 },
    ]);
  });

  it('throws PacketFormatError on a clear bit 7, a truncated body or a truncated length', () => {
    for (const bad of [
      bytes(0x41, 0x42),
      bytes(0x98, 10, 4, 0),
      bytes(0xc6, 200),
      bytes(0xb9, 0),
    ]) {
      expect(() => listPackets(bad)).to.throw(PacketFormatError);
    }
  });

  it('returns nothing for no bytes', () => {
    expect(listPackets(new Uint8Array(0))).to.deep.equal([]);
  });
});
