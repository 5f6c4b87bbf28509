/**
 * A throwaway Dovecot (Debian `dovecot-imapd`, installed by bench/setup.sh) on a loopback port:
 * its own config, run directory and Maildir in a temporary directory, one user in a passwd-file,
 * mail processes as `nobody`, started in the foreground (`dovecot -F -c CONF`) and stopped with
 * the benchmark. Only the settings needed to run it here are changed from Dovecot's defaults.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stopChild } from '../src/util/stop-child';
import { freePort, waitForPort } from '../src/util/ports';
import { childPids } from './proc';

export interface Dovecot {
  port: number;
  user: string;
  password: string;
  /** The master process; its children (auth, imap-login, imap) come and go. */
  pid: number;
  /** The master and all its descendants, now. */
  pids(): number[];
  /** Puts messages into the user's Maildir/new, as an MDA would. */
  deliver(messages: readonly Buffer[]): void;
  /** Messages in the Maildir (new + cur). */
  count(): number;
  close(): Promise<void>;
}

export function dovecotAvailable(): string | null {
  const probe = spawnSync('dovecot', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    return 'Dovecot is not installed (run `bash bench/setup.sh` as root: Debian dovecot-imapd)';
  }
  return null;
}

export async function startDovecot(dir: string): Promise<Dovecot> {
  const user = 'bench';
  const password = 'bench-password';
  const port = await freePort();
  const nobody = idOf('nobody');
  const home = join(dir, 'home', user);
  const maildir = join(home, 'Maildir');
  for (const sub of ['new', 'cur', 'tmp']) mkdirSync(join(maildir, sub), { recursive: true });
  // The mail process runs as nobody: it must reach and own the Maildir.
  chmodSync(dir, 0o755);
  for (const path of [
    join(dir, 'home'),
    home,
    maildir,
    ...['new', 'cur', 'tmp'].map((s) => join(maildir, s)),
  ]) {
    chownSync(path, nobody.uid, nobody.gid);
  }
  writeFileSync(join(dir, 'passwd'), `${user}:{PLAIN}${password}::::::\n`, { mode: 0o644 });
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(
    conf,
    [
      `base_dir = ${join(dir, 'run')}`,
      `state_dir = ${join(dir, 'state')}`,
      `log_path = ${join(dir, 'dovecot.log')}`,
      'protocols = imap',
      'listen = 127.0.0.1',
      'ssl = no',
      // Loopback only, like kzymy's onion-facing listener: plaintext LOGIN is fine here.
      'disable_plaintext_auth = no',
      'auth_mechanisms = plain login',
      'default_internal_user = dovecot',
      'default_login_user = dovenull',
      `first_valid_uid = ${nobody.uid}`,
      'passdb {',
      '  driver = passwd-file',
      `  args = scheme=PLAIN username_format=%u ${join(dir, 'passwd')}`,
      '}',
      'userdb {',
      '  driver = static',
      `  args = uid=${nobody.uid} gid=${nobody.gid} home=${join(dir, 'home')}/%u`,
      '}',
      'mail_location = maildir:~/Maildir',
      'service imap-login {',
      '  inet_listener imap {',
      '    address = 127.0.0.1',
      `    port = ${port}`,
      '  }',
      '  inet_listener imaps {',
      '    port = 0',
      '  }',
      '}',
      '',
    ].join('\n'),
  );
  const child = spawn('dovecot', ['-F', '-c', conf], { stdio: 'ignore' });
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  try {
    await waitForPort('127.0.0.1', port, 30_000, alive);
  } catch (error) {
    await stopChild(child, 'SIGTERM', 10_000);
    throw new Error(`Dovecot did not start (see ${join(dir, 'dovecot.log')}): ${String(error)}`);
  }
  let serial = 0;
  return {
    port,
    user,
    password,
    pid: child.pid ?? 0,
    pids: () => [child.pid ?? 0, ...childPids(child.pid ?? 0)],
    deliver(messages) {
      const stamp = Math.floor(Date.now() / 1000);
      for (const message of messages) {
        const file = join(maildir, 'new', `${stamp}.M${serial++}P${process.pid}.bench`);
        writeFileSync(file, message);
        chownSync(file, nobody.uid, nobody.gid);
      }
    },
    count: () =>
      readdirSync(join(maildir, 'new')).length + readdirSync(join(maildir, 'cur')).length,
    async close() {
      await stopChild(child, 'SIGTERM', 10_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function idOf(name: string): { uid: number; gid: number } {
  const result = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const group = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (result.status !== 0 || group.status !== 0) throw new Error(`no user ${name}`);
  return { uid: Number(result.stdout.trim()), gid: Number(group.stdout.trim()) };
}
