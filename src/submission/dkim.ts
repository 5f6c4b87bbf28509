/**
 * DKIM (RFC 6376) for what kzymy sends: one key for the mail domain, d=<domain>, so that a
 * message From <anything>@<username>.<domain> is aligned with it under DMARC's relaxed alignment
 * (RFC 7489 §3.1.1: same organizational domain). Signing is mailauth's (the only importer of
 * it); this module loads the key and says what DNS must publish for it.
 */
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dkimSign } from 'mailauth/lib/dkim/sign';

export interface DkimKey {
  domain: string;
  selector: string;
  privateKeyPem: string;
  algorithm: 'rsa-sha256' | 'ed25519-sha256';
  /** The TXT record to publish at <selector>._domainkey.<domain>. */
  record: string;
  /** The p= value alone (base64), for comparing with what DNS publishes. */
  publicKey: string;
}

export class DkimKeyError extends Error {
  override name = 'DkimKeyError';
}

/** RFC 8301 §3.2: "Signers MUST use RSA keys of at least 1024 bits". kzymy's docs ask for 2048. */
const MIN_RSA_BITS = 1024;

export async function loadDkimKey(
  file: string,
  domain: string,
  selector: string,
): Promise<DkimKey> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new DkimKeyError(`send.dkim.keyFile ${file}: cannot read it (${code})`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new DkimKeyError(`send.dkim.keyFile ${file}: not a PEM private key`);
  }
  const type = key.asymmetricKeyType;
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS)
      throw new DkimKeyError(`send.dkim.keyFile ${file}: RSA-${bits} is too short`);
  } else if (type !== 'ed25519') {
    throw new DkimKeyError(`send.dkim.keyFile ${file}: ${type ?? 'this'} key; use RSA or Ed25519`);
  }
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  // RFC 6376 §3.6.1: RSA's p= is the DER SubjectPublicKeyInfo; RFC 8463 §4.2: Ed25519's is
  // the bare 32-byte public key, the end of its SubjectPublicKeyInfo.
  const publicKey = (type === 'rsa' ? spki : spki.subarray(spki.length - 32)).toString('base64');
  const algorithm = type === 'rsa' ? 'rsa-sha256' : 'ed25519-sha256';
  return {
    domain,
    selector,
    privateKeyPem: pem,
    algorithm,
    publicKey,
    record: `v=DKIM1; k=${type === 'rsa' ? 'rsa' : 'ed25519'}; p=${publicKey}`,
  };
}

/** The message with its DKIM-Signature field in front; throws when mailauth could not sign. */
export async function dkimSignMessage(key: DkimKey, message: Buffer, now: Date): Promise<Buffer> {
  const signature = {
    signingDomain: key.domain,
    selector: key.selector,
    privateKey: key.privateKeyPem,
    algorithm: key.algorithm,
    // RFC 6376 §3.4: relaxed survives the whitespace changes relays are known to make.
    canonicalization: 'relaxed/relaxed',
  };
  // mailauth 4.13.3 signs what `signatureData` lists; its type declarations describe the same
  // fields at the top level, where its signer ignores them (and signs nothing).
  const result = await dkimSign(message, {
    ...signature,
    signatureData: [signature],
    signTime: now,
  });
  if (result.errors.length > 0 || !/^DKIM-Signature:/i.test(result.signatures)) {
    throw new DkimKeyError('DKIM signing failed');
  }
  return Buffer.concat([Buffer.from(result.signatures, 'latin1'), message]);
}
