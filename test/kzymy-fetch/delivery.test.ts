/**
 * kzymy-fetch against the real IMAP and POP3 servers, through microsocks and nothing else:
 * Maildir, mbox and procmail deliveries; --decrypt gives back exactly what was sent; the server
 * holds nothing afterwards; and the server side saw only the proxy's address.
 */
import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectBytes } from '../helpers/bytes';
import { FetchFixture, lf, sampleMessage, type Account } from './helpers/fixture';
import { asSortedStrings, readMaildir, readMbox } from './helpers/mailboxes';
import { PROXY_EXIT } from './helpers/proxies';

describe('kzymy-fetch delivery through a SOCKS5 proxy', function () {
  this.timeout(120_000);
  let fixture: FetchFixture;

  before(async function () {
    fixture = await FetchFixture.start();
  });

  after(async function () {
    await fixture?.close();
  });

  function decryptArgs(): string[] {
    return ['--decrypt', '--gnupg-home', fixture.gpg.dir];
  }

  async function accountWith(count: number): Promise<{ account: Account; expected: Buffer[] }> {
    const account = await fixture.addAccount();
    const expected: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      expected.push(await fixture.deposit(account.user, sampleMessage(`m${i}`)));
    }
    return { account, expected };
  }

  it('delivers IMAP mail to a Maildir, decrypted to the original, and empties the mailbox', async function () {
    const { account, expected } = await accountWith(3);
    const maildir = fixture.scratch('maildir');
    const before = fixture.witness.imap.remotes.length;

    const run = await fixture.runFetch([
      ...fixture.baseArgs(account, 'imap'),
      '--maildir',
      maildir,
      ...decryptArgs(),
    ]);

    expect(run.code, run.stderr).to.equal(0);
    // Not a terminal: a cron job hears nothing when all went well.
    expect(run.stdout + run.stderr).to.equal('');
    expect(asSortedStrings(readMaildir(maildir))).to.deep.equal(asSortedStrings(expected.map(lf)));
    expect(await fixture.count(account.user)).to.equal(0);
    const seen = fixture.witness.imap.remotes.slice(before);
    expect(seen).to.have.length.greaterThan(0);
    expect(seen).to.satisfy((all: string[]) => all.every((address) => address === PROXY_EXIT));
  });

  it('--decrypt delivers the decrypted payload in both formats: protected (RFC 9788 markers, padding) and exact', async function () {
    const account = await fixture.addAccount();
    const original = sampleMessage('both formats');
    const protectedPayload = await fixture.deposit(
      account.user,
      original,
      'bob@example.org',
      'protected',
    );
    const exactPayload = await fixture.deposit(account.user, original, 'bob@example.org', 'exact');
    expect(protectedPayload.toString()).to.match(/protected-headers="v1"; hp="cipher"/);
    expect(protectedPayload.toString()).to.match(/^Kzymy-Padding: x+\r$/m);
    expectBytes(exactPayload.subarray(-original.length), original, 'the original');
    const maildir = fixture.scratch('both-formats');
    const run = await fixture.runFetch([
      ...fixture.baseArgs(account, 'imap'),
      '--maildir',
      maildir,
      '--keep-crlf',
      ...decryptArgs(),
    ]);
    expect(run.code, run.stderr).to.equal(0);
    expect(asSortedStrings(readMaildir(maildir))).to.deep.equal(
      asSortedStrings([protectedPayload, exactPayload]),
    );
    expect(await fixture.count(account.user)).to.equal(0);
  });

  it('delivers POP3 mail to an mbox (mboxrd quoting, dot-lock) and empties the mailbox', async function () {
    const { account, expected } = await accountWith(2);
    const mbox = join(fixture.scratch('mbox'), 'inbox');
    // An existing mailbox that does not end in a blank line gets one before the next message.
    writeFileSync(mbox, 'From old@example.org Thu Jan  1 00:00:00 2025\nSubject: old\n\nold\n');
    const before = fixture.witness.pop3.remotes.length;

    const run = await fixture.runFetch([
      ...fixture.baseArgs(account, 'pop3'),
      '--mbox',
      mbox,
      ...decryptArgs(),
    ]);

    expect(run.code, run.stderr).to.equal(0);
    const messages = readMbox(mbox);
    expect(messages).to.have.length(3);
    expect(messages[0]?.toString()).to.equal('Subject: old\n\nold\n');
    expect(asSortedStrings(messages.slice(1))).to.deep.equal(asSortedStrings(expected.map(lf)));
    expect(await fixture.count(account.user)).to.equal(0);
    const seen = fixture.witness.pop3.remotes.slice(before);
    expect(seen).to.have.length.greaterThan(0);
    expect(seen).to.satisfy((all: string[]) => all.every((address) => address === PROXY_EXIT));
  });

  it('hands each message to procmail (--mda) and empties the mailbox', async function () {
    const { account, expected } = await accountWith(2);
    const home = fixture.scratch('procmail');
    const maildir = join(home, 'Maildir');
    const rcfile = join(home, 'procmailrc');
    // A trailing slash makes procmail deliver to a Maildir.
    writeFileSync(rcfile, `DEFAULT=${maildir}/\nLOGFILE=${join(home, 'procmail.log')}\n`);

    const run = await fixture.runFetch([
      ...fixture.baseArgs(account, 'imap'),
      '--mda',
      `procmail -f %F ${rcfile}`,
      ...decryptArgs(),
    ]);

    expect(run.code, run.stderr).to.equal(0);
    // procmail writes no From_ line into a Maildir: the files are the messages themselves.
    expect(asSortedStrings(readMaildir(maildir))).to.deep.equal(asSortedStrings(expected.map(lf)));
    expect(await fixture.count(account.user)).to.equal(0);
  });

  it('gives the MDA the envelope as %F and %T, shell-quoted', async function () {
    const account = await fixture.addAccount();
    const hostile = "x'$(touch pwned)'@example.org";
    await fixture.deposit(account.user, sampleMessage('envelope'), hostile);
    const dir = fixture.scratch('envelope');
    const record = join(dir, 'envelope.txt');

    const run = await fixture.runFetch([
      ...fixture.baseArgs(account, 'pop3'),
      '--mda',
      `cat >/dev/null; printf '%s|%s' %F %T > ${record}`,
      ...decryptArgs(),
    ]);

    expect(run.code, run.stderr).to.equal(0);
    expect(readFileSync(record, 'utf8')).to.equal(
      `${hostile}|someone@${account.user.username}.${fixture.deps.config.domain}`,
    );
    expect(existsSync(join(dir, 'pwned'))).to.equal(false);
  });

  it('without --decrypt delivers the stored PGP/MIME message, which gpg decrypts to the original', async function () {
    const { account, expected } = await accountWith(1);
    const maildir = fixture.scratch('encrypted');

    const run = await fixture.runFetch([
      ...fixture.baseArgs(account, 'pop3'),
      '--maildir',
      maildir,
      '--keep-crlf',
    ]);

    expect(run.code, run.stderr).to.equal(0);
    const [message] = readMaildir(maildir);
    expect(message?.toString()).to.match(/^From: kzymy <postmaster@/);
    expect(message?.toString()).to.include('Content-Type: multipart/encrypted');
    expectBytes(await fixture.gpg.decrypt(message as Buffer), expected[0] as Buffer);
  });

  it('keeps CRLF with --keep-crlf, so the decrypted message is byte for byte what was sent', async function () {
    const { account, expected } = await accountWith(1);
    const maildir = fixture.scratch('crlf');

    const run = await fixture.runFetch([
      ...fixture.baseArgs(account, 'imap'),
      '--maildir',
      maildir,
      '--keep-crlf',
      ...decryptArgs(),
    ]);

    expect(run.code, run.stderr).to.equal(0);
    const [message] = readMaildir(maildir);
    expectBytes(message, expected[0] as Buffer, 'the delivered message');
  });

  it('speaks STARTTLS, STLS and implicit TLS through the proxy, checking the certificate', async function () {
    const ca = fixture.deps.tls.certFile;
    const variants: { protocol: 'imap' | 'pop3'; tls: string; port: number }[] = [
      { protocol: 'imap', tls: 'starttls', port: fixture.witness.imap.port },
      { protocol: 'imap', tls: 'tls', port: fixture.witness.imaps.port },
      { protocol: 'pop3', tls: 'starttls', port: fixture.witness.pop3.port },
    ];
    for (const variant of variants) {
      const { account, expected } = await accountWith(1);
      const maildir = fixture.scratch(`${variant.protocol}-${variant.tls}`);
      const args = [
        ...fixture.baseArgs(account, variant.protocol),
        '--tls',
        variant.tls,
        '--port',
        String(variant.port),
        '--maildir',
        maildir,
        ...decryptArgs(),
      ];

      // Without the server's CA the certificate is not trusted: a TLS error, nothing fetched.
      const untrusted = await fixture.runFetch(args);
      expect(untrusted.code, `${variant.protocol}/${variant.tls}`).to.equal(76);
      expect(untrusted.stderr).to.match(/TLS failed/);
      // The error says what to do: the self-signed certificate goes in --ca-file.
      expect(untrusted.stderr).to.match(/DEPTH_ZERO_SELF_SIGNED_CERT.*--ca-file FILE/s);
      expect(await fixture.count(account.user)).to.equal(1);

      const run = await fixture.runFetch([...args, '--ca-file', ca]);
      expect(run.code, `${variant.protocol}/${variant.tls}: ${run.stderr}`).to.equal(0);
      expect(readMaildir(maildir).map(String)).to.deep.equal([
        lf(expected[0] as Buffer).toString(),
      ]);
      expect(await fixture.count(account.user)).to.equal(0);
    }
    expect(fixture.witness.imaps.remotes).to.satisfy((all: string[]) =>
      all.every((address) => address === PROXY_EXIT),
    );
  });

  it('takes its settings from a config file, with flags on top', async function () {
    const { account, expected } = await accountWith(1);
    const maildir = fixture.scratch('configured');
    const config = join(fixture.scratch('config'), 'fetch.yaml');
    writeFileSync(
      config,
      [
        'server: 127.0.0.1',
        'protocol: pop3',
        `port: ${fixture.witness.pop3.port}`,
        'tls: none',
        `user: ${account.user.username}`,
        `passwordCommand: cat ${account.passwordFile}`,
        `proxy: socks5h://127.0.0.1:${fixture.socks.port}`,
        `maildir: ${maildir}`,
        'decrypt: true',
        `gnupgHome: ${fixture.gpg.dir}`,
        `stateFile: ${join(fixture.dir, 'configured.state.json')}`,
        '',
      ].join('\n'),
    );

    const run = await fixture.runFetch(['--config', config]);

    expect(run.code, run.stderr).to.equal(0);
    expect(readMaildir(maildir).map(String)).to.deep.equal([lf(expected[0] as Buffer).toString()]);
    expect(await fixture.count(account.user)).to.equal(0);
  });
});
