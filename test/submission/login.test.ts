/**
 * Logging in to the submission listener goes through the same password gate as IMAP and POP3
 * (src/auth/password-gate.ts): a stranger's wrong passwords never keep the owner out, and the
 * owner of an account the operator disabled is told so (525 5.7.13) where a stranger gets the
 * usual 535 5.7.8.
 */
import { expect } from 'chai';
import {
  createSender,
  signedMessage,
  startSubmission,
  swaksSubmit,
  type Sender,
  type SubmissionHarness,
} from './helpers/harness';

describe('submission: logins without a lock-out', function () {
  this.timeout(120_000);
  let harness: SubmissionHarness;
  let sender: Sender;

  before(async () => {
    harness = await startSubmission();
    sender = await createSender(harness);
  });

  after(async () => {
    await harness?.close();
  });

  async function submit(password: string): Promise<string> {
    const result = await swaksSubmit(harness.servers.plain.port, {
      user: sender.user.username,
      password,
      from: `nym@${sender.mailDomain}`,
      to: ['friend@example.org'],
      data: await signedMessage(sender, harness.gpg, {
        from: `nym@${sender.mailDomain}`,
        to: ['friend@example.org'],
        subject: 'after the guesses',
        body: 'Still mine to send.',
      }),
    });
    return result.last;
  }

  it("a stranger's wrong passwords never keep the owner out", async () => {
    // More than the ten failures the old per-account lock allowed, all at once.
    const guesses = await Promise.all(
      Array.from({ length: 16 }, (_, i) => submit(`wrong-password-${i}`)),
    );
    for (const reply of guesses) expect(reply).to.match(/^535 5\.7\.8 /);
    const before = harness.relay.received.length;
    expect(await submit(sender.password)).to.match(/^250 /);
    expect(harness.relay.received.length).to.equal(before + 1);
  });

  it('tells the owner of a disabled account so, and a stranger nothing new', async () => {
    expect(await harness.deps.store.users.disable(sender.user.id)).to.equal(true);
    try {
      expect(await submit(sender.password)).to.equal(
        '525 5.7.13 This account has been disabled by the server operator',
      );
      expect(await submit('not-her-password')).to.match(/^535 5\.7\.8 /);
    } finally {
      await harness.deps.store.users.enable(sender.user.id);
    }
    expect(await submit(sender.password)).to.match(/^250 /);
  });
});
