/**
 * DataCapture fed the way Haraka feeds accumulate_data: one piece per LF (connection.js
 * _process_data splits its input at every LF).
 */
import { expect } from 'chai';
import { DataCapture } from '../../src/smtp/data-capture';
import { expectBytes } from '../helpers/bytes';

/** Splits wire bytes into Haraka's pieces and feeds them until 'end'; returns what was left. */
function feed(capture: DataCapture, wire: string | Buffer): Buffer {
  const bytes = Buffer.from(wire as string, 'latin1');
  let start = 0;
  while (start < bytes.length) {
    const lf = bytes.indexOf(0x0a, start);
    if (lf < 0) throw new Error('wire data must end with LF');
    const piece = bytes.subarray(start, lf + 1);
    start = lf + 1;
    if (capture.push(piece) === 'end') return bytes.subarray(start);
  }
  throw new Error('no end of data');
}

function captured(wire: string, max = 1 << 20): string {
  const capture = new DataCapture(max);
  const rest = feed(capture, wire);
  expect(rest.length, 'bytes after the end of data').to.equal(0);
  return capture.message().toString('latin1');
}

describe('smtp: DATA capture (RFC 5321 §4.1.1.4, §4.5.2)', () => {
  it('ends only at CRLF . CRLF and removes dot-stuffing', () => {
    expect(captured('a\r\n..b\r\n.c\r\n.\r\n')).to.equal('a\r\n.b\r\nc\r\n');
  });

  it('takes an empty message', () => {
    expect(captured('.\r\n')).to.equal('');
  });

  for (const [name, sequence] of [
    ['<LF>.<LF>', '\n.\n'],
    ['<LF>.<CRLF>', '\n.\r\n'],
    ['<CRLF>.<LF>', '\r\n.\n'],
    ['<CR>.<CR>', '\r.\r'],
    ['<CR>.<CRLF>', '\r.\r\n'],
  ] as const) {
    it(`does not end DATA at ${name} (SMTP smuggling)`, () => {
      const wire = `Subject: x\r\n\r\nbody${sequence}MAIL FROM:<evil@example.com>\r\nRCPT TO:<a@b>\r\n.\r\n`;
      const message = captured(wire);
      // Everything up to the real terminator is content; a dot is only removed at a CRLF line
      // start (RFC 5321 §4.5.2), so <CRLF>.<LF> keeps LF without its dot.
      const expected = `Subject: x\r\n\r\nbody${sequence}MAIL FROM:<evil@example.com>\r\nRCPT TO:<a@b>\r\n`;
      expect(message).to.equal(
        name === '<CRLF>.<LF>' ? expected.replace('\r\n.\n', '\r\n\n') : expected,
      );
    });
  }

  it('keeps bare LF, bare CR, NUL and 8-bit bytes as they are', () => {
    const body = 'a\nb\rc\0d\xff\xfe\r\n';
    expect(captured(`${body}.\r\n`)).to.equal(body);
  });

  it('keeps a message of exactly the limit and refuses one byte more', () => {
    const line = 'x'.repeat(98) + '\r\n';
    const exact = new DataCapture(1000);
    feed(exact, line.repeat(10) + '.\r\n');
    expect(exact.oversize).to.equal(false);
    expect(exact.size).to.equal(1000);

    const over = new DataCapture(1000);
    feed(over, line.repeat(10) + 'y\r\n' + '.\r\n');
    expect(over.oversize).to.equal(true);
    expect(() => over.message()).to.throw();
    expect(over.size).to.equal(0);
  });

  it('counts the wire bytes, stuffing and terminator included', () => {
    const capture = new DataCapture(100);
    feed(capture, '..a\r\n.\r\n');
    expect(capture.wireBytes).to.equal(8);
    expect(capture.size).to.equal(4);
  });

  it('forgets the content on clear()', () => {
    const capture = new DataCapture(100);
    feed(capture, 'secret\r\n.\r\n');
    capture.clear();
    expect(capture.message().length).to.equal(0);
  });

  it('keeps a large message in a few slabs, not one Buffer per line, and hands them over as they are', () => {
    const capture = new DataCapture(30 * 1024 * 1024);
    const line = 'y'.repeat(74) + '\r\n';
    const lines = 100_000; // 7.6 MB in lines of 76 bytes
    for (let i = 0; i < lines; i++) capture.push(Buffer.from(line, 'latin1'));
    expect(capture.push(Buffer.from('.\r\n'))).to.equal('end');
    const pieces = capture.pieces();
    expect(pieces.length).to.be.below(50);
    expect(pieces.reduce((sum, piece) => sum + piece.length, 0)).to.equal(lines * line.length);
    expectBytes(capture.message(), Buffer.from(line.repeat(lines), 'latin1'));
    capture.clear();
    // The slabs handed out were zeroed: no copy of the content outlives the transaction.
    expect(pieces.every((piece) => piece.every((byte) => byte === 0))).to.equal(true);
  });
});
