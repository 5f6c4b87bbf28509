/**
 * End to end: mail sent with swaks to the real Haraka is encrypted and stored, then kzymy-fetch
 * fetches it through microsocks and delivers it to a Maildir, an mbox and procmail; decrypted,
 * each is the message that was sent, and the server keeps nothing.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHaraka, type RunningHaraka } from '../../src/smtp/haraka/runner';
import { FetchFixture, lf, sampleMessage, type Account } from './helpers/fixture';
import { readMaildir, readMbox } from './helpers/mailboxes';

describe('kzymy-fetch end to end: swaks → Haraka → kzymy-fetch', function () {
  this.timeout(180_000);
  let fixture: FetchFixture;
  let haraka: RunningHaraka;

  before(async function () {
    fixture = await FetchFixture.start();
    haraka = await startHaraka(fixture.deps.config, {
      mongodbUrl: fixture.deps.config.mongodb.url,
      redisUrl: fixture.deps.config.redis.url,
      logger: fixture.deps.logger,
      port: 0,
      tls: fixture.deps.tls,
    });
  });

  after(async function () {
    await haraka?.close();
    await fixture?.close();
  });

  /** Sends `original` with swaks; returns what decrypting the stored copy must give. */
  async function send(account: Account, original: Buffer): Promise<Buffer> {
    const from = 'sender@example.org';
    const rcpt = `shop-7@${account.user.username}.${fixture.deps.config.domain}`;
    const file = join(fixture.scratch('swaks'), 'message.eml');
    // swaks ends DATA with CRLF . CRLF itself: the file leaves out the message's last CRLF.
    writeFileSync(file, original.subarray(0, -2));
    const transcript = await new Promise<string>((resolve, reject) =>
      execFile(
        'swaks',
        [
          '--server',
          `127.0.0.1:${haraka.port}`,
          '--helo',
          'client.example',
          '--from',
          from,
          '--to',
          rcpt,
          '--data',
          `@${file}`,
        ],
        (error, stdout, stderr) =>
          error ? reject(new Error(`${stdout}${stderr}`)) : resolve(stdout),
      ),
    );
    expect(transcript).to.match(/^<- {2}250 /m);
    return Buffer.concat([
      Buffer.from(`Return-Path: <${from}>\r\nDelivered-To: ${rcpt}\r\n`),
      original,
    ]);
  }

  function decrypt(): string[] {
    return ['--decrypt', '--gnupg-home', fixture.gpg.dir];
  }

  it('delivers to a Maildir over IMAP', async function () {
    const account = await fixture.addAccount();
    const expected = await send(account, sampleMessage('haraka-maildir'));
    expect(await fixture.count(account.user)).to.equal(1);
    const maildir = fixture.scratch('maildir');

    const run = await fixture.runFetch([
      ...fixture.baseArgs(account, 'imap'),
      '--maildir',
      maildir,
      ...decrypt(),
    ]);

    expect(run.code, run.stderr).to.equal(0);
    expect(readMaildir(maildir).map(String)).to.deep.equal([lf(expected).toString()]);
    expect(await fixture.count(account.user)).to.equal(0);
  });

  it('delivers to an mbox over POP3', async function () {
    const account = await fixture.addAccount();
    const expected = await send(account, sampleMessage('haraka-mbox'));
    const mbox = join(fixture.scratch('mbox'), 'inbox');

    const run = await fixture.runFetch([
      ...fixture.baseArgs(account, 'pop3'),
      '--mbox',
      mbox,
      ...decrypt(),
    ]);

    expect(run.code, run.stderr).to.equal(0);
    expect(readMbox(mbox).map(String)).to.deep.equal([lf(expected).toString()]);
    expect(await fixture.count(account.user)).to.equal(0);
  });

  it('delivers through procmail', async function () {
    const account = await fixture.addAccount();
    const expected = await send(account, sampleMessage('haraka-procmail'));
    const home = fixture.scratch('procmail');
    const rcfile = join(home, 'procmailrc');
    writeFileSync(rcfile, `DEFAULT=${join(home, 'Maildir')}/\n`);

    const run = await fixture.runFetch([
      ...fixture.baseArgs(account, 'imap'),
      '--mda',
      `procmail -f %F ${rcfile}`,
      ...decrypt(),
    ]);

    expect(run.code, run.stderr).to.equal(0);
    expect(readMaildir(join(home, 'Maildir')).map(String)).to.deep.equal([lf(expected).toString()]);
    expect(await fixture.count(account.user)).to.equal(0);
  });
});
