/**
 * Onion addresses and --watch. The proxy here stands in for Tor: it accepts only host names
 * (SOCKS5 address type 3) and knows one onion service, so a client that resolved the name itself
 * — a DNS leak, and a failure for any .onion — could not get through. --watch keeps an IMAP
 * session in IDLE and delivers mail as the server announces it.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { watch as watchDir, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FETCH_CLI, FetchFixture, lf, onionName, sampleMessage } from './helpers/fixture';
import { readMaildir } from './helpers/mailboxes';
import { PROXY_EXIT, startOnionProxy, type OnionProxy } from './helpers/proxies';

describe('kzymy-fetch to an onion service', function () {
  this.timeout(120_000);
  let fixture: FetchFixture;
  let onion: OnionProxy;
  const name = onionName();

  before(async function () {
    fixture = await FetchFixture.start();
    onion = await startOnionProxy(fixture.socks.port, {
      [name]: { 143: fixture.witness.imap.port, 110: fixture.witness.pop3.port },
    });
  });

  after(async function () {
    await onion?.close();
    await fixture?.close();
  });

  /** baseArgs pointed at the onion name on the standard ports, TLS left to "auto". */
  function onionArgs(args: string[], protocol: 'imap' | 'pop3'): string[] {
    const copy = [...args];
    copy[copy.indexOf('--server') + 1] = name;
    copy[copy.indexOf('--port') + 1] = protocol === 'imap' ? '143' : '110';
    copy.splice(copy.indexOf('--tls'), 2);
    copy[copy.indexOf('--proxy') + 1] = `127.0.0.1:${onion.port}`;
    return copy;
  }

  for (const protocol of ['imap', 'pop3'] as const) {
    it(`fetches from ${protocol} at a .onion name that only the proxy resolves`, async function () {
      const account = await fixture.addAccount();
      const expected = await fixture.deposit(account.user, sampleMessage(`onion-${protocol}`));
      const maildir = fixture.scratch(`onion-${protocol}`);
      const before = onion.requests.length;

      const run = await fixture.runFetch([
        ...onionArgs(fixture.baseArgs(account, protocol), protocol),
        '--maildir',
        maildir,
        '--decrypt',
        '--gnupg-home',
        fixture.gpg.dir,
      ]);

      expect(run.code, run.stderr).to.equal(0);
      expect(readMaildir(maildir).map(String)).to.deep.equal([lf(expected).toString()]);
      expect(await fixture.count(account.user)).to.equal(0);
      expect(onion.requests.slice(before)).to.deep.equal([
        { command: 1, addressType: 3, host: name, port: protocol === 'imap' ? 143 : 110 },
      ]);
    });
  }

  it('reports an onion service the proxy cannot reach as "server unreachable" (68)', async function () {
    const account = await fixture.addAccount();
    const args = onionArgs(fixture.baseArgs(account), 'imap');
    args[args.indexOf('--server') + 1] = onionName();

    const run = await fixture.runFetch([...args, '--maildir', fixture.scratch('nowhere')]);

    expect(run.code).to.equal(68);
    expect(run.stderr).to.match(/the proxy cannot reach \S+\.onion:143: host unreachable/);
  });

  it('--watch delivers mail as it arrives (IMAP IDLE) and stops cleanly on SIGTERM', async function () {
    const account = await fixture.addAccount();
    const first = await fixture.deposit(account.user, sampleMessage('watch-1'));
    const maildir = fixture.scratch('watch');
    mkdirSync(join(maildir, 'new'), { recursive: true });
    const child = spawn(
      process.execPath,
      [
        FETCH_CLI,
        ...onionArgs(fixture.baseArgs(account, 'imap'), 'imap'),
        '--maildir',
        maildir,
        '--decrypt',
        '--gnupg-home',
        fixture.gpg.dir,
        '--watch',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await untilMaildirHas(maildir, 1);
      const second = await fixture.deposit(account.user, sampleMessage('watch-2'));
      await untilMaildirHas(maildir, 2);
      expect(readMaildir(maildir).map(String).sort()).to.deep.equal(
        [lf(first).toString(), lf(second).toString()].sort(),
      );
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, stderr).to.equal(0);
    // Delivered messages were expunged as they came; SIGTERM ended the session with LOGOUT.
    expect(await fixture.count(account.user)).to.equal(0);
    expect(fixture.witness.imap.remotes).to.satisfy((all: string[]) =>
      all.every((address) => address === PROXY_EXIT),
    );
  });
});

/** Resolves when maildir/new holds `count` files (fs.watch, no polling sleep). */
function untilMaildirHas(maildir: string, count: number): Promise<void> {
  const dir = join(maildir, 'new');
  return new Promise((resolve) => {
    const check = (): boolean => {
      if (readMaildir(maildir).length < count) return false;
      watcher.close();
      resolve();
      return true;
    };
    const watcher = watchDir(dir, () => void check());
    check();
  });
}
