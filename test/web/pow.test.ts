/**
 * The signup proof of work against the run's real Redis, with an injected clock: accepted once,
 * never replayed, never forged, never after expiry; solvable by the commands shown to users.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { Redis } from '../../src/redis/connection';
import { connectRedis } from '../../src/redis/connection';
import { ProofOfWork, solverCommands, solves, type PowOptions } from '../../src/web/pow';
import { sign } from '../../src/web/signing';
import { testRedisUrl } from '../helpers/services';
import { solvePow } from './helpers/http';

const run = promisify(execFile);

describe('web proof of work', () => {
  let redis: Redis;
  let now: Date;
  let options: PowOptions;
  let pow: ProofOfWork;

  before(async () => {
    redis = await connectRedis(testRedisUrl());
  });
  after(() => redis.disconnect());

  beforeEach(() => {
    now = new Date('2025-06-01T12:00:00Z');
    options = {
      key: randomBytes(32),
      redis,
      prefix: `pow-${randomBytes(4).toString('hex')}:`,
      clock: () => now,
      bits: 8,
      ttlSeconds: 600,
    };
    pow = new ProofOfWork(options);
  });

  it('accepts a solved challenge once and refuses the replay', async () => {
    const { challenge, bits } = pow.issue();
    expect(challenge).to.match(/^[0-9a-z.]+$/);
    const nonce = solvePow(challenge, bits);
    expect(await pow.redeem(challenge, nonce)).to.deep.equal({ ok: true });
    expect(await pow.redeem(challenge, nonce)).to.deep.equal({ ok: false, reason: 'replayed' });
    // Another solution of the same challenge is a replay too: the challenge is what is used up.
    let other = Number(nonce) + 1;
    while (!solves(challenge, bits, String(other))) other++;
    expect(await pow.redeem(challenge, String(other))).to.deep.equal({
      ok: false,
      reason: 'replayed',
    });
  });

  it('is single-use across daemons sharing the secret and Redis', async () => {
    const { challenge, bits } = pow.issue();
    const nonce = solvePow(challenge, bits);
    const second = new ProofOfWork({ ...options });
    const results = await Promise.all([
      pow.redeem(challenge, nonce),
      second.redeem(challenge, nonce),
    ]);
    expect(results.filter((r) => r.ok)).to.have.length(1);
  });

  it('refuses a forged challenge: altered, or signed with another key', async () => {
    const { challenge, bits } = pow.issue();
    // Lower the difficulty in the text: the signature no longer matches.
    const cheaper = challenge.replace(/^k1\.8\./, 'k1.1.');
    expect(await pow.redeem(cheaper, solvePow(cheaper, 1))).to.deep.equal({
      ok: false,
      reason: 'forged',
    });
    const foreign = new ProofOfWork({ ...options, key: randomBytes(32) }).issue();
    expect(await pow.redeem(foreign.challenge, solvePow(foreign.challenge, bits))).to.deep.equal({
      ok: false,
      reason: 'forged',
    });
    // A well-formed challenge with a made-up MAC.
    const body = challenge.slice(0, challenge.lastIndexOf('.'));
    const madeUp = `${body}.${sign(randomBytes(32), body)}`;
    expect((await pow.redeem(madeUp, solvePow(madeUp, bits))).ok).to.equal(false);
    expect(await pow.redeem('k1.8.nonsense', '1')).to.deep.equal({
      ok: false,
      reason: 'malformed',
    });
  });

  it('refuses a challenge after its time is up, and one from the future', async () => {
    const { challenge, bits } = pow.issue();
    const nonce = solvePow(challenge, bits);
    now = new Date(now.getTime() + 600_000);
    expect(await pow.redeem(challenge, nonce)).to.deep.equal({ ok: false, reason: 'expired' });
    // Issued by a daemon whose clock runs ten minutes ahead.
    const ahead = new ProofOfWork({ ...options, clock: () => new Date(now.getTime() + 600_000) });
    const early = ahead.issue();
    expect(await pow.redeem(early.challenge, solvePow(early.challenge, bits))).to.deep.equal({
      ok: false,
      reason: 'expired',
    });
  });

  it('accepts a challenge up to its last second', async () => {
    const { challenge, bits } = pow.issue();
    now = new Date(now.getTime() + 599_000);
    expect(await pow.redeem(challenge, solvePow(challenge, bits))).to.deep.equal({ ok: true });
  });

  it('refuses a wrong solution without using the challenge up', async () => {
    const { challenge, bits } = pow.issue();
    let wrong = 0;
    while (solves(challenge, bits, String(wrong))) wrong++;
    expect(await pow.redeem(challenge, String(wrong))).to.deep.equal({
      ok: false,
      reason: 'wrong-solution',
    });
    expect(await pow.redeem(challenge, 'not a number')).to.deep.equal({
      ok: false,
      reason: 'wrong-solution',
    });
    expect(await pow.redeem(challenge, solvePow(challenge, bits))).to.deep.equal({ ok: true });
  });

  it('refuses a challenge issued at a lower difficulty than now configured', async () => {
    const easy = new ProofOfWork({ ...options, bits: 2 }).issue();
    expect(await pow.redeem(easy.challenge, solvePow(easy.challenge, 2))).to.deep.equal({
      ok: false,
      reason: 'too-easy',
    });
  });

  it('is solved by the python3 one-liner shown to users without JavaScript', async () => {
    const challenge = new ProofOfWork({ ...options, bits: 12 }).issue();
    const { python } = solverCommands(challenge);
    const { stdout } = await run('sh', ['-c', python]);
    expect(stdout.trim()).to.match(/^\d+$/);
    expect(solves(challenge.challenge, 12, stdout.trim())).to.equal(true);
  });

  it("is solved by Debian's hashcash (a v1 stamp over the challenge)", async () => {
    const issued = pow.issue();
    const { hashcash } = solverCommands(issued);
    const { stdout } = await run('sh', ['-c', hashcash]);
    const stamp = stdout.trim();
    expect(stamp.split(':')[3]).to.equal(issued.challenge);
    expect(await pow.redeem(issued.challenge, stamp)).to.deep.equal({ ok: true });
    // A stamp for another resource does not count.
    const other = pow.issue();
    expect(await pow.redeem(other.challenge, stamp)).to.deep.equal({
      ok: false,
      reason: 'wrong-solution',
    });
  });
});
