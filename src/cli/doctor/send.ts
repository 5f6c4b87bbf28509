/**
 * Sending as the nym, when send.enabled: the DKIM key (readable, usable, and with --online the
 * same as what DNS publishes at <selector>._domainkey.<domain>), and the relay (with --online:
 * reachable over TLS with a valid certificate, and taking kzymy's login — nothing is sent).
 * Neither result shows the relay's credentials.
 */
import type { KzymyConfig } from '../../config/schema';
import { DkimKeyError, loadDkimKey, type DkimKey } from '../../submission/dkim';
import { probeRelay, relayTarget, type RelayTarget } from '../../submission/relay';
import type { CheckResult, DoctorDeps } from './common';

const SEND_DOC = 'docs/operations/sending.md';

export async function checkDkim(
  config: Readonly<KzymyConfig>,
  online: boolean,
  deps: DoctorDeps,
): Promise<CheckResult> {
  const { selector, keyFile } = config.send.dkim;
  let key: DkimKey;
  try {
    key = await loadDkimKey(keyFile, config.domain, selector);
  } catch (error) {
    return {
      check: 'dkim',
      verdict: 'fail',
      message: error instanceof DkimKeyError ? error.message : 'cannot load send.dkim.keyFile',
      fix: `make an RSA key: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out dkim.pem (${SEND_DOC}, "DKIM")`,
    };
  }
  const name = `${selector}._domainkey.${config.domain}`;
  const publish = `${name}. IN TXT "${key.record}"`;
  if (!online) {
    return {
      check: 'dkim',
      verdict: 'ok',
      message: `${key.algorithm} key loaded; --online compares it with the TXT record at ${name}`,
    };
  }
  let records: string[][];
  try {
    records = await deps.resolver.resolveTxt(name);
  } catch (error) {
    const code = String((error as { code?: unknown }).code ?? 'error');
    return {
      check: 'dkim',
      verdict: 'fail',
      message: `no DKIM record at ${name} (${code}): receivers cannot verify what kzymy sends`,
      fix: `publish ${publish}`,
    };
  }
  // RFC 6376 §3.6.2.2: the strings of one TXT record are joined; §3.6.1: p= is the key.
  const published = records
    .map((strings) => strings.join(''))
    .map((record) => /(?:^|;)\s*p=([^;]*)/.exec(record)?.[1]?.replace(/\s+/g, '') ?? null)
    .filter((value): value is string => value !== null);
  if (published.includes(key.publicKey)) {
    return { check: 'dkim', verdict: 'ok', message: `${name} publishes the configured key` };
  }
  return {
    check: 'dkim',
    verdict: 'fail',
    message:
      published.length === 0
        ? `${name} has TXT records but no DKIM key (p=)`
        : `${name} publishes another key than send.dkim.keyFile: signatures will not verify`,
    fix: `publish ${publish}`,
  };
}

export async function checkRelay(
  config: Readonly<KzymyConfig>,
  online: boolean,
  deps: DoctorDeps,
): Promise<CheckResult> {
  let target: RelayTarget;
  try {
    target = await relayTarget(config.send.relay.url, config.send.relay.caFile, config.domain);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    return {
      check: 'relay',
      verdict: 'fail',
      message: `cannot read send.relay.caFile ${config.send.relay.caFile} (${code})`,
      fix: 'point send.relay.caFile at the PEM certificate of the CA that signs the relay, or leave it empty',
    };
  }
  const where = `${target.host}:${target.port} (${target.secure ? 'implicit TLS' : 'STARTTLS'}${target.auth ? ', with a login' : ''})`;
  if (!online) return { check: 'relay', verdict: 'ok', message: `${where}; --online tries it` };
  const outcome = await probeRelay(target, deps.timeoutMs);
  if (outcome.kind === 'sent') {
    return { check: 'relay', verdict: 'ok', message: `${where} takes kzymy's login over TLS` };
  }
  const step = outcome.kind === 'unavailable' ? outcome.step : outcome.stage;
  return {
    check: 'relay',
    verdict: 'fail',
    message: `${where}: failed at ${step}; nothing can be sent`,
    fix:
      step === 'login'
        ? 'check the user and password in send.relay.url (percent-encode @ : / in them)'
        : 'check the host and port, that the relay offers TLS, and that send.relay.caFile (or the system) trusts its certificate',
  };
}
