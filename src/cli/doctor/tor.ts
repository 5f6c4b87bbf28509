/** A torrc: `tor --verify-config`, and onion services pointing at kzymy's loopback listeners. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { KzymyConfig } from '../../config/schema';
import { LOOPBACK, skip, type CheckResult, type DoctorDeps } from './common';

export async function checkTor(
  config: Readonly<KzymyConfig>,
  torrc: string | undefined,
  deps: DoctorDeps,
): Promise<CheckResult> {
  if (!torrc) return skip('tor', 'no torrc given (--torrc /etc/tor/torrc checks it)');
  let text: string;
  try {
    text = await readFile(torrc, 'utf8');
  } catch (error) {
    return {
      check: 'tor',
      verdict: 'fail',
      message: `cannot read ${torrc} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      fix: 'give the path of the torrc that publishes the onion services',
    };
  }
  const verified = await runTor(deps.torBinary, ['--verify-config', '-f', torrc], 30_000);
  if (verified.kind === 'missing') {
    return {
      check: 'tor',
      verdict: 'fail',
      message: 'tor is not installed here',
      fix: 'apt-get install tor (scripts/setup.sh --runtime installs it)',
    };
  }
  if (verified.kind === 'failed') {
    return {
      check: 'tor',
      verdict: 'fail',
      message: `tor --verify-config rejects ${torrc}: ${verified.reason}`,
      fix: 'correct the torrc (docs/operations/tor.md shows one that works)',
    };
  }
  const targets = onionTargets(text);
  const listeners: Array<[string, boolean, number]> = [
    ['IMAP', config.imap.enabled, config.imap.port],
    ['IMAPS', config.imap.enabled, config.imap.tlsPort],
    ['POP3', config.pop3.enabled, config.pop3.port],
    ['POP3S', config.pop3.enabled, config.pop3.tlsPort],
    ['web', config.web.enabled, config.web.port],
  ];
  const missing = listeners
    .filter(([, enabled, port]) => enabled && port !== 0 && !targets.loopbackPorts.has(port))
    .map(([name, , port]) => `${name} ${port}`);
  const problems: string[] = [];
  if (missing.length) problems.push(`not published as an onion service: ${missing.join(', ')}`);
  if (targets.nonLoopback.length) {
    problems.push(`onion ports forwarded off this host: ${targets.nonLoopback.join(', ')}`);
  }
  if (problems.length > 0) {
    return {
      check: 'tor',
      verdict: 'warn',
      message: `tor accepts ${torrc}, but ${problems.join('; ')}`,
      fix: 'add HiddenServicePort lines pointing at 127.0.0.1 and the configured ports (docs/operations/tor.md)',
    };
  }
  return {
    check: 'tor',
    verdict: 'ok',
    message: `tor accepts ${torrc}; ${targets.loopbackPorts.size} onion port(s) reach kzymy's loopback listeners`,
  };
}

/** HiddenServicePort VIRTPORT [TARGET]: TARGET is PORT, ADDR:PORT or unix:PATH (tor(1)). */
function onionTargets(torrc: string): { loopbackPorts: Set<number>; nonLoopback: string[] } {
  const loopbackPorts = new Set<number>();
  const nonLoopback: string[] = [];
  for (const raw of torrc.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const match = /^HiddenServicePort\s+(\d+)(?:\s+(\S+))?$/i.exec(line);
    if (!match) continue;
    const target = match[2] ?? match[1] ?? '';
    if (target.startsWith('unix:')) continue;
    const hostPort = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(target);
    const host = hostPort ? (hostPort[1] ?? hostPort[2] ?? '') : '127.0.0.1';
    const port = Number(hostPort ? hostPort[3] : target);
    if (LOOPBACK.test(host)) loopbackPorts.add(port);
    else nonLoopback.push(target);
  }
  return { loopbackPorts, nonLoopback };
}

type TorRun = { kind: 'ok' } | { kind: 'missing' } | { kind: 'failed'; reason: string };

function runTor(binary: string, args: string[], timeoutMs: number): Promise<TorRun> {
  return new Promise((resolve) => {
    execFile(binary, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (!error) return resolve({ kind: 'ok' });
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return resolve({ kind: 'missing' });
      const lines = `${stdout}\n${stderr}`
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => /\[(err|warn)\]/.test(line) && !/running Tor as root/.test(line));
      // tor names the cause in its first warning and ends with a generic "[err] Reading config
      // failed--see warnings above."
      const first = lines[0];
      resolve({
        kind: 'failed',
        reason: first ? first.replace(/^.*?\[(err|warn)\]\s*/, '') : `exit ${String(error.code)}`,
      });
    });
  });
}

// ---- DNS --------------------------------------------------------------------------------------
