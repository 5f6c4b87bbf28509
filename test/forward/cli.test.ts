/**
 * `kzymy user set NAME --forward … | --forward-code … | --no-forward` and `kzymy user
 * show NAME`, run as the operator runs them (a child process with a config file),
 * against the fixture's store (the run's engine) and an `smtp-server` destination.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { projectRoot } from '../../src/util/project-root';
import { startForwarder } from '../../src/forward/worker';
import { testDataDir } from '../helpers/services';
import { startDestination, type TestDestination } from './helpers/destination';
import { ForwardFixture } from './helpers/fixture';

const CLI = join(projectRoot(), 'dist', 'src', 'cli', 'kzymy.js');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function kzymy(args: readonly string[]): Promise<CliResult> {
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

/** The forwarding lines of `kzymy user show`. */
function forwardLines(stdout: string): string[] {
  return stdout.split('\n').filter((line) => line.startsWith('forward'));
}

describe('forward: kzymy user set / user show', function () {
  this.timeout(120_000);
  let fixture: ForwardFixture;
  let destination: TestDestination;
  let configFile: string;
  let offConfig: string;

  before(async () => {
    fixture = await ForwardFixture.start();
    destination = await startDestination();
    const dir = mkdtempSync(join(testDataDir(), 'forward-cli-'));
    const common = ['domain: kzymy.test', ...fixture.storeYaml(), ''].join('\n');
    configFile = join(dir, 'kzymy.yaml');
    writeFileSync(
      configFile,
      `${common}forward:\n  enabled: true\n  proxy: ''\n  allowPrivateHosts: true\n`,
    );
    offConfig = join(dir, 'off.yaml');
    writeFileSync(offConfig, common);
  });
  after(async () => {
    await destination?.close();
    await fixture?.close();
  });

  it('mails the code, activates with it, shows the state and the refusals, and turns forwarding off', async () => {
    const user = await fixture.addUser();
    const name = user.username;
    const host = `127.0.0.1:${destination.port}`;

    const set = await kzymy([
      'user',
      'set',
      name,
      '--forward',
      'her@example.org',
      '--forward-host',
      host,
      '--config',
      configFile,
    ]);
    expect(set.stderr).to.equal('');
    expect(set.code).to.equal(0);
    expect(set.stdout).to.include('a code encrypted to the user');
    const mail = destination.received.at(-1);
    if (!mail) throw new Error('no code message');
    const code = /^Forwarding code:\s+(\S+)\r?$/m.exec(
      (await fixture.gpg.decrypt(mail.data)).toString('utf8'),
    )?.[1];
    if (!code) throw new Error('no code in the message');

    const pending = await kzymy(['user', 'show', name, '--config', configFile]);
    expect(pending.stdout).to.match(
      new RegExp(
        `^forward: pending her@example\\.org via ${host.replace(/\./g, '\\.')} \\(code valid until \\d{4}-`,
        'm',
      ),
    );

    const wrong = await kzymy([
      'user',
      'set',
      name,
      '--forward-code',
      'nope',
      '--config',
      configFile,
    ]);
    expect(wrong.code).to.equal(65);
    expect(wrong.stderr).to.include('that is not the code mailed to the destination');

    const on = await kzymy(['user', 'set', name, '--forward-code', code, '--config', configFile]);
    expect(on.code, on.stderr).to.equal(0);
    expect(on.stdout).to.equal(`${name}: forwarding on\n`);

    // A destination's refusal, as the worker records it, shows in user show.
    destination.behaviour.rcpt = { code: 550, text: '5.7.1 not wanted' };
    const worker = startForwarder(fixture.deps);
    try {
      await fixture.deposit(user, 1);
      expect((await worker.runUser(user.id)).refused).to.equal(1);
    } finally {
      destination.behaviour.rcpt = null;
      await worker.stop();
    }
    const shown = await kzymy(['user', 'show', name, '--config', configFile]);
    const lines = forwardLines(shown.stdout);
    expect(lines[0]).to.equal(`forward: active her@example.org via ${host}`);
    expect(lines[1]).to.match(/^forward refused: 550 5\.7\.1 at \d{4}-\d\d-\d\dT/);
    expect(lines[2]).to.equal('forward kept for pickup: 1 refused messages');
    const json = JSON.parse(
      (await kzymy(['user', 'show', name, '--json', '--config', configFile])).stdout,
    ) as { forward: { state: string; failure: { code: number; status: string }; refused: number } };
    expect(json.forward).to.deep.include({ state: 'active', refused: 1 });
    expect(json.forward.failure).to.include({ code: 550, status: '5.7.1' });

    const off = await kzymy(['user', 'set', name, '--no-forward', '--config', configFile]);
    expect(off.code, off.stderr).to.equal(0);
    expect(
      forwardLines((await kzymy(['user', 'show', name, '--config', configFile])).stdout),
    ).to.deep.equal(['forward: off']);
  });

  it('refuses when the server does not offer forwarding, or the flags are not exactly one change', async () => {
    const user = await fixture.addUser();
    const off = await kzymy([
      'user',
      'set',
      user.username,
      '--forward',
      'her@example.org',
      '--config',
      offConfig,
    ]);
    expect(off.code).to.equal(78);
    expect(off.stderr).to.include('forwarding is off on this server (forward.enabled: false)');
    const both = await kzymy([
      'user',
      'set',
      user.username,
      '--forward',
      'her@example.org',
      '--no-forward',
      '--config',
      configFile,
    ]);
    expect(both.code).to.equal(64);
    const nobody = await kzymy(['user', 'show', 'nosuchuser', '--config', configFile]);
    expect(nobody.code).to.equal(67);
    expect((await fixture.deps.store.users.byId(user.id))?.forward).to.equal(null);
  });
});
