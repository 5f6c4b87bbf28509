/** The TLS pair: readable, matching, valid now and for a while, naming the mail domain. */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { KzymyConfig } from '../../config/schema';
import { DOC, EXPIRY_WARN_DAYS, randomLabel, type CheckResult, type DoctorDeps } from './common';

export async function checkTls(
  config: Readonly<KzymyConfig>,
  deps: DoctorDeps,
): Promise<CheckResult> {
  const { key: keyFile, cert: certFile } = config.tls;
  if (!keyFile && !certFile) {
    return {
      check: 'tls',
      verdict: 'warn',
      message: 'no certificate configured: a self-signed pair is generated under dataDir',
      fix: `fine for loopback and onion listeners; for the public MX set tls.key and tls.cert to a certificate for the MX host names or *.${config.domain} (${DOC}, "STARTTLS certificates")`,
    };
  }
  if (!keyFile || !certFile) {
    return {
      check: 'tls',
      verdict: 'fail',
      message: `only tls.${keyFile ? 'key' : 'cert'} is set`,
      fix: 'set both tls.key and tls.cert, or neither',
    };
  }
  const read = async (file: string, what: string): Promise<Buffer | CheckResult> =>
    readFile(file).catch(
      (error: NodeJS.ErrnoException): CheckResult => ({
        check: 'tls',
        verdict: 'fail',
        message: `cannot read the ${what} ${file} (${error.code ?? 'error'})`,
        fix: `make it readable by the user kzymy runs as (${what === 'key' ? 'mode 0640, group kzymy' : 'mode 0644'})`,
      }),
    );
  const keyPem = await read(keyFile, 'key');
  if (!Buffer.isBuffer(keyPem)) return keyPem;
  const certPem = await read(certFile, 'certificate');
  if (!Buffer.isBuffer(certPem)) return certPem;

  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return {
      check: 'tls',
      verdict: 'fail',
      message: `${certFile} holds no PEM certificate`,
      fix: 'point tls.cert at the PEM certificate chain (leaf first), e.g. fullchain.pem',
    };
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return {
      check: 'tls',
      verdict: 'fail',
      message: `${keyFile} holds no usable private key (not PEM, or protected by a passphrase)`,
      fix: 'point tls.key at the unencrypted PEM private key, e.g. privkey.pem',
    };
  }
  if (!cert.checkPrivateKey(key)) {
    return {
      check: 'tls',
      verdict: 'fail',
      message: 'the private key does not belong to the certificate',
      fix: 'install the key and certificate of the same issuance together',
    };
  }
  const now = deps.clock();
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (notAfter.getTime() <= now.getTime()) {
    return {
      check: 'tls',
      verdict: 'fail',
      message: `the certificate expired on ${notAfter.toISOString()}`,
      fix: 'renew it (an ACME client with DNS-01 for a wildcard), then restart kzymy-smtp and kzymy-daemon',
    };
  }
  if (notBefore.getTime() > now.getTime()) {
    return {
      check: 'tls',
      verdict: 'fail',
      message: `the certificate is not valid before ${notBefore.toISOString()}`,
      fix: "check this machine's clock, or install the previous certificate until then",
    };
  }
  const warnings: string[] = [];
  const fixes: string[] = [];
  const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000);
  if (daysLeft < EXPIRY_WARN_DAYS) {
    warnings.push(`expires in ${daysLeft} days`);
    fixes.push('check that automatic renewal runs');
  }
  const probe = `${randomLabel()}.${config.domain}`;
  const covers = [config.domain, probe].filter((name) => cert.checkHost(name) !== undefined);
  if (covers.length === 0) {
    warnings.push(
      `names (${cert.subjectAltName ?? cert.subject}) cover neither ${config.domain} nor *.${config.domain}`,
    );
    fixes.push(`get a certificate for the MX host names, or *.${config.domain}`);
  }
  if (cert.issuer === cert.subject && cert.verify(cert.publicKey)) {
    warnings.push('self-signed');
    fixes.push('MTAs that verify (DANE, MTA-STS) need a CA-issued certificate on the public MX');
  }
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType === 'rsa' && bits !== undefined && bits < 2048) {
    warnings.push(`RSA key of ${bits} bits`);
    fixes.push('use RSA-2048 or larger, or an ECDSA P-256 key');
  }
  const mode = (await stat(keyFile)).mode;
  if (mode & 0o004) {
    warnings.push('the key file is readable by every user');
    fixes.push(`chmod o-r ${keyFile}`);
  }
  const summary = `certificate valid until ${notAfter.toISOString().slice(0, 10)}${
    covers.length
      ? `, covers ${covers.map((n) => (n === probe ? `*.${config.domain}` : n)).join(' and ')}`
      : ''
  }`;
  if (warnings.length > 0) {
    return {
      check: 'tls',
      verdict: 'warn',
      message: `${summary}; ${warnings.join('; ')}`,
      fix: fixes.join('; '),
    };
  }
  return { check: 'tls', verdict: 'ok', message: `${summary}, key matches` };
}

// ---- Tor --------------------------------------------------------------------------------------
