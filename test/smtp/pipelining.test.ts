/**
 * A message pipelined after the final dot of the one before is taken (RFC 2920 §3.1;
 * src/smtp/haraka/pipelining-patch.ts), where Haraka alone answered 503 to each command sent
 * after the end of data before its reply. Real Haraka on the default store engine.
 */
import { expect } from 'chai';
import { SmtpHarness } from './helpers/harness';
import { SmtpClient } from './helpers/smtp-client';

describe('smtp: commands pipelined after the final dot', function () {
  this.timeout(120_000);
  let h: SmtpHarness;

  before(async () => {
    h = await SmtpHarness.start();
  });
  after(async () => {
    await h?.close();
  });

  it('takes a message pipelined after the final dot of the one before (RFC 2920 §3.1)', async () => {
    const bob = await h.addUser();
    const client = await SmtpClient.ready(h.port);
    await client.command('MAIL FROM:<a@example.org>', 250);
    await client.command(`RCPT TO:<${bob.address('one')}>`, 250);
    await client.command('DATA', 354);
    // The end of the first message and the second one's envelope, in one write.
    client.write(
      'Subject: first\r\n\r\none\r\n.\r\n' +
        `MAIL FROM:<a@example.org>\r\nRCPT TO:<${bob.address('two')}>\r\nDATA\r\n`,
    );
    expect((await client.reply()).code).to.equal(250);
    expect((await client.reply()).code).to.equal(250);
    expect((await client.reply()).code).to.equal(250);
    expect((await client.reply()).code).to.equal(354);
    client.write('Subject: second\r\n\r\ntwo\r\n.\r\n');
    expect((await client.reply()).raw).to.match(/^250 2\.0\.0 Message accepted/);
    await client.quit();
    expect(await h.count(bob.user)).to.equal(2);
  });
});
