import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import * as openpgp from 'openpgp';
import { armorMessage, Armorer, crc24 } from '../../src/pgp/armor';

/** RFC 9580 §6.1.1's C implementation of CRC-24, a bit at a time: the reference. */
function referenceCrc24(data: Uint8Array): number {
  let crc = 0xb704ce;
  for (const octet of data) {
    crc ^= octet << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

describe('pgp/armor', () => {
  it('computes the RFC 4880 CRC-24 (its initial value for no data; the value GnuPG gives "123456789")', () => {
    expect(crc24(new Uint8Array(0))).to.equal(0xb704ce);
    // The standard check value of CRC-24/OpenPGP.
    expect(crc24(Buffer.from('123456789'))).to.equal(0x21cf02);
  });

  it('computes the CRC-24 of RFC 9580 §6.1.1 for every length around its 8-byte steps', () => {
    for (let size = 0; size < 70; size++) {
      const data = randomBytes(size);
      expect(crc24(data), `${size} bytes`).to.equal(referenceCrc24(data));
    }
    const large = randomBytes(100_003);
    expect(crc24(large)).to.equal(referenceCrc24(large));
  });

  it('armors a message given in uneven pieces exactly as the whole', () => {
    const data = randomBytes(300_001);
    const armorer = new Armorer();
    const parts = [armorer.begin()];
    for (let at = 0, n = 0; at < data.length; n++) {
      const size = [1, 7, 57 * 1024 + 3, 13, 100_000][n % 5] as number;
      parts.push(armorer.push(data.subarray(at, at + size)));
      at += size;
    }
    parts.push(armorer.end());
    expect(Buffer.concat(parts).equals(armorMessage(data))).to.equal(true);
  });

  for (const size of [0, 1, 56, 57, 58, 114, 57 * 1024, 57 * 1024 + 1, 1024 * 1024 + 3]) {
    it(`armors ${size} bytes so that OpenPGP.js reads back the same bytes`, async () => {
      const data = randomBytes(size);
      const armored = armorMessage(data);
      const text = armored.toString('latin1');
      expect(text.startsWith('-----BEGIN PGP MESSAGE-----\r\n\r\n')).to.equal(true);
      expect(text.endsWith('-----END PGP MESSAGE-----\r\n')).to.equal(true);
      // RFC 4880 §6.3: CRLF only, lines of at most 76 characters, 7-bit.
      expect(text.replace(/\r\n/g, '')).not.to.match(/[\r\n]/);
      for (const line of text.split('\r\n')) expect(line.length).to.be.at.most(76);
      expect(/^[\x20-\x7e\r\n]*$/.test(text)).to.equal(true);
      const { data: back } = await openpgp.unarmor(text);
      expect(Buffer.from(back as Uint8Array)).to.deep.equal(data);
    });
  }

  it('writes the checksum line OpenPGP.js would write', async () => {
    const data = randomBytes(1000);
    const ours = armorMessage(data).toString('latin1').split('\r\n');
    const theirs = openpgp
      .armor(openpgp.enums.armor.message, data, undefined, undefined, undefined, true)
      .split(/\r?\n/);
    const checksum = (lines: string[]) => lines.find((line) => /^=[A-Za-z0-9+/]{4}$/.test(line));
    expect(checksum(ours)).to.equal(checksum(theirs));
  });
});
