/**
 * kzymy-fetch when things go wrong: each failure has its own exit code and a clear message, and
 * none of them loses or duplicates mail. A proxy that is down means no connection anywhere; a
 * failing MDA leaves the message on the server; a crash between delivery and deletion does not
 * deliver twice.
 */
import { expect } from 'chai';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../src/util/ports';
import { FetchFixture, lf, sampleMessage, type Account } from './helpers/fixture';
import { asSortedStrings, readMaildir } from './helpers/mailboxes';
import { PROXY_EXIT, startMicrosocks } from './helpers/proxies';

describe('kzymy-fetch failures', function () {
  this.timeout(120_000);
  let fixture: FetchFixture;

  before(async function () {
    fixture = await FetchFixture.start();
  });

  after(async function () {
    await fixture?.close();
  });

  async function accountWith(count: number): Promise<{ account: Account; expected: Buffer[] }> {
    const account = await fixture.addAccount();
    const expected: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      expected.push(await fixture.deposit(account.user, sampleMessage(`f${i}`)));
    }
    return { account, expected };
  }

  /** baseArgs with the --proxy value replaced. */
  function withProxy(args: string[], proxy: string | null): string[] {
    const copy = [...args];
    const at = copy.indexOf('--proxy');
    if (proxy === null) copy.splice(at, 2);
    else copy[at + 1] = proxy;
    return copy;
  }

  it('exits 69 when the proxy is down, and connects nowhere', async function () {
    const { account } = await accountWith(1);
    const stopped = await startMicrosocks();
    await stopped.stop();
    const before = fixture.witness.imap.remotes.length;

    const run = await fixture.runFetch([
      ...withProxy(fixture.baseArgs(account), `127.0.0.1:${stopped.port}`),
      '--maildir',
      fixture.scratch('down'),
    ]);

    expect(run.code).to.equal(69);
    expect(run.stderr).to.match(
      /cannot connect to the SOCKS proxy 127\.0\.0\.1:\d+ .*is Tor running\?/,
    );
    expect(fixture.witness.imap.remotes.length).to.equal(before);
    expect(await fixture.count(account.user)).to.equal(1);
  });

  it('uses Tor (127.0.0.1:9050) by default and never falls back to a direct connection', async function () {
    const { account } = await accountWith(1);
    const before = fixture.witness.imap.remotes.length;

    // No Tor runs here, so the default proxy is down: the client must fail, not go direct.
    const run = await fixture.runFetch([
      ...withProxy(fixture.baseArgs(account), null),
      '--maildir',
      fixture.scratch('default'),
    ]);

    expect(run.code).to.equal(69);
    expect(run.stderr).to.include('127.0.0.1:9050');
    expect(fixture.witness.imap.remotes.length).to.equal(before);
  });

  it('connects directly only with --no-proxy', async function () {
    const { account, expected } = await accountWith(1);
    const maildir = fixture.scratch('direct');
    const before = fixture.witness.imap.remotes.length;

    const run = await fixture.runFetch([
      ...withProxy(fixture.baseArgs(account), null),
      '--no-proxy',
      '--maildir',
      maildir,
    ]);

    expect(run.code, run.stderr).to.equal(0);
    expect(readMaildir(maildir)).to.have.length(expected.length);
    const seen = fixture.witness.imap.remotes.slice(before);
    expect(seen).to.deep.equal(['127.0.0.1']);
  });

  it('exits 68 when the proxy cannot reach the server', async function () {
    const { account } = await accountWith(1);
    const closed = await freePort();
    const args = fixture.baseArgs(account);
    args[args.indexOf('--port') + 1] = String(closed);

    const run = await fixture.runFetch([...args, '--maildir', fixture.scratch('unreachable')]);

    expect(run.code).to.equal(68);
    expect(run.stderr).to.match(/the proxy cannot reach 127\.0\.0\.1:\d+: connection refused/);
  });

  for (const protocol of ['imap', 'pop3'] as const) {
    it(`exits 77 on a wrong password (${protocol}) and leaves the mail alone`, async function () {
      const { account } = await accountWith(1);
      const wrong = join(fixture.scratch('wrong'), 'password');
      writeFileSync(wrong, 'not-the-password\n', { mode: 0o600 });
      const args = fixture.baseArgs(account, protocol);
      args[args.indexOf('--password-file') + 1] = wrong;

      const run = await fixture.runFetch([...args, '--maildir', fixture.scratch('auth')]);

      expect(run.code).to.equal(77);
      expect(run.stderr).to.include(`authentication failed for ${account.user.username}`);
      expect(run.stderr).to.not.include('not-the-password');
      expect(await fixture.count(account.user)).to.equal(1);
    });

    it(`leaves the message on the server when the MDA fails (${protocol}), exit 75`, async function () {
      const { account, expected } = await accountWith(2);

      const failed = await fixture.runFetch([
        ...fixture.baseArgs(account, protocol),
        '--mda',
        'cat >/dev/null; exit 73',
      ]);

      expect(failed.code).to.equal(75);
      expect(failed.stderr).to.match(
        /the MDA failed \(exit status 73\): the message stays on the server/,
      );
      expect(await fixture.count(account.user)).to.equal(2);

      // Once the MDA works again, everything arrives, once.
      const maildir = fixture.scratch(`mda-${protocol}`);
      const retry = await fixture.runFetch([
        ...fixture.baseArgs(account, protocol),
        '--maildir',
        maildir,
        '--decrypt',
        '--gnupg-home',
        fixture.gpg.dir,
      ]);
      expect(retry.code, retry.stderr).to.equal(0);
      expect(asSortedStrings(readMaildir(maildir))).to.deep.equal(
        asSortedStrings(expected.map(lf)),
      );
      expect(await fixture.count(account.user)).to.equal(0);
    });

    it(`does not deliver twice after a crash between delivery and deletion (${protocol})`, async function () {
      const { account, expected } = await accountWith(2);
      const maildir = fixture.scratch(`crash-${protocol}`);
      const args = [
        ...fixture.baseArgs(account, protocol),
        '--maildir',
        maildir,
        '--decrypt',
        '--gnupg-home',
        fixture.gpg.dir,
      ];

      // The hook kills the process (SIGKILL) right after the first delivery was recorded.
      const crashed = await fixture.runFetch(args, { KZYMY_FETCH_TEST_CRASH: 'after-record' });
      expect(crashed.code).to.equal(null);
      expect(readMaildir(maildir)).to.have.length(1);
      // The session died without LOGOUT/QUIT: the server deleted nothing.
      expect(await fixture.count(account.user)).to.equal(2);
      const stateFile = args[args.indexOf('--state-file') + 1] as string;
      expect(readFileSync(stateFile, 'utf8')).to.match(/[0-9a-f]{64}/);
      // The lock of the dead process does not block the next run.
      expect(existsSync(`${stateFile}.lock`)).to.equal(true);

      const rerun = await fixture.runFetch([...args, '--verbose']);
      expect(rerun.code, rerun.stderr).to.equal(0);
      expect(rerun.stderr).to.include('1 message(s) delivered');
      expect(rerun.stderr).to.include('1 delivered before and now deleted');
      expect(asSortedStrings(readMaildir(maildir))).to.deep.equal(
        asSortedStrings(expected.map(lf)),
      );
      expect(await fixture.count(account.user)).to.equal(0);
      // Confirmed deletions are forgotten: the state holds nothing for this account any more.
      expect(readFileSync(stateFile, 'utf8')).to.not.match(/[0-9a-f]{64}/);
    });
  }

  it('exits 65 and keeps the message when it cannot decrypt', async function () {
    const { account } = await accountWith(1);
    const emptyHome = fixture.scratch('gnupg');
    chmodSync(emptyHome, 0o700);

    const run = await fixture.runFetch([
      ...fixture.baseArgs(account),
      '--maildir',
      fixture.scratch('nodecrypt'),
      '--decrypt',
      '--gnupg-home',
      emptyHome,
    ]);

    expect(run.code).to.equal(65);
    expect(run.stderr).to.match(/cannot decrypt a message \(no secret key/);
    expect(await fixture.count(account.user)).to.equal(1);
  });

  it('refuses a password on the command line and a password file others can read', async function () {
    const { account } = await accountWith(0);
    const onCommandLine = await fixture.runFetch([
      ...fixture.baseArgs(account),
      '--password',
      'secret',
      '--maildir',
      fixture.scratch('x'),
    ]);
    expect(onCommandLine.code).to.equal(64);
    expect(onCommandLine.stderr).to.include('never given on the command line');

    chmodSync(account.passwordFile, 0o644);
    const readable = await fixture.runFetch([
      ...fixture.baseArgs(account),
      '--maildir',
      fixture.scratch('y'),
    ]);
    expect(readable.code).to.equal(78);
    expect(readable.stderr).to.include('readable by others');
    expect(fixture.witness.imap.remotes).to.satisfy((all: string[]) =>
      all.every((address) => address === PROXY_EXIT || address === '127.0.0.1'),
    );
  });
});
