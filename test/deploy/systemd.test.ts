/**
 * deploy/systemd: the units as systemd itself reads them. `systemd-analyze verify` parses them
 * with systemd's own parser (it exits 0 on an unknown key or a bad value and only prints a
 * warning, so any output counts as a failure here); `systemd-analyze security --offline` scores
 * the hardening; `systemd-sysusers --root` creates the kzymy user in a scratch root.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';

const SYSTEMD = join(__dirname, '..', '..', '..', 'deploy', 'systemd');
const UNITS = ['kzymy-smtp.service', 'kzymy-daemon.service'];

function run(
  command: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env: { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '' } },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        resolve({ code: Number.isNaN(code) ? 127 : code, stdout, stderr });
      },
    );
  });
}

/** Directives of a unit file as [key, value] pairs, in order (comments dropped). */
function directives(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#') && !line.startsWith('['))
    .map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1)];
    });
}

function values(text: string, key: string): string[] {
  return directives(text)
    .filter(([k]) => k === key)
    .map(([, v]) => v);
}

/**
 * A scratch copy of the units to verify. verify checks that ExecStart's program exists: where
 * node is not /usr/bin/node (a nodesource or nvm install), point the copy at this node.
 */
function scratchUnits(mutate: (text: string) => string = (t) => t): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'kzymy-units-'));
  return UNITS.map((unit) => {
    let text = readFileSync(join(SYSTEMD, unit), 'utf8');
    if (!existsSync('/usr/bin/node'))
      text = text.replace(/^ExecStart=\/usr\/bin\/node /m, `ExecStart=${process.execPath} `);
    const file = join(dir, unit);
    writeFileSync(file, mutate(text));
    return file;
  });
}

describe('deploy/systemd units', function () {
  this.timeout(30_000);
  let available = true;

  before(async function () {
    available = (await run('systemd-analyze', ['--version'])).code === 0;
    if (!available) {
      console.log('      (skipped: systemd-analyze is not installed: apt-get install systemd)');
      this.skip();
    }
  });

  it('pass systemd-analyze verify without a single warning', async () => {
    const result = await run('systemd-analyze', ['verify', '--man=no', ...scratchUnits()]);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stderr.trim()).to.equal('');
  });

  it('would fail verify on a typo (the check is not vacuous)', async () => {
    const result = await run('systemd-analyze', [
      'verify',
      '--man=no',
      ...scratchUnits((text) => text.replace('ProtectSystem=strict', 'ProtectSystem=strikt')),
    ]);
    expect(result.stderr).to.include('Failed to parse protect system value');
  });

  it('score as well hardened by systemd-analyze security', async () => {
    for (const unit of UNITS) {
      const result = await run('systemd-analyze', [
        'security',
        '--offline=true',
        join(SYSTEMD, unit),
      ]);
      const match = /Overall exposure level for \S+: (\d+\.\d)/.exec(result.stdout + result.stderr);
      expect(match, result.stdout + result.stderr).not.to.equal(null);
      // 0 is fully locked down, 10 is nothing at all; a default service scores 9.6.
      expect(Number(match?.[1]), unit).to.be.below(2.5);
    }
  });

  it('set the hardening kzymy relies on, and never MemoryDenyWriteExecute (V8 JIT)', () => {
    for (const unit of UNITS) {
      const text = readFileSync(join(SYSTEMD, unit), 'utf8');
      const expected: Record<string, string> = {
        User: 'kzymy',
        NoNewPrivileges: 'yes',
        ProtectSystem: 'strict',
        ProtectHome: 'yes',
        PrivateTmp: 'yes',
        SystemCallFilter: '@system-service',
        RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6 AF_NETLINK',
        EnvironmentFile: '/etc/kzymy/secrets.env',
        UMask: '0077',
      };
      for (const [key, value] of Object.entries(expected)) {
        expect(values(text, key), `${unit} ${key}`).to.deep.equal([value]);
      }
      expect(values(text, 'MemoryDenyWriteExecute'), unit).to.deep.equal([]);
      expect(text, unit).to.match(/MemoryDenyWriteExecute= is deliberately NOT set/);
      const role = unit === 'kzymy-smtp.service' ? 'smtp' : 'daemon';
      expect(values(text, 'ExecStart')).to.deep.equal([
        `/usr/bin/node /opt/kzymy/dist/src/main.js --role ${role}`,
      ]);
      // The data directory is the one writable path, and the one kzymy is told about.
      expect(values(text, 'StateDirectory')).to.deep.equal([`kzymy-${role}`]);
      expect(values(text, 'ReadWritePaths')).to.deep.equal([`/var/lib/kzymy-${role}`]);
      expect(values(text, 'Environment')).to.include(`KZYMY_DATA_DIR=/var/lib/kzymy-${role}`);
    }
    const smtp = readFileSync(join(SYSTEMD, 'kzymy-smtp.service'), 'utf8');
    expect(values(smtp, 'CapabilityBoundingSet')).to.deep.equal(['CAP_NET_BIND_SERVICE']);
    expect(values(smtp, 'AmbientCapabilities')).to.deep.equal(['CAP_NET_BIND_SERVICE']);
    const daemon = readFileSync(join(SYSTEMD, 'kzymy-daemon.service'), 'utf8');
    expect(values(daemon, 'CapabilityBoundingSet')).to.deep.equal(['']);
  });

  it('create the kzymy system user with systemd-sysusers', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kzymy-sysroot-'));
    mkdirSync(join(root, 'etc'));
    const result = await run('systemd-sysusers', [
      `--root=${root}`,
      join(SYSTEMD, 'kzymy.sysusers.conf'),
    ]);
    expect(result.code, result.stderr).to.equal(0);
    const passwd = readFileSync(join(root, 'etc', 'passwd'), 'utf8');
    expect(passwd).to.match(
      /^kzymy:x:\d+:\d+:kzymy mail exchanger:\/var\/lib\/kzymy-daemon:\/usr\/sbin\/nologin$/m,
    );
    const uid = Number(/^kzymy:x:(\d+):/m.exec(passwd)?.[1]);
    expect(uid).to.be.within(1, 999); // a system user
  });
});
