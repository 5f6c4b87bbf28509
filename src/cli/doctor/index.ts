/**
 * `kzymy doctor`: checks an installation and says, for each part, ok / warn / fail and what to do.
 * It reads the configuration like the servers do, looks at the store (the sqlite file, or MongoDB)
 * and Redis without starting anything, inspects the TLS pair, asks `tor --verify-config` about a
 * torrc, asks every enabled listener for its greeting (answering.ts), and with --online looks up
 * the MX a user's subdomain gets; with sending enabled, it also checks the DKIM key (against its
 * DNS record with --online) and the relay (tried with --online). Every problem is reported, not
 * just the first (as `mox config test` does). Nothing it prints carries a password: connection
 * strings are shown by host only.
 */
import { loadConfig } from '../../config/load';
import { checkAnswering } from './answering';
import { checkConfig, checkListeners } from './local';
import { checkRedis, checkStore } from './store';
import { checkTls } from './tls';
import { checkTor } from './tor';
import { checkMx } from './mx';
import { checkSenderAuth } from './sender-auth';
import { checkDkim, checkRelay } from './send';
import {
  skip,
  type CheckResult,
  type DoctorDeps,
  type DoctorOptions,
  type Verdict,
} from './common';

export {
  defaultDoctorDeps,
  hostsOf,
  type CheckResult,
  type DoctorDeps,
  type DoctorOptions,
  type Verdict,
} from './common';

export async function runDoctor(options: DoctorOptions, deps: DoctorDeps): Promise<CheckResult[]> {
  const loaded = await loadConfig(options.configFile, options.env ?? process.env);
  if (!loaded.ok) {
    const skipped = [
      'listeners',
      'answering',
      'store',
      'redis',
      'tls',
      'tor',
      'mx',
      'sender-auth',
    ].map(
      (check): CheckResult => ({
        check,
        verdict: 'skip',
        message: 'needs a valid configuration',
      }),
    );
    return [
      {
        check: 'config',
        verdict: 'fail',
        message: `${options.configFile ?? '(defaults)'}: ${loaded.problems.join('; ')}`,
        fix: 'correct each setting named (config/kzymy.example.yaml documents them all)',
      },
      ...skipped,
    ];
  }
  const config = loaded.config;
  const results: CheckResult[] = [checkConfig(config, options.configFile), checkListeners(config)];
  results.push(
    ...(await Promise.all([
      checkStore(config, deps),
      checkRedis(config, deps),
      checkTls(config, deps),
      checkTor(config, options.torrc, deps),
      checkAnswering(config, deps),
    ])),
  );
  results.push(
    options.online ? await checkMx(config, deps) : skip('mx', 'offline (--online looks up the MX)'),
    options.online
      ? await checkSenderAuth(config, deps)
      : skip('sender-auth', 'offline (--online asks the resolver of SPF, DKIM and DMARC)'),
  );
  // Only where kzymy sends: a receive-only server has nothing here to check.
  if (config.send.enabled) {
    results.push(
      await checkDkim(config, options.online, deps),
      await checkRelay(config, options.online, deps),
    );
  }
  return results;
}

export function exitCodeOf(results: readonly CheckResult[]): number {
  return results.some((result) => result.verdict === 'fail') ? 1 : 0;
}

export function formatResults(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((result) => result.check.length));
  const lines: string[] = [];
  for (const result of results) {
    lines.push(`${result.verdict.padEnd(4)}  ${result.check.padEnd(width)}  ${result.message}`);
    if (result.fix) lines.push(`${' '.repeat(6 + width)}  fix: ${result.fix}`);
  }
  const count = (verdict: Verdict): number => results.filter((r) => r.verdict === verdict).length;
  lines.push(
    `${count('ok')} ok, ${count('warn')} warn, ${count('fail')} fail, ${count('skip')} skipped`,
  );
  return lines.join('\n');
}

// ---- configuration ----------------------------------------------------------------------------
