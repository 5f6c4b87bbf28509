/** With --online: the MX a user's subdomain gets, and whether the certificate names it. */
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { KzymyConfig } from '../../config/schema';
import { DOC, randomLabel, type CheckResult, type DoctorDeps } from './common';

export async function checkMx(
  config: Readonly<KzymyConfig>,
  deps: DoctorDeps,
): Promise<CheckResult> {
  // Every user is a subdomain, so the MX that matters is the one a random label gets: only a
  // wildcard (RFC 4592) answers for all of them.
  const name = `${randomLabel()}.${config.domain}`;
  let records: Array<{ exchange: string; priority: number }>;
  try {
    records = await deps.resolver.resolveMx(name);
  } catch (error) {
    const code = String((error as { code?: unknown }).code ?? 'error');
    if (code === 'ENOTFOUND' || code === 'ENODATA') {
      return {
        check: 'mx',
        verdict: 'fail',
        message: `no MX for ${name} (${code}): mail to users' subdomains cannot arrive`,
        fix: `publish a wildcard MX: *.${config.domain}. IN MX 10 mx1.${config.domain}. (${DOC}, "DNS")`,
      };
    }
    return {
      check: 'mx',
      verdict: 'warn',
      message: `the MX lookup for ${name} failed (${code})`,
      fix: 'check this machine can reach a DNS resolver (or pass --dns-server HOST:PORT)',
    };
  }
  records.sort((a, b) => a.priority - b.priority);
  // RFC 7505: a single MX with an empty exchange ('.') says the domain takes no mail.
  if (
    records.length === 0 ||
    records.every((record) => record.exchange === '' || record.exchange === '.')
  ) {
    return {
      check: 'mx',
      verdict: 'fail',
      message: `${name} has a null MX (RFC 7505): it says it accepts no mail`,
      fix: `replace it with *.${config.domain}. IN MX 10 mx1.${config.domain}.`,
    };
  }
  const unresolved: string[] = [];
  for (const { exchange } of records) {
    const [v4, v6] = await Promise.all([
      deps.resolver.resolve4(exchange).catch(() => []),
      deps.resolver.resolve6(exchange).catch(() => []),
    ]);
    if (v4.length + v6.length === 0) unresolved.push(exchange);
  }
  const list = records.map((record) => `${record.priority} ${record.exchange}`).join(', ');
  if (unresolved.length > 0) {
    return {
      check: 'mx',
      verdict: 'fail',
      message: `MX for ${name}: ${list}; without an address: ${unresolved.join(', ')}`,
      fix: 'give each MX host an A (and AAAA) record; an MX must not point at a CNAME (RFC 2181 §10.3)',
    };
  }
  const uncovered = await mxNamesNotInCertificate(
    config,
    records.map((record) => record.exchange),
  );
  if (uncovered.length > 0) {
    return {
      check: 'mx',
      verdict: 'warn',
      message: `MX for ${name}: ${list}; the TLS certificate does not cover ${uncovered.join(', ')}`,
      fix:
        'add the MX host names to the certificate (or use *.' +
        config.domain +
        ' with MX hosts under it)',
    };
  }
  return { check: 'mx', verdict: 'ok', message: `MX for ${name}: ${list}` };
}

async function mxNamesNotInCertificate(
  config: Readonly<KzymyConfig>,
  hosts: string[],
): Promise<string[]> {
  if (!config.tls.cert) return [];
  try {
    const cert = new X509Certificate(await readFile(config.tls.cert));
    return hosts.filter((host) => cert.checkHost(host) === undefined);
  } catch {
    return []; // the tls check reports an unreadable certificate
  }
}

// ---- helpers ----------------------------------------------------------------------------------
