/**
 * RCPT TO against the real store: who gets mail, who gets 550 5.1.1 (the same reply for every
 * kind of "no" under kzymy's domain; the log says which), 550 5.7.1 for other domains (relaying),
 * and 452 4.2.2 for a mailbox a message would fill. The quota at DATA, and the limits per
 * transaction, are in transaction-limits.test.ts.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { SmtpHarness, type TestUser } from './helpers/harness';
import { SmtpClient } from './helpers/smtp-client';

describe('smtp: recipients', function () {
  this.timeout(60_000);
  let h: SmtpHarness;
  let client: SmtpClient;
  let alice: TestUser;

  before(async () => {
    // A small quota: one small message (a 4 KiB padded payload, about 6.5 KB stored) fits, and
    // leaves too little room for a second one.
    h = await SmtpHarness.start({ settings: { smtp: { quotaBytes: 10_000 } } });
    alice = await h.addUser();
  });
  after(async () => h?.close());
  beforeEach(async () => {
    client = await SmtpClient.ready(h.port);
    await client.command('MAIL FROM:<sender@example.org>', 250);
  });
  afterEach(async () => client.quit());

  async function rcpt(address: string): Promise<string> {
    return (await client.command(`RCPT TO:<${address}>`)).raw;
  }

  it('accepts any local part of an active user, in any case', async () => {
    expect(await rcpt(alice.address('anything'))).to.equal('250 2.1.5 Recipient OK');
    const shouting = `Shop@${alice.user.username.toUpperCase()}.${h.domain.toUpperCase()}`;
    expect(await rcpt(shouting)).to.equal('250 2.1.5 Recipient OK');
  });

  it('refuses an unknown user, a pending or disabled account and a disabled address alike, logging why', async () => {
    const pending = await h.addUser({ state: 'pending' });
    const stopped = await h.addUser();
    await h.deps.store.users.disable(stopped.user.id);
    await h.deps.store.users.disableAddress(alice.user.id, 'Leaked');
    const refused: Array<[string, string]> = [
      [`x@nosuchuser.${h.domain}`, 'unknown_user'],
      [pending.address(), 'account_inactive'],
      [stopped.address(), 'account_disabled'],
      [alice.address('leaked'), 'disabled_address'],
      [alice.address('LEAKED'), 'disabled_address'],
      [`x@${h.domain}`, 'unknown_user'],
      [`x@sub.${alice.user.username}.${h.domain}`, 'unknown_user'],
      ['postmaster', 'unknown_user'],
    ];
    for (const [address, reason] of refused) {
      const from = logLength();
      expect(await rcpt(address), address).to.equal('550 5.1.1 No such user here');
      const line = await refusalLine(from);
      expect(line, address).to.include({ event: 'smtp.refused', reason, enhanced: '5.1.1' });
    }
  });

  it('refuses other domains as relaying (550 5.7.1), however the domain is dressed up', async () => {
    for (const address of [
      'victim@example.com',
      `x@${alice.user.username}.${h.domain}.evil.example`,
      `x@evil${h.domain}`,
    ]) {
      const from = logLength();
      expect(await rcpt(address), address).to.equal('550 5.7.1 Relaying denied');
      expect(await refusalLine(from)).to.include({ reason: 'foreign_domain', enhanced: '5.7.1' });
    }
  });

  /** The Haraka process's log (<dataDir>/logs/haraka.log), in lines. */
  function logLines(): string[] {
    return readFileSync(h.haraka.logFile, 'utf8').split('\n').filter(Boolean);
  }

  function logLength(): number {
    return logLines().length;
  }

  /** The smtp.refused line logged after line `from` (Haraka writes it a moment later). */
  async function refusalLine(from: number): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const line = logLines()
        .slice(from)
        .filter((text) => text.startsWith('{'))
        .map((text) => JSON.parse(text) as Record<string, unknown>)
        .find((record) => record.event === 'smtp.refused');
      if (line) return line;
      if (Date.now() > deadline) throw new Error('no smtp.refused line');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('accepts only allowed local parts when the catch-all is off', async () => {
    const bob = await h.addUser();
    await h.deps.store.users.setCatchAll(bob.user.id, false);
    await h.deps.store.users.allowAddress(bob.user.id, 'Lists');
    expect(await rcpt(bob.address('lists'))).to.equal('250 2.1.5 Recipient OK');
    expect(await rcpt(bob.address('other'))).to.equal('550 5.1.1 No such user here');
  });

  it('answers 452 4.2.2 at RCPT when a declared SIZE would fill the mailbox, and the sender keeps the mail', async () => {
    const carol = await h.addUser();
    await client.command('RSET', 250);
    const reply = await client.send(
      'sender@example.org',
      [carol.address()],
      'Subject: a\r\n\r\n' + 'x'.repeat(3000) + '\r\n',
    );
    expect(reply.code).to.equal(250);
    const used = await h.deps.store.messages.usedBytes(carol.user.id);
    expect(used).to.be.within(5_000, 10_000);
    // RFC 1870: with the size declared, a message sure to exceed the quota is refused at once.
    await client.command('MAIL FROM:<sender@example.org> SIZE=3000', 250);
    expect(await rcpt(carol.address())).to.equal('452 4.2.2 Mailbox full, try again later');
    // Another user is unaffected, and a small declared size is no reason to refuse.
    expect(await rcpt(alice.address())).to.equal('250 2.1.5 Recipient OK');
    await client.command('RSET', 250);
    await client.command('MAIL FROM:<sender@example.org> SIZE=10', 250);
    expect(await rcpt(alice.address())).to.equal('250 2.1.5 Recipient OK');
  });
});
