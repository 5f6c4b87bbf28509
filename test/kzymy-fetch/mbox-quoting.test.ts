/**
 * Regression tests from fuzzing (fuzz/targets/fetch-local-delivery.ts, docs/fuzzing.md): an
 * mbox entry must read back as the message.
 */
import { expect } from 'chai';
import { mboxEntry } from '../../src/kzymy-fetch/deliver-mbox';

describe('kzymy-fetch: mboxrd quoting (found by fuzzing)', function () {
  it('does not quote "From " after a bare CR, which is not a line start in an mbox', function () {
    const entry = mboxEntry(Buffer.from('a\rFrom b\r\nFrom c\n'), 'x@example.org', new Date(0));
    expect(entry.toString('latin1')).to.equal(
      'From x@example.org Thu Jan  1 00:00:00 1970\na\rFrom b\n>From c\n\n',
    );
  });
});
