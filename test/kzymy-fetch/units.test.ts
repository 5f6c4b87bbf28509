/** The pure pieces of kzymy-fetch: settings, mbox quoting, MDA expansion, PGP/MIME parsing. */
import { expect } from 'chai';
import { expandMdaCommand } from '../../src/kzymy-fetch/deliver-mda';
import { mboxEntry } from '../../src/kzymy-fetch/deliver-mbox';
import { pgpMimePayload } from '../../src/kzymy-fetch/decrypt';
import { FetchError } from '../../src/kzymy-fetch/errors';
import { envelopeOf, toUnixLineEndings } from '../../src/kzymy-fetch/message-headers';
import { parseProxy, resolveSettings } from '../../src/kzymy-fetch/options';
import { createProgress } from '../../src/kzymy-fetch/progress';

describe('kzymy-fetch units', function () {
  it('parses proxies as socks5h, with Tor stream-isolation credentials', function () {
    expect(parseProxy('127.0.0.1:9050')).to.deep.equal({ host: '127.0.0.1', port: 9050 });
    expect(parseProxy('socks5h://alice:s%40cret@[::1]:9150')).to.deep.equal({
      host: '::1',
      port: 9150,
      username: 'alice',
      password: 's@cret',
    });
    expect(() => parseProxy('http://127.0.0.1:8080')).to.throw(/only SOCKS5/);
  });

  it('reports every missing setting at once, and defaults to Tor and plain IMAP on .onion', function () {
    let error: unknown;
    try {
      resolveSettings({}, {});
    } catch (caught) {
      error = caught;
    }
    expect(error).to.be.instanceOf(FetchError);
    expect((error as FetchError).exitCode).to.equal(64);
    for (const missing of ['no server', 'no user', 'no password', 'no delivery']) {
      expect((error as Error).message).to.include(missing);
    }
    const settings = resolveSettings(
      { server: 'x.onion', user: 'u', passwordFile: '/p', maildir: '/m', mda: 'procmail' },
      { mda: 'procmail' },
    );
    expect(settings).to.include({ protocol: 'imap', port: 143, tls: 'none' });
    expect(settings.proxy).to.deep.equal({ host: '127.0.0.1', port: 9050 });
    expect(settings.delivery).to.deep.equal({ kind: 'mda', command: 'procmail' });
    const clearnet = resolveSettings(
      { server: 'mail.example', user: 'u', passwordFile: '/p', maildir: '/m', protocol: 'pop3' },
      { noProxy: true },
    );
    expect(clearnet).to.include({ port: 110, tls: 'starttls', proxy: null });
  });

  it('writes mboxrd: From_ line, ">From " quoting of every level, blank line after', function () {
    const entry = mboxEntry(
      Buffer.from('Subject: x\r\n\r\nFrom here\r\n>From there\r\nno From\r\n'),
      'a@example.org',
      new Date(Date.UTC(2025, 0, 5, 3, 4, 5)),
    );
    expect(entry.toString()).to.equal(
      'From a@example.org Sun Jan  5 03:04:05 2025\nSubject: x\n\n>From here\n>>From there\nno From\n\n',
    );
    expect(mboxEntry(Buffer.from('x'), '', new Date(0)).toString()).to.match(
      /^From MAILER-DAEMON /,
    );
  });

  it('shell-quotes %F and %T in MDA commands', function () {
    const command = expandMdaCommand('procmail -f %F -a %T 100%%', {
      sender: "o'hara$(id)@example.org",
      recipient: 'a@b',
    });
    expect(command).to.equal(`procmail -f 'o'\\''hara$(id)@example.org' -a 'a@b' 100%`);
  });

  it('reads the envelope from the delivery headers, and only from the header block', function () {
    const message = Buffer.from(
      'Return-Path: <s@example.org>\r\nDelivered-To: shop@u.kzymy.test\r\nFrom: Other <o@x>\r\n\r\nReturn-Path: <evil@x>\r\n',
    );
    expect(envelopeOf(message)).to.deep.equal({
      sender: 's@example.org',
      recipient: 'shop@u.kzymy.test',
    });
    expect(toUnixLineEndings(Buffer.from('a\r\nb\rc\n')).toString()).to.equal('a\nb\rc\n');
  });

  it('finds the OpenPGP block of a PGP/MIME message and nothing in other messages', function () {
    const boundary = 'kzymy-abc';
    const message = Buffer.from(
      [
        'Subject: ...',
        `Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";`,
        ` boundary="${boundary}"`,
        '',
        'preamble',
        `--${boundary}`,
        'Content-Type: application/pgp-encrypted',
        '',
        'Version: 1',
        `--${boundary}`,
        'Content-Type: application/octet-stream',
        '',
        '-----BEGIN PGP MESSAGE-----',
        '',
        'hQEMA',
        '-----END PGP MESSAGE-----',
        `--${boundary}--`,
        '',
      ].join('\r\n'),
    );
    expect(pgpMimePayload(message)?.toString()).to.equal(
      '-----BEGIN PGP MESSAGE-----\r\n\r\nhQEMA\r\n-----END PGP MESSAGE-----\n',
    );
    expect(
      pgpMimePayload(Buffer.from('Content-Type: text/plain\r\n\r\n-----BEGIN PGP MESSAGE-----')),
    ).to.equal(null);
  });

  it('draws a progress bar (messages and bytes) on a terminal, and nothing elsewhere', function () {
    const written: string[] = [];
    const stream = (isTTY: boolean): NodeJS.WriteStream =>
      ({
        isTTY,
        columns: 80,
        write: (text: string) => written.push(text),
      }) as unknown as NodeJS.WriteStream;
    const progress = createProgress(stream(true), false);
    progress.start(2, 2048);
    progress.message(1024);
    progress.finish('2 message(s) delivered');
    expect(written.join('')).to.include('1/2 messages  1.0 KiB / 2.0 KiB');
    expect(written.at(-1)).to.equal('\r\x1b[2K2 message(s) delivered\n');

    written.length = 0;
    for (const quiet of [
      createProgress(stream(false), false),
      createProgress(stream(true), true),
    ]) {
      quiet.start(2, 2048);
      quiet.message(1024);
      quiet.finish('done');
    }
    expect(written).to.deep.equal([]);
  });
});
