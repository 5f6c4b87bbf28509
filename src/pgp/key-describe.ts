/**
 * What a user is told about an accepted key: its algorithm in GnuPG's words, when encryption to it
 * stops working, and warnings (expiry soon; user IDs the server can read). Text only: dates and
 * sizes, never key material.
 */
import * as openpgp from 'openpgp';

/** Warn when encryption to the key stops working within this many days. */
export const EXPIRY_WARNING_DAYS = 30;

export async function effectiveExpiry(
  key: openpgp.Key,
  encryptionKey: openpgp.Key | openpgp.Subkey,
  now: Date,
): Promise<Date | null> {
  const dates = [await key.getExpirationTime()];
  if (encryptionKey !== key)
    dates.push(await (encryptionKey as openpgp.Subkey).getExpirationTime(now));
  const finite = dates.filter((d): d is Date => d instanceof Date);
  if (finite.length === 0) return null;
  return new Date(Math.min(...finite.map((d) => d.getTime())));
}

export function expiryWarnings(expiresAt: Date | null, now: Date): string[] {
  if (!expiresAt) return [];
  const days = (expiresAt.getTime() - now.getTime()) / 86_400_000;
  if (days > EXPIRY_WARNING_DAYS) return [];
  return [
    `This key expires on ${isoDay(expiresAt)} (in ${Math.max(0, Math.floor(days))} days). ` +
      'After that, incoming mail is refused until you extend it ' +
      '(`gpg --quick-set-expire FINGERPRINT 1y "*"`) and upload it again.',
  ];
}

/**
 * A warning when a user ID holds an email address: it ties the mailbox to that address. Other
 * user IDs get none — the review page says for every key that the server reads its user IDs,
 * and recommends one like "nym", which must not then draw a warning of its own.
 */
export function userIdWarnings(userIds: readonly string[]): string[] {
  // Keep the user ID itself out of the text: it is the user's to see, not the log's.
  if (userIds.some((u) => /[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+/.test(u))) {
    return [
      "The key's user ID contains an email address, and the server can read it. For a " +
        'pseudonymous mailbox, use a key made for this purpose whose user ID does not identify you.',
    ];
  }
  return [];
}

/** 'rsa4096', 'ed25519+cv25519': the primary, plus the encryption subkey if it differs. */
export function describeKey(key: openpgp.Key, encryptionKey: openpgp.Key | openpgp.Subkey): string {
  const primary = describeAlgorithm(key.getAlgorithmInfo());
  if (encryptionKey === key) return primary;
  const sub = describeAlgorithm(encryptionKey.getAlgorithmInfo());
  return sub === primary ? primary : `${primary}+${sub}`;
}

function describeAlgorithm(info: openpgp.AlgorithmInfo): string {
  switch (info.algorithm) {
    case 'rsaEncryptSign':
    case 'rsaEncrypt':
    case 'rsaSign':
      return `rsa${info.bits}`;
    case 'dsa':
      return `dsa${info.bits}`;
    case 'elgamal':
      return `elg${info.bits}`;
    case 'eddsaLegacy':
      return 'ed25519';
    case 'ecdh':
    case 'ecdsa':
      // GnuPG's names: cv25519, nistp256, brainpoolP256r1, secp256k1.
      if (info.curve === 'curve25519Legacy') return 'cv25519';
      return (info.curve ?? 'unknown').replace(/^nistP/, 'nistp');
    default:
      return info.algorithm;
  }
}

export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

// ---------------------------------------------------------------------------------------------
// Parsed-key cache. Parsing (and verifying the self-signatures of) a key costs more than the
// encryption of a typical message (about 1 ms per 10 KB message, docs/BENCHMARKS.md), so keys are parsed once
// per process and reused. Keyed by a hash of the exact armored text: a changed key is a new entry.
