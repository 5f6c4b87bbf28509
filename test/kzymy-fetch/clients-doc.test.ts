/**
 * fetchmail and getmail6 configured exactly as docs/clients/ says — the blocks are read from
 * the Markdown, only the address, account and proxy port filled in — fetch through a real SOCKS5
 * proxy from a real kzymy server, decrypt with the documented procmail recipe, and leave the
 * server empty. The proxy in front stands in for Tor (host names only, one known onion name).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FetchFixture, lf, onionName, runCommand, sampleMessage } from './helpers/fixture';
import { docSnippet, fillIn } from './helpers/doc-snippets';
import { readMaildir } from './helpers/mailboxes';
import { PROXY_EXIT, startOnionProxy, type OnionProxy } from './helpers/proxies';

describe('docs/clients: fetchmail and getmail6 through the proxy', function () {
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

  /**
   * A home directory with the documented ~/.procmailrc and the user's key in ~/.gnupg. One
   * adaptation: these tests run as root, and procmail run by root takes HOME from the password
   * database (/root) after clearing the environment — so the home directory is spelled out in
   * the rcfile (and the MDA is given the rcfile explicitly, see below).
   */
  async function homeWithProcmail(label: string): Promise<string> {
    const home = fixture.scratch(label);
    let rc = docSnippet('clients/fetchmail.md', 'procmailrc');
    if (asRoot)
      rc = fillIn(rc, { $HOME: home, '| gpg --batch': `| gpg --homedir ${home}/.gnupg --batch` });
    writeFileSync(join(home, '.procmailrc'), rc);
    const gnupg = join(home, '.gnupg');
    mkdirSync(gnupg, { mode: 0o700 });
    await runGpg(gnupg, ['--import'], await fixture.gpg.exportSecret(fixture.key.fingerprint));
    homes.push(gnupg);
    return home;
  }

  const homes: string[] = [];
  afterEach(async function () {
    // Stop the gpg-agent each home's gpg started.
    for (const gnupg of homes.splice(0))
      await runCommand('gpgconf', ['--kill', 'all'], { GNUPGHOME: gnupg });
  });

  const asRoot = process.getuid?.() === 0;

  function expectOnlyProxied(before: number): void {
    const requests = onion.requests.slice(before);
    const connects = requests.filter((request) => request.command === 1);
    expect(connects.length).to.be.greaterThan(0);
    for (const request of connects) expect(request).to.include({ addressType: 3, host: name });
    // The onion name is never looked up, not even through Tor: it goes out only in CONNECT.
    expect(
      requests.filter((request) => request.command !== 1 && request.host === name),
    ).to.deep.equal([]);
    expect([...fixture.witness.imap.remotes, ...fixture.witness.pop3.remotes]).to.satisfy(
      (all: string[]) => all.every((address) => address === PROXY_EXIT),
    );
  }

  for (const protocol of ['IMAP', 'POP3'] as const) {
    it(`fetchmail (${protocol}) with the documented plugin, fetchmailrc and procmailrc`, async function () {
      const account = await fixture.addAccount();
      const expected = await fixture.deposit(account.user, sampleMessage(`fetchmail-${protocol}`));
      const home = await homeWithProcmail(`fetchmail-${protocol}`);
      let rc = fillIn(docSnippet('clients/fetchmail.md', 'fetchmailrc'), {
        'YOUR-SERVER.onion': name,
        'YOUR-USERNAME': account.user.username,
        'YOUR-PASSWORD': account.password,
        '127.0.0.1:9050': `127.0.0.1:${onion.port}`,
      });
      // The doc: "For POP3 write `protocol POP3 port 110` instead; everything else stays."
      if (protocol === 'POP3')
        rc = fillIn(rc, { 'protocol IMAP port 143': 'protocol POP3 port 110' });
      if (asRoot) {
        rc = fillIn(rc, { '"/usr/bin/procmail"': `"/usr/bin/procmail ${home}/.procmailrc"` });
      }
      writeFileSync(join(home, '.fetchmailrc'), rc, { mode: 0o600 });
      const before = onion.requests.length;

      const run = await runCommand('fetchmail', [], { HOME: home });

      expect(run.code, `${run.stdout}${run.stderr}`).to.equal(0);
      const delivered = readMaildir(join(home, 'Maildir'));
      expect(delivered.map((m) => lf(m).toString())).to.deep.equal([lf(expected).toString()]);
      expect(await fixture.count(account.user)).to.equal(0);
      expectOnlyProxied(before);
    });
  }

  it('getmail6 under torsocks with the documented getmailrc', async function () {
    const account = await fixture.addAccount();
    const expected = await fixture.deposit(account.user, sampleMessage('getmail'));
    const home = await homeWithProcmail('getmail');
    mkdirSync(join(home, '.config', 'getmail'), { recursive: true });
    mkdirSync(join(home, '.config', 'kzymy'), { recursive: true });
    const passwordFile = join(home, '.config', 'kzymy', 'password');
    writeFileSync(passwordFile, account.password, { mode: 0o600 });
    let rc = fillIn(docSnippet('clients/getmail.md', 'getmailrc'), {
      'YOUR-SERVER.onion': name,
      'YOUR-USERNAME': account.user.username,
      '/home/you': home,
    });
    if (asRoot) {
      // getmail refuses to run an MDA as root unless told to (and see homeWithProcmail).
      rc = fillIn(rc, {
        'path = /usr/bin/procmail\n': `path = /usr/bin/procmail\narguments = ("${home}/.procmailrc",)\nallow_root_commands = true\n`,
      });
    }
    writeFileSync(join(home, '.config', 'getmail', 'getmailrc'), rc);
    chmodSync(join(home, '.config', 'getmail', 'getmailrc'), 0o600);
    const [command, ...args] = docSnippet('clients/getmail.md', 'getmail-command')
      .trim()
      .split(/\s+/);
    const before = onion.requests.length;

    // torsocks reads TORSOCKS_TOR_PORT instead of the 9050 of /etc/tor/torsocks.conf.
    const run = await runCommand(command as string, args, {
      HOME: home,
      TORSOCKS_TOR_ADDRESS: '127.0.0.1',
      TORSOCKS_TOR_PORT: String(onion.port),
    });

    expect(run.code, `${run.stdout}${run.stderr}`).to.equal(0);
    const delivered = readMaildir(join(home, 'Maildir'));
    expect(delivered.map((m) => lf(m).toString())).to.deep.equal([lf(expected).toString()]);
    expect(await fixture.count(account.user)).to.equal(0);
    expectOnlyProxied(before);
  });
});

/** gpg in a given home, fed `input`; rejects when gpg fails. */
function runGpg(homedir: string, args: string[], input: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('gpg', ['--homedir', homedir, '--batch', ...args], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`gpg ${args.join(' ')}: ${stderr}`)),
    );
    child.stdin.end(input);
  });
}
