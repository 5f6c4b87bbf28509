/**
 * Regression test from fuzzing (fuzz/targets/fetch-local-delivery.ts, docs/fuzzing.md): reading
 * the envelope of a hostile message takes time in proportion to its size.
 */
import { expect } from 'chai';
import { addressOf, envelopeOf } from '../../src/kzymy-fetch/message-headers';

describe('kzymy-fetch: envelope of a hostile message (found by fuzzing)', function () {
  it('reads a From header of 200,000 "<" at once (was 13 s: a regular expression rescanned it)', function () {
    const message = Buffer.from(`From: ${'<'.repeat(200_000)}\r\n\r\nbody\r\n`, 'latin1');
    const started = process.hrtime.bigint();
    const envelope = envelopeOf(message);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(envelope.sender).to.equal('<'.repeat(200_000));
    // Linear work is a few milliseconds; the quadratic version took seconds even on a fast machine.
    expect(ms).to.be.below(1000);
  });

  it('still takes the address inside the first <...> that closes', function () {
    expect(addressOf('Alice <alice@example.org>')).to.equal('alice@example.org');
    expect(addressOf('<>')).to.equal('');
    expect(addressOf('<< a@b > c>')).to.equal('< a@b');
    expect(addressOf('a <b')).to.equal('a <b');
    expect(addressOf(' bare@example.org ')).to.equal('bare@example.org');
  });
});
