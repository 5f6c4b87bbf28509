/**
 * The admin CLI as an operator runs it: a child process with a config file pointing at the
 * run's FerretDB, fed keys that GnuPG made.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { verifyPassword } from '../../src/auth/password';
import { sqliteStoreFile } from '../../src/embedded/paths';
import type { Store } from '../../src/store/store';
import { existingDatabase } from '../helpers/engines';
import { GpgHome, type TestKeyKind } from '../helpers/gpg';
import { testDataDir, testEngine, testMongoUrl, uniqueDatabaseName } from '../helpers/services';

const CLI = join(__dirname, '..', '..', 'src', 'cli', 'kzymy.js');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function kzymy(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, KZYMY_CONFIG: '' } },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('kzymy CLI: users', function () {
  this.timeout(120_000);
  const database = uniqueDatabaseName('cli');
  let gpg: GpgHome;
  let dir: string;
  let configFile: string;
  let store: Store;
  const keyFiles = new Map<string, string>();

  before(async () => {
    gpg = await GpgHome.create();
    dir = mkdtempSync(join(testDataDir(), 'cli-'));
    configFile = join(dir, 'kzymy.yaml');
    writeFileSync(
      configFile,
      `domain: kzymy.test\ndataDir: ${dir}\n` +
        (testEngine() === 'mongodb'
          ? `mongodb:\n  url: '${testMongoUrl()}'\n  database: ${database}\n`
          : ''),
    );
    const kinds: TestKeyKind[] = [
      'curve25519',
      'rsa2048',
      'expired',
      'revoked',
      'sign-only',
      'rsa1024',
    ];
    for (const kind of kinds) {
      const key = await gpg.generateKey(kind);
      const file = join(dir, `${kind}.asc`);
      writeFileSync(file, await gpg.exportPublic(key.fingerprint));
      keyFiles.set(kind, file);
      if (kind === 'curve25519') {
        writeFileSync(join(dir, 'secret.asc'), await gpg.exportSecret(key.fingerprint));
        writeFileSync(join(dir, 'binary.gpg'), await gpg.exportPublic(key.fingerprint, false));
      }
    }
    writeFileSync(
      join(dir, 'two.asc'),
      Buffer.concat([
        await gpg.exportPublic((await gpg.generateKey('curve25519')).fingerprint),
        await gpg.exportPublic((await gpg.generateKey('curve25519')).fingerprint),
      ]),
    );
    // The same store the CLI opens: the file under its data directory, or its database.
    store = await existingDatabase(
      testEngine(),
      testEngine() === 'mongodb' ? database : sqliteStoreFile(dir),
    ).open();
  });
  after(async () => {
    await store.close();
    await gpg.dispose();
  });

  it('user add --json creates an active user and prints username, domain and password', async () => {
    const result = await kzymy([
      'user',
      'add',
      '--key',
      keyFiles.get('curve25519') as string,
      '--json',
      '--config',
      configFile,
    ]);
    expect(result.stderr).to.equal('');
    expect(result.code).to.equal(0);
    const printed = JSON.parse(result.stdout) as {
      username: string;
      domain: string;
      password: string;
    };
    expect(Object.keys(printed).sort()).to.deep.equal(['domain', 'password', 'username']);
    expect(printed.domain).to.equal(`${printed.username}.kzymy.test`);
    const user = await store.users.byName(printed.username);
    expect(user?.state).to.equal('active');
    expect(await verifyPassword(printed.password, user?.passwordHash ?? '')).to.equal(true);
    // Only the hash is stored.
    expect(JSON.stringify(user)).not.to.include(printed.password);
  });

  it('accepts a binary key file too', async () => {
    const result = await kzymy([
      'user',
      'add',
      '--key',
      join(dir, 'binary.gpg'),
      '--json',
      '--config',
      configFile,
    ]);
    expect(result.code, result.stderr).to.equal(0);
  });

  const refusals: Array<[string, string]> = [
    ['expired', 'expired'],
    ['revoked', 'revoked'],
    ['sign-only', 'no-encryption-key'],
    ['rsa1024', 'weak-rsa'],
  ];
  for (const [kind, problem] of refusals) {
    it(`refuses a ${kind} key with a specific error and a non-zero exit`, async () => {
      const before = (await store.users.list()).length;
      const result = await kzymy([
        'user',
        'add',
        '--key',
        keyFiles.get(kind) as string,
        '--config',
        configFile,
      ]);
      expect(result.code).to.equal(65);
      expect(result.stderr).to.include(`(${problem})`);
      expect((await store.users.list()).length).to.equal(before);
    });
  }

  it('refuses a private key, never echoing it', async () => {
    const result = await kzymy([
      'user',
      'add',
      '--key',
      join(dir, 'secret.asc'),
      '--config',
      configFile,
    ]);
    expect(result.code).to.equal(65);
    expect(result.stderr).to.include('(private-key)');
    expect(result.stderr + result.stdout).not.to.match(/BEGIN PGP|[A-Za-z0-9+/]{40}/);
  });

  it('refuses two keys in one file, and a file that is not a key', async () => {
    expect(
      (await kzymy(['user', 'add', '--key', join(dir, 'two.asc'), '--config', configFile])).stderr,
    ).to.include('(several-keys)');
    writeFileSync(join(dir, 'garbage.txt'), 'hello, I am not a key\n');
    const garbage = await kzymy([
      'user',
      'add',
      '--key',
      join(dir, 'garbage.txt'),
      '--config',
      configFile,
    ]);
    expect(garbage.code).to.equal(65);
    expect(garbage.stderr).to.include('(not-a-key)');
    const missing = await kzymy([
      'user',
      'add',
      '--key',
      join(dir, 'nope.asc'),
      '--config',
      configFile,
    ]);
    expect(missing.code).to.equal(66);
  });

  it('user set --payload exact|protected changes what the user receives, and refuses anything else', async () => {
    const { username } = JSON.parse(
      (
        await kzymy([
          'user',
          'add',
          '--key',
          keyFiles.get('curve25519') as string,
          '--json',
          '--config',
          configFile,
        ])
      ).stdout,
    ) as { username: string };
    expect((await store.users.byName(username))?.payloadFormat).to.equal('protected');
    const exact = await kzymy([
      'user',
      'set',
      username,
      '--payload',
      'exact',
      '--config',
      configFile,
    ]);
    expect(exact.code, exact.stderr).to.equal(0);
    expect(exact.stdout).to.match(new RegExp(`^${username}: payload exact \\(`));
    expect((await store.users.byName(username))?.payloadFormat).to.equal('exact');
    const back = await kzymy([
      'user',
      'set',
      username,
      '--payload',
      'protected',
      '--config',
      configFile,
    ]);
    expect(back.code, back.stderr).to.equal(0);
    expect((await store.users.byName(username))?.payloadFormat).to.equal('protected');

    const bad = await kzymy(['user', 'set', username, '--payload', 'raw', '--config', configFile]);
    expect(bad.code).to.equal(64);
    expect(bad.stderr).to.include('--payload must be protected or exact');
    expect((await kzymy(['user', 'set', username, '--config', configFile])).code).to.equal(64);
    const nobody = await kzymy([
      'user',
      'set',
      'nobody',
      '--payload',
      'exact',
      '--config',
      configFile,
    ]);
    expect(nobody.code).to.equal(67);
    expect((await store.users.byName(username))?.payloadFormat).to.equal('protected');

    // One `user set` for the settings: the payload with a sending switch in one call, each told;
    // forwarding stays a change of its own.
    const both = await kzymy([
      'user',
      'set',
      username,
      '--payload',
      'exact',
      '--sign-as-nym',
      'on',
      '--config',
      configFile,
    ]);
    expect(both.code, both.stderr).to.equal(0);
    expect(both.stdout).to.include(`${username}: payload exact (`);
    expect(both.stdout).to.include(`${username}: sending off, sign-as-nym on`);
    expect(await store.users.byName(username)).to.deep.include({
      payloadFormat: 'exact',
      sending: { enabled: false, signAsNym: true },
    });
    const mixed = await kzymy([
      'user',
      'set',
      username,
      '--payload',
      'protected',
      '--forward',
      'her@example.org',
      '--config',
      configFile,
    ]);
    expect(mixed.code).to.equal(64);
    expect(mixed.stderr).to.include('not both at once');
    expect((await store.users.byName(username))?.payloadFormat).to.equal('exact');
  });

  it('lists users and deletes one with everything it had', async () => {
    const added = JSON.parse(
      (
        await kzymy([
          'user',
          'add',
          '--key',
          keyFiles.get('rsa2048') as string,
          '--json',
          '--config',
          configFile,
        ])
      ).stdout,
    ) as { username: string };
    const user = await store.users.byName(added.username);
    await store.messages.add(user?.id as string, Buffer.from('ciphertext'), new Date());

    const list = JSON.parse(
      (await kzymy(['user', 'list', '--json', '--config', configFile])).stdout,
    ) as Array<{ username: string; messages: number }>;
    expect(list.find((row) => row.username === added.username)?.messages).to.equal(1);

    const deleted = await kzymy(['user', 'delete', added.username, '--config', configFile]);
    expect(deleted.code, deleted.stderr).to.equal(0);
    expect(await store.users.byName(added.username)).to.equal(null);
    expect(await store.messages.count(user?.id as string)).to.equal(0);
    expect((await kzymy(['user', 'delete', added.username, '--config', configFile])).code).to.equal(
      67,
    );
  });

  it('user set switches sending and sign-as-nym, each on its own', async () => {
    const added = JSON.parse(
      (
        await kzymy([
          'user',
          'add',
          '--key',
          keyFiles.get('curve25519') as string,
          '--json',
          '--config',
          configFile,
        ])
      ).stdout,
    ) as { username: string };
    const sending = async () => (await store.users.byName(added.username))?.sending;
    expect(await sending()).to.deep.equal({ enabled: false, signAsNym: false });

    const on = await kzymy(['user', 'set', added.username, '--send', 'on', '--config', configFile]);
    expect(on.code, on.stderr).to.equal(0);
    expect(on.stdout).to.include(`${added.username}: sending on, sign-as-nym off`);
    // This configuration does not send: the operator is told so.
    expect(on.stdout).to.include('send.enabled is false');
    expect(await sending()).to.deep.equal({ enabled: true, signAsNym: false });

    const sign = await kzymy([
      'user',
      'set',
      added.username,
      '--sign-as-nym',
      'on',
      '--send',
      'off',
      '--config',
      configFile,
    ]);
    expect(sign.code, sign.stderr).to.equal(0);
    expect(await sending()).to.deep.equal({ enabled: false, signAsNym: true });

    const bad = await kzymy([
      'user',
      'set',
      added.username,
      '--send',
      'yes',
      '--config',
      configFile,
    ]);
    expect(bad.code).to.equal(64);
    expect(bad.stderr).to.include('--send takes on or off');
    const nothing = await kzymy(['user', 'set', added.username, '--config', configFile]);
    expect(nothing.code).to.equal(64);
    const nobody = await kzymy(['user', 'set', 'nobody', '--send', 'on', '--config', configFile]);
    expect(nobody.code).to.equal(67);
    expect(await sending()).to.deep.equal({ enabled: false, signAsNym: true });
  });

  it('config check reports every problem of a bad file at once', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'smtp:\n  port: 99999\nimap:\n  colour: blue\n');
    const result = await kzymy(['config', 'check', bad]);
    expect(result.code).to.equal(78);
    expect(result.stderr).to.include('smtp.port');
    expect(result.stderr).to.include('imap.colour: unknown setting');
    expect((await kzymy(['config', 'check', configFile])).code).to.equal(0);
  });
});
