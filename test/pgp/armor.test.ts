import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import * as openpgp from 'openpgp';
import { armorMessage, crc24 } from '../../src/pgp/armor';

describe('pgp/armor', () => {
  it('computes the RFC 4880 CRC-24 (its initial value for no data; the value GnuPG gives "123456789")', () => {
    expect(crc24(new Uint8Array(0))).to.equal(0xb704ce);
    // The standard check value of CRC-24/OpenPGP.
    expect(crc24(Buffer.from('123456789'))).to.equal(0x21cf02);
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
