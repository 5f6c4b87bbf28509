/**
 * The operator's view of one account and the switch that stops it: `kzymy user show`, `user
 * disable` and `user enable` run as child processes against the store that real IMAP and POP3
 * servers use; the owner's logins get a clear refusal while disabled, and work again after.
 * Also: every subcommand has its own --help.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { startImapServers, type ImapServers } from '../../src/imap/server';
import { startPop3Servers, type Pop3Servers } from '../../src/pop3/server';
import { createAccount } from '../helpers/mail-fixtures';
import { RawImap } from '../helpers/raw-imap';
import { RawPop3 } from '../helpers/raw-pop3';
import { makeTestDeps, sharedStoreConfigLines, type TestDeps } from '../helpers/deps';
import { testDataDir } from '../helpers/services';

const CLI = join(__dirname, '..', '..', 'src', 'cli', 'kzymy.js');

function kzymy(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, KZYMY_CONFIG: '', MONGODB_URL: '', REDIS_URL: '' } },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('kzymy CLI: user show, disable, enable', function () {
  this.timeout(60_000);
  let deps: TestDeps;
  let imap: ImapServers;
  let pop3: Pop3Servers;
  let configFile: string;

  before(async () => {
    deps = await makeTestDeps({ imap: { port: 0, tlsPort: 0 }, pop3: { port: 0, tlsPort: 0 } });
    imap = await startImapServers(deps);
    pop3 = await startPop3Servers(deps);
    const dir = mkdtempSync(join(testDataDir(), 'cli-state-'));
    configFile = join(dir, 'kzymy.yaml');
    // The CLI opens the store these servers use (the same sqlite file, or the same database).
    writeFileSync(
      configFile,
      ['domain: kzymy.test', ...sharedStoreConfigLines(deps), ''].join('\n'),
    );
  });

  after(async () => {
    for (const server of [imap?.plain, imap?.tls, pop3?.plain, pop3?.tls]) await server?.close();
    await deps?.close();
  });

  async function imapLogin(name: string, password: string): Promise<string> {
    const client = await RawImap.connect({ port: imap.plain.port });
    const reply = await client.command(`LOGIN ${name} "${password}"`);
    client.destroy();
    return reply.tagged.replace(/^t\d+ /, '');
  }

  async function pop3Login(name: string, password: string): Promise<string> {
    const { client } = await RawPop3.connect({ port: pop3.plain.port });
    await client.command(`USER ${name}`);
    const reply = await client.command(`PASS ${password}`);
    client.destroy();
    return reply;
  }

  it('shows an account: state, key, what waits, the day of the last fetch — and nothing of where', async () => {
    const account = await createAccount(deps);
    const name = account.user.username;
    await deps.store.messages.add(account.user.id, Buffer.alloc(1234, 'c'), new Date());
    await deps.store.messages.add(account.user.id, Buffer.alloc(66, 'c'), new Date());
    const before = JSON.parse(
      (await kzymy(['user', 'show', name, '--json', '--config', configFile])).stdout,
    );
    expect(before).to.deep.equal({
      username: name,
      state: 'active',
      createdDay: account.user.createdAt.toISOString().slice(0, 10),
      fingerprint: account.user.fingerprint,
      waitingMessages: 2,
      waitingBytes: 1300,
      lastFetchDay: null,
      payloadFormat: 'protected',
      sending: { enabled: false, signAsNym: false },
      forward: null,
    });
    expect(await imapLogin(name, account.password)).to.match(/^OK/);
    const text = await kzymy(['user', 'show', name, '--config', configFile]);
    expect(text.code).to.equal(0);
    expect(text.stdout).to.include(`last fetch  ${new Date().toISOString().slice(0, 10)}`);
    expect(text.stdout).to.include('waiting     2 messages, 1300 bytes');
    expect(text.stdout).to.include('payload     protected');
    expect(text.stdout).to.include('sending     off, sign-as-nym off');
    expect(text.stdout).to.include('forward: off');
    expect(text.stdout).not.to.match(/127\.0\.0\.1|address|from/i);
    expect((await kzymy(['user', 'show', 'nosuchuser', '--config', configFile])).code).to.equal(67);
  });

  it('disables an account: its owner is told so on IMAP and POP3, strangers see the usual failure; enable undoes it', async () => {
    const account = await createAccount(deps);
    const name = account.user.username;
    const disabled = await kzymy(['user', 'disable', name, '--config', configFile]);
    expect(disabled.code, disabled.stderr).to.equal(0);
    expect(disabled.stdout).to.match(/^disabled /);
    expect((await deps.store.users.byName(name))?.state).to.equal('disabled');
    // RFC 5530 CONTACTADMIN for the owner's password; the usual answer for anyone else's.
    expect(await imapLogin(name, account.password)).to.equal(
      'NO [CONTACTADMIN] This account has been disabled by the server operator',
    );
    expect(await pop3Login(name, account.password)).to.equal(
      '-ERR [AUTH] This account has been disabled by the server operator',
    );
    // The same with SASL PLAIN (RFC 4616): authzid, authcid, password.
    const sasl = Buffer.from(`\0${name}\0${account.password}`).toString('base64');
    const client = await RawImap.connect({ port: imap.plain.port });
    const viaSasl = await client.command(`AUTHENTICATE PLAIN ${sasl}`);
    client.destroy();
    expect(viaSasl.tagged.replace(/^t\d+ /, '')).to.equal(
      'NO [CONTACTADMIN] This account has been disabled by the server operator',
    );
    expect(await imapLogin(name, 'a-wrong-guess')).to.equal(
      'NO [AUTHENTICATIONFAILED] Invalid credentials',
    );
    expect(await pop3Login(name, 'a-wrong-guess')).to.equal('-ERR [AUTH] Authentication failed');
    expect((await kzymy(['user', 'disable', name, '--config', configFile])).stdout).to.include(
      'already disabled',
    );
    const enabled = await kzymy(['user', 'enable', name, '--config', configFile]);
    expect(enabled.code, enabled.stderr).to.equal(0);
    expect(await imapLogin(name, account.password)).to.match(/^OK/);
    expect(await pop3Login(name, account.password)).to.match(/^\+OK/);
  });

  it('gives each subcommand its own --help', async () => {
    for (const [words, first] of [
      [['user', 'show'], 'usage: kzymy user show NAME'],
      [['user', 'disable'], 'usage: kzymy user disable NAME'],
      [['user', 'enable'], 'usage: kzymy user enable NAME'],
      [['user', 'add'], 'usage: kzymy user add --key FILE'],
      [['doctor'], 'usage: kzymy doctor'],
      [['tor'], 'usage: kzymy tor'],
      [['config', 'check'], 'usage: kzymy config check'],
    ] as const) {
      const help = await kzymy([...words, '--help']);
      expect(help.code).to.equal(0);
      expect(help.stdout.split('\n')[0], words.join(' ')).to.match(new RegExp(`^${first}`));
      expect(help.stdout.split('\n').length, words.join(' ')).to.be.below(8);
    }
    const group = await kzymy(['user', '--help']);
    expect(group.stdout).to.include('kzymy user show').and.not.include('kzymy doctor');
  });
});
