/**
 * Brute-force limiting per account (src/auth/limiter.ts): wrong passwords are answered more and
 * more slowly, then the account is locked — that account only, on IMAP and POP3 alike — until
 * auth.lockSeconds have passed. The clock is moved instead of waiting out the lock.
 */
import { expect } from 'chai';
import { startImapServers, type ImapServers } from '../../src/imap/server';
import { startPop3Servers, type Pop3Servers } from '../../src/pop3/server';
import { makeTestDeps, type TestDeps } from '../helpers/deps';
import { createAccount, RawImap, RawPop3, type TestAccount } from '../helpers/clients';

const MAX_FAILURES = 4;
const LOCK_SECONDS = 300;

describe('brute-force limiting per account', function () {
  this.timeout(60_000);
  let deps: TestDeps;
  let imap: ImapServers;
  let pop3: Pop3Servers;
  let offsetMs = 0;

  before(async function () {
    deps = await makeTestDeps({
      imap: { port: 0, tlsPort: 0 },
      pop3: { port: 0, tlsPort: 0 },
      auth: { maxFailures: MAX_FAILURES, lockSeconds: LOCK_SECONDS },
    });
    deps.clock = () => new Date(Date.now() + offsetMs);
    imap = await startImapServers(deps);
    pop3 = await startPop3Servers(deps);
  });

  after(async function () {
    for (const servers of [imap, pop3]) {
      await servers?.plain.close();
      await servers?.tls.close();
    }
    await deps?.close();
  });

  /** One LOGIN on a fresh connection (as a guessing script would): its answer and duration. */
  async function attempt(
    account: TestAccount,
    password: string,
  ): Promise<{ ok: boolean; text: string; ms: number }> {
    const client = await RawImap.connect({ port: imap.plain.port });
    const start = Date.now();
    const reply = await client.command(`LOGIN ${account.user.username} "${password}"`);
    const ms = Date.now() - start;
    await client.logout();
    return { ok: reply.status === 'OK', text: reply.tagged.replace(/^t\d+ /, ''), ms };
  }

  async function pop3Login(account: TestAccount, password: string): Promise<string> {
    const { client } = await RawPop3.connect({ port: pop3.plain.port });
    await client.command(`USER ${account.user.username}`);
    const reply = await client.command(`PASS ${password}`);
    await client.quit();
    return reply;
  }

  it('slows down, then locks that account only; the right password works again after the lock', async function () {
    const victim = await createAccount(deps);
    const bystander = await createAccount(deps);
    const from = deps.logLines.length;
    const failures = [];
    for (let i = 0; i < MAX_FAILURES; i++) failures.push(await attempt(victim, `guess-${i}`));
    for (const failure of failures)
      expect(failure).to.include({
        ok: false,
        text: 'NO [AUTHENTICATIONFAILED] Invalid credentials',
      });
    // Each failure is held longer than the one before (250 ms, doubling).
    for (let i = 1; i < failures.length; i++) {
      expect(failures[i]!.ms, `failure ${i + 1} slower`).to.be.above(failures[i - 1]!.ms);
    }
    expect(failures[2]!.ms).to.be.at.least(1000);
    expect(deps.logLines.slice(from).some((line) => line.includes('"auth.locked"'))).to.equal(true);

    // Locked: the right password gets the same answer, on IMAP and on POP3.
    const locked = await attempt(victim, victim.password);
    expect(locked).to.include({ ok: false, text: 'NO [AUTHENTICATIONFAILED] Invalid credentials' });
    expect(await pop3Login(victim, victim.password)).to.equal('-ERR [AUTH] Authentication failed');
    // Another account is not affected.
    expect((await attempt(bystander, bystander.password)).ok).to.equal(true);
    expect(await pop3Login(bystander, bystander.password)).to.match(/^\+OK/);

    // Still locked just before the end, open just after.
    offsetMs = (LOCK_SECONDS - 5) * 1000;
    expect((await attempt(victim, victim.password)).ok).to.equal(false);
    offsetMs = (LOCK_SECONDS + 5) * 1000;
    expect((await attempt(victim, victim.password)).ok).to.equal(true);
    // A success clears the count: one wrong password is answered at the first delay again.
    const again = await attempt(victim, 'one more guess');
    expect(again.ok).to.equal(false);
    expect(again.ms).to.be.below(failures[2]!.ms);
    expect(await pop3Login(victim, victim.password)).to.match(/^\+OK/);
  });

  it('parallel guesses on several connections wait in line, one delay apart', async function () {
    const victim = await createAccount(deps);
    offsetMs = 0;
    await attempt(victim, 'a');
    await attempt(victim, 'b');
    // Two failures: attempts now get slots 500 ms apart, whatever connection they come on.
    const results = await Promise.all([1, 2].map((i) => attempt(victim, `parallel-${i}`)));
    expect(results.every((result) => !result.ok)).to.equal(true);
    const [fast, slow] = results.map((result) => result.ms).sort((a, b) => a - b) as [
      number,
      number,
    ];
    // The first is held 1 s (third failure); the second waited for its slot, then 2 s.
    expect(fast).to.be.at.least(1000);
    expect(slow).to.be.at.least(fast + 500);
  });
});
