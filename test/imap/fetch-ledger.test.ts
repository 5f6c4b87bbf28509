/** The pure parts of delete-after-fetch bookkeeping (src/mailbox): coverage, header end, names. */
import { expect } from 'chai';
import { blankLineEnd } from '../../src/mailbox-access/content';
import { FetchLedger } from '../../src/delete-after-fetch/ledger';
import { loginName } from '../../src/mailbox-access/login';
import { isLoopbackHost } from '../../src/mailbox-access/listen';

describe('mailbox bookkeeping', function () {
  it('a message is received once its ranges cover it, reported exactly once', function () {
    const ledger = new FetchLedger();
    expect(ledger.record('m', 100, 10, 50)).to.equal(false);
    expect(ledger.record('m', 100, 60, 100)).to.equal(false);
    // A gap (50..60) remains; adjacent and overlapping ranges merge.
    expect(ledger.record('m', 100, 0, 10)).to.equal(false);
    expect(ledger.isComplete('m')).to.equal(false);
    expect(ledger.record('m', 100, 45, 61)).to.equal(true);
    expect(ledger.record('m', 100, 0, 100)).to.equal(false);
    expect(ledger.completed()).to.deep.equal(['m']);
    // Out-of-range and empty pieces cover nothing; an empty message is received by any fetch.
    expect(ledger.record('n', 10, 10, 20)).to.equal(false);
    expect(ledger.record('n', 10, 5, 5)).to.equal(false);
    expect(ledger.record('empty', 0, 0, 0)).to.equal(true);
    expect(ledger.completed().sort()).to.deep.equal(['empty', 'm']);
  });

  it('finds the end of the header section (RFC 5322 §2.1)', function () {
    expect(blankLineEnd(Buffer.from('A: b\r\nC: d\r\n\r\nbody'))).to.equal(14);
    expect(blankLineEnd(Buffer.from('A: b\n\nbody'))).to.equal(6);
    expect(blankLineEnd(Buffer.from('\r\nbody'))).to.equal(2);
    expect(blankLineEnd(Buffer.from('A: b\r\nno blank line'))).to.equal(null);
    // The earliest empty line wins, whichever line ending it uses.
    expect(blankLineEnd(Buffer.from('A: b\n\nC: d\r\n\r\n'))).to.equal(6);
  });

  it('accepts the login name bare, at the domain, or as any address of the user', function () {
    expect(loginName('Abc2def', 'kzymy.test')).to.equal('abc2def');
    expect(loginName('abc2def@kzymy.test', 'kzymy.test')).to.equal('abc2def');
    expect(loginName('whatever@abc2def.kzymy.test', 'kzymy.test')).to.equal('abc2def');
    expect(loginName('abc2def@example.org', 'kzymy.test')).to.equal(null);
    expect(loginName('a.b@kzymy.test', 'kzymy.test')).to.equal(null);
  });

  it('tells loopback listeners from the rest', function () {
    for (const host of [
      '127.0.0.1',
      '127.1.2.3',
      '::1',
      '[::1]',
      'localhost',
      '::ffff:127.0.0.1',
    ]) {
      expect(isLoopbackHost(host), host).to.equal(true);
    }
    for (const host of ['0.0.0.0', '::', '192.0.2.1', 'mail.example.org']) {
      expect(isLoopbackHost(host), host).to.equal(false);
    }
  });
});
