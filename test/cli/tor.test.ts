/**
 * `kzymy tor`: the generated torrc publishes web, IMAP (143, 993), POP3 (110, 995) and, when
 * sending is enabled, submission (587, 465) as one
 * onion service pointing at the configured loopback ports; tor itself accepts it (the command
 * runs `tor --verify-config`, and so does this test); and a real tor started on it — with the
 * network disabled, so nothing leaves this machine — creates the onion service's keys and
 * address, which `kzymy tor` then shows.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/util/project-root';
import { runCommand, runNode } from '../kzymy-fetch/helpers/fixture';
import { stopChild } from '../kzymy-fetch/helpers/proxies';
import { testDataDir } from '../helpers/services';

const CLI = join(projectRoot(), 'dist', 'src', 'cli', 'kzymy.js');

describe('kzymy tor', function () {
  this.timeout(60_000);

  function configIn(dir: string, extra = ''): string {
    const file = join(dir, 'kzymy.yaml');
    writeFileSync(
      file,
      [
        `dataDir: ${join(dir, 'var')}`,
        'web: { port: 18080 }',
        'imap: { port: 11143, tlsPort: 11993 }',
        'pop3: { port: 11110, tlsPort: 11995 }',
        extra,
      ].join('\n'),
    );
    return file;
  }

  it('writes a torrc that maps the standard onion ports to the loopback listeners, verified by tor', async function () {
    const dir = mkdtempSync(join(testDataDir(), 'tor-'));
    const run = await runNode(CLI, ['tor', '--config', configIn(dir)]);

    expect(run.code, run.stderr).to.equal(0);
    const torrc = join(dir, 'var', 'tor', 'torrc');
    expect(run.stdout).to.include(`wrote ${torrc} (tor --verify-config: valid)`);
    const lines = readFileSync(torrc, 'utf8').split('\n');
    expect(lines).to.include.members([
      'SocksPort 0',
      `DataDirectory ${join(dir, 'var', 'tor', 'data')}`,
      `HiddenServiceDir ${join(dir, 'var', 'tor', 'onion-service')}`,
      'HiddenServiceVersion 3',
      'HiddenServicePort 80 127.0.0.1:18080',
      'HiddenServicePort 143 127.0.0.1:11143',
      'HiddenServicePort 993 127.0.0.1:11993',
      'HiddenServicePort 110 127.0.0.1:11110',
      'HiddenServicePort 995 127.0.0.1:11995',
    ]);
    const verify = await runCommand('tor', ['--verify-config', '-f', torrc]);
    expect(verify.code, verify.stdout).to.equal(0);
    expect(verify.stdout).to.include('Configuration was valid');
  });

  it('leaves disabled services out and prints just the stanza with --print', async function () {
    const dir = mkdtempSync(join(testDataDir(), 'tor-'));
    const config = configIn(dir);
    writeFileSync(
      config,
      readFileSync(config, 'utf8').replace(
        'pop3: { port: 11110, tlsPort: 11995 }',
        'pop3: { enabled: false }',
      ),
    );
    const run = await runNode(CLI, [
      'tor',
      '--config',
      config,
      '--print',
      '--service-dir',
      '/var/lib/tor/kzymy',
    ]);

    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.equal(
      [
        'HiddenServiceDir /var/lib/tor/kzymy',
        'HiddenServiceVersion 3',
        'HiddenServicePort 80 127.0.0.1:18080',
        'HiddenServicePort 143 127.0.0.1:11143',
        'HiddenServicePort 993 127.0.0.1:11993',
        '',
      ].join('\n'),
    );
  });

  it('publishes submission on 587 and 465 when sending is enabled, verified by tor', async function () {
    const dir = mkdtempSync(join(testDataDir(), 'tor-'));
    const config = configIn(
      dir,
      [
        'send:',
        '  enabled: true',
        '  port: 11587',
        '  tlsPort: 11465',
        '  relay: { url: "smtps://relay.example:465" }',
        '  dkim: { keyFile: /nonexistent/dkim.pem }',
      ].join('\n'),
    );
    const run = await runNode(CLI, ['tor', '--config', config]);

    expect(run.code, run.stderr).to.equal(0);
    const lines = readFileSync(join(dir, 'var', 'tor', 'torrc'), 'utf8').split('\n');
    expect(lines).to.include.members([
      'HiddenServicePort 587 127.0.0.1:11587',
      'HiddenServicePort 465 127.0.0.1:11465',
    ]);
    const off = await runNode(CLI, ['tor', '--config', configIn(dir), '--print']);
    expect(off.stdout).not.to.include('587');
  });

  it('refuses a port tor cannot publish (0) with exit 78', async function () {
    const dir = mkdtempSync(join(testDataDir(), 'tor-'));
    const config = configIn(dir);
    writeFileSync(config, readFileSync(config, 'utf8').replace('port: 18080', 'port: 0'));
    const run = await runNode(CLI, ['tor', '--config', config]);

    expect(run.code).to.equal(78);
    expect(run.stderr).to.include('web.port: port 0');
  });

  it('is accepted by a real tor, which creates the onion address that kzymy tor then shows', async function () {
    const dir = mkdtempSync(join(testDataDir(), 'tor-'));
    const config = configIn(dir);
    expect((await runNode(CLI, ['tor', '--config', config])).code).to.equal(0);
    const torrc = join(dir, 'var', 'tor', 'torrc');
    const serviceDir = join(dir, 'var', 'tor', 'onion-service');

    // DisableNetwork: tor makes its keys but opens no connection to the Tor network.
    const tor = spawn('tor', ['-f', torrc, '--DisableNetwork', '1'], { stdio: 'ignore' });
    try {
      await untilExists(join(dir, 'var', 'tor'), join(serviceDir, 'hostname'));
    } finally {
      await stopChild(tor);
    }
    const onion = readFileSync(join(serviceDir, 'hostname'), 'utf8').trim();
    expect(onion).to.match(/^[a-z2-7]{56}\.onion$/);

    const again = await runNode(CLI, ['tor', '--config', config]);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.include(`onion address: ${onion}`);
  });
});

/** Resolves once `file` exists, watching `root` recursively (no polling sleep). */
function untilExists(root: string, file: string): Promise<void> {
  return new Promise((resolve) => {
    const watcher = watch(root, { recursive: true }, () => check());
    const check = (): void => {
      if (!existsSync(file)) return;
      watcher.close();
      resolve();
    };
    check();
  });
}
