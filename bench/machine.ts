/** A description of the machine and the software under test, for the report's header. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem, type } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/util/project-root';

export interface MachineInfo {
  cpu: string;
  cores: number;
  ramGiB: number;
  os: string;
  node: string;
  gpg: string;
  openpgp: string;
  haraka: string;
  dovecot: string;
  /** 1-minute load average when the run started: > cores means someone else was busy too. */
  loadAtStart: number;
}

export function describeMachine(): MachineInfo {
  const cpuList = cpus();
  return {
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    ramGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    os: `${osName()} (${type()} ${release()})`,
    node: process.version,
    gpg: firstLine('gpg', ['--version']),
    openpgp: packageVersion('openpgp'),
    haraka: packageVersion('Haraka'),
    dovecot: firstLine('dovecot', ['--version']),
    loadAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

function osName(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? 'Linux';
  } catch {
    return 'unknown OS';
  }
}

function firstLine(command: string, args: string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error || result.status !== 0) return 'not installed';
  return result.stdout.split('\n')[0]?.trim() ?? '';
}

function packageVersion(name: string): string {
  try {
    const file = join(projectRoot(), 'node_modules', name, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}
