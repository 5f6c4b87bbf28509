/**
 * RCPT TO against the real store: who gets mail, who gets 550 5.1.1 (the same reply for every
 * kind of "no"), and 452 4.2.2 for a mailbox a message would fill. The quota at DATA, and the
 * limits per transaction, are in transaction-limits.test.ts.
 */
import { expect } from 'chai';
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

  it('refuses an unknown user, a pending user, a disabled address and other domains alike', async () => {
    const pending = await h.addUser({ state: 'pending' });
    await h.deps.store.users.disableAddress(alice.user.id, 'Leaked');
    const refused = [
      `x@nosuchuser.${h.domain}`,
      pending.address(),
      alice.address('leaked'),
      alice.address('LEAKED'),
      // Not an open relay, however the domain is dressed up.
      'victim@example.com',
      `x@${h.domain}`,
      `x@sub.${alice.user.username}.${h.domain}`,
      `x@${alice.user.username}.${h.domain}.evil.example`,
      'postmaster',
    ];
    for (const address of refused) {
      expect(await rcpt(address), address).to.equal('550 5.1.1 No such user here');
    }
  });

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
