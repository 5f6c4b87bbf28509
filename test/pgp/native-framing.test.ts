import { expect } from 'chai';
import { mpi, packetHeader, readMpi } from '../../src/pgp/native/packet-framing';

describe('pgp/native: packet framing', () => {
  it('encodes lengths as the examples of RFC 9580 §4.2.3', () => {
    // "A packet with length 100 may have its length encoded in one octet: 0x64."
    expect(packetHeader(11, 100)).to.deep.equal(Buffer.from([0xcb, 0x64]));
    // "A packet with length 1723 may have its length encoded in two octets: 0xC5, 0xFB."
    expect(packetHeader(11, 1723)).to.deep.equal(Buffer.from([0xcb, 0xc5, 0xfb]));
    // "A packet with length 100000 may have its length encoded in five octets:
    // 0xFF, 0x00, 0x01, 0x86, 0xA0."
    expect(packetHeader(11, 100000)).to.deep.equal(Buffer.from([0xcb, 0xff, 0, 0x01, 0x86, 0xa0]));
  });

  it('switches length forms exactly at 192 and 8384 (RFC 9580 §4.2.1.1-3)', () => {
    expect(packetHeader(18, 0)).to.deep.equal(Buffer.from([0xd2, 0]));
    expect(packetHeader(18, 191)).to.deep.equal(Buffer.from([0xd2, 191]));
    expect(packetHeader(18, 192)).to.deep.equal(Buffer.from([0xd2, 192, 0]));
    expect(packetHeader(18, 8383)).to.deep.equal(Buffer.from([0xd2, 223, 255]));
    expect(packetHeader(18, 8384)).to.deep.equal(Buffer.from([0xd2, 0xff, 0, 0, 0x20, 0xc0]));
    expect(packetHeader(1, 0xffffffff)).to.deep.equal(
      Buffer.from([0xc1, 0xff, 255, 255, 255, 255]),
    );
    expect(() => packetHeader(1, 2 ** 32)).to.throw(RangeError);
    expect(() => packetHeader(1, -1)).to.throw(RangeError);
  });

  it('writes MPIs as the examples of RFC 9580 §3.2, leading zeros stripped', () => {
    // "The string of octets [00 01 01] forms an MPI with the value 1." "[00 09 01 FF] ... 511."
    expect(mpi(Buffer.from([1]))).to.deep.equal(Buffer.from([0, 1, 1]));
    expect(mpi(Buffer.from([1, 0xff]))).to.deep.equal(Buffer.from([0, 9, 1, 0xff]));
    expect(mpi(Buffer.from([0, 0, 1, 0xff]))).to.deep.equal(Buffer.from([0, 9, 1, 0xff]));
    // RFC 9580 §11.2.3: a prefixed Curve25519Legacy point is 263 bits.
    const point = Buffer.concat([Buffer.from([0x40]), Buffer.alloc(32, 0xaa)]);
    expect(mpi(point).subarray(0, 3)).to.deep.equal(Buffer.from([0x01, 0x07, 0x40]));
    expect(() => mpi(Buffer.from([0, 0]))).to.throw(RangeError);
  });

  it('reads back what it writes, and refuses a truncated MPI', () => {
    const value = Buffer.from([0x12, 0x34, 0x56]);
    const body = Buffer.concat([Buffer.from([9]), mpi(value), Buffer.from([7])]);
    const read = readMpi(body, 1);
    expect(Buffer.from(read.value)).to.deep.equal(value);
    expect(read.next).to.equal(body.length - 1);
    expect(() => readMpi(body.subarray(0, 4), 1)).to.throw(RangeError);
  });
});
