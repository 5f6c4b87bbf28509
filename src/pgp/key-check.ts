// Validation of an uploaded OpenPGP public key (signup and key replacement).
//
// The answer is data: either the key with what the user should know about it, or one problem
// from a closed set with a message the user can act on. Messages are fixed English text plus
// dates and sizes; they never echo the input, so no key material (public or, worse, private)
// can reach a log or an error page through them.
//
// What is accepted is what kzymy can encrypt to *and* what GnuPG 2.2 (Debian 12) and
// Thunderbird can use: a single v4 key with a valid encryption-capable (sub)key, RSA ≥ 2048 or
// ECC on the curves GnuPG 2.2 knows. See docs/message-format.md.
import * as openpgp from 'openpgp';
import {
  describeKey,
  effectiveExpiry,
  expiryWarnings,
  isoDay,
  userIdWarnings,
} from './key-describe';
import { keyValidityDate, MAX_CLOCK_SKEW_MS } from './key-validity';
import { listPackets, PacketFormatError, Tag, type PacketHeader } from './packets';

export { clearKeyCache, keyCacheSize, parsePublicKey } from './key-cache';
export { EXPIRY_WARNING_DAYS } from './key-describe';
export { keyValidityDate, MAX_CLOCK_SKEW_MS } from './key-validity';

export type KeyProblem =
  | 'not-a-key'
  | 'private-key'
  | 'several-keys'
  | 'expired'
  | 'revoked'
  | 'no-encryption-key'
  | 'weak-rsa'
  | 'unsupported-algorithm'
  | 'too-large';

export interface KeyInfo {
  /** Lowercase hex fingerprint of the primary key. */
  fingerprint: string;
  /** Human-readable, GnuPG-style: 'rsa4096', 'ed25519+cv25519', 'rsa4096+rsa2048'. */
  algorithm: string;
  userIds: string[];
  createdAt: Date;
  /** When encryption to this key stops working (primary or encryption subkey); null = never. */
  expiresAt: Date | null;
  /** The public key re-armored by OpenPGP.js (public packets only). */
  armored: string;
  /** Things the user should know but that do not block the key. */
  warnings: string[];
}

export type KeyCheckResult =
  | { ok: true; key: KeyInfo }
  | { ok: false; problem: KeyProblem; message: string };

/** Largest upload accepted. A two-subkey RSA-4096 key is about 3 KiB armored. */
export const MAX_KEY_BYTES = 64 * 1024;
/**
 * RSA moduli below this are refused. 2047, not 2048, as OpenPGP.js does (`minRSABits`):
 * some generators emit 2048-bit keys whose modulus has a leading zero bit.
 */
const MIN_RSA_BITS = 2047;

const EXPORT_HINT =
  'Export your public key with `gpg --armor --export YOUR-KEY-ID` and upload the block that ' +
  'starts with -----BEGIN PGP PUBLIC KEY BLOCK-----.';
const NEW_KEY_HINT =
  'Create a new key with `gpg --quick-gen-key "nym" ed25519 cert` followed by ' +
  '`gpg --quick-add-key FINGERPRINT cv25519 encr`, or use rsa4096 for both.';

/** Per problem: what is wrong, then (after any specific detail) what to do about it. */
const MESSAGES: Record<KeyProblem, { summary: string; remedy: string }> = {
  'not-a-key': { summary: 'This is not a usable OpenPGP public key.', remedy: EXPORT_HINT },
  'private-key': {
    summary: 'This is a PRIVATE key. It was refused and not stored.',
    remedy:
      'It has left your machine, so treat it as exposed: revoke it, create a new key pair, ' +
      'and upload only the public key (`gpg --armor --export YOUR-KEY-ID`). Never paste a ' +
      'private key into any website.',
  },
  'several-keys': {
    summary: 'This upload contains more than one key.',
    remedy:
      'Upload exactly one public key: `gpg --armor --export YOUR-KEY-ID` with a single key ID ' +
      'or fingerprint.',
  },
  expired: {
    summary: 'This key has expired.',
    remedy:
      'Extend it with `gpg --quick-set-expire FINGERPRINT 1y` and ' +
      '`gpg --quick-set-expire FINGERPRINT 1y "*"` (for the subkeys), then export and upload it again.',
  },
  revoked: {
    summary: 'This key has been revoked by its owner and can no longer be used.',
    remedy: NEW_KEY_HINT,
  },
  'no-encryption-key': {
    summary: 'This key has no usable encryption subkey.',
    remedy:
      'Add one with `gpg --quick-add-key FINGERPRINT cv25519 encr`, then export and upload the ' +
      'key again.',
  },
  'weak-rsa': {
    summary: 'This key uses RSA shorter than 2048 bits, which is too weak.',
    remedy: NEW_KEY_HINT,
  },
  'unsupported-algorithm': {
    summary: 'This key uses an algorithm or key format kzymy cannot encrypt to.',
    remedy: NEW_KEY_HINT,
  },
  'too-large': {
    summary: `This upload is larger than ${MAX_KEY_BYTES / 1024} KiB; a public key is normally a few KiB.`,
    remedy:
      'Export it without third-party signatures and photos: ' +
      '`gpg --armor --export --export-options export-minimal YOUR-KEY-ID`.',
  },
};

function composeMessage(problem: KeyProblem, detail?: string): string {
  const { summary, remedy } = MESSAGES[problem];
  return [summary, detail, remedy].filter((s) => s).join(' ');
}

/** RFC 9580 §9.1 public-key algorithm IDs that GnuPG 2.2 understands (and OpenPGP.js too). */
const GNUPG22_ALGORITHMS: ReadonlySet<number> = new Set([1, 2, 3, 16, 17, 18, 19, 22]);
/** RFC 9580 §9.1: X25519, X448, Ed25519, Ed448 as their own algorithms (not in GnuPG 2.2). */
const RFC9580_ONLY_ALGORITHMS: ReadonlySet<number> = new Set([25, 26, 27, 28]);

/** An OpenPGP.js config with the strength rules off, used only to tell *why* a key failed. */
const RELAXED_CONFIG: openpgp.Config = {
  ...openpgp.config,
  minRSABits: 0,
  rejectPublicKeyAlgorithms: new Set(),
  rejectCurves: new Set(),
};

class KeyRejected extends Error {
  constructor(
    readonly problem: KeyProblem,
    readonly detail?: string,
  ) {
    super(problem);
  }
}

function reject(problem: KeyProblem, detail?: string): never {
  throw new KeyRejected(problem, detail);
}

/**
 * Check an uploaded public key (armored text, or armored or binary bytes) as of `now`.
 * Never throws for bad input; an unexpected internal failure is reported as 'not-a-key'.
 */
export async function checkPublicKey(
  input: string | Uint8Array,
  now: Date = new Date(),
): Promise<KeyCheckResult> {
  try {
    return { ok: true, key: await inspect(input, now) };
  } catch (err) {
    if (err instanceof KeyRejected) {
      return { ok: false, problem: err.problem, message: composeMessage(err.problem, err.detail) };
    }
    // Do not pass on the underlying error text: it is not ours and could quote the input.
    return { ok: false, problem: 'not-a-key', message: composeMessage('not-a-key') };
  }
}

async function inspect(input: string | Uint8Array, now: Date): Promise<KeyInfo> {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > MAX_KEY_BYTES) reject('too-large');
  if (size === 0) reject('not-a-key', 'The upload is empty.');

  const bytes = await toBinary(input);
  const packets = readPacketHeaders(bytes);
  checkPacketStructure(packets);

  let key: openpgp.Key;
  try {
    key = await openpgp.readKey({ binaryKey: bytes });
  } catch {
    reject('not-a-key', 'The key could not be read: it is damaged or in an unknown format.');
  }
  if (key.isPrivate()) reject('private-key'); // the packet scan already caught this; belt and braces

  if (key.getCreationTime().getTime() > now.getTime() + MAX_CLOCK_SKEW_MS) {
    reject(
      'not-a-key',
      "The key's creation date is in the future; check the clock of the computer that made it.",
    );
  }
  const at = keyValidityDate(key, now);
  await checkValidity(key, at);
  const encryptionKey = await findEncryptionKey(key, at);

  const expiresAt = await effectiveExpiry(key, encryptionKey, at);
  const userIds = key.getUserIDs();
  return {
    fingerprint: key.getFingerprint().toLowerCase(),
    algorithm: describeKey(key, encryptionKey),
    userIds,
    createdAt: key.getCreationTime(),
    expiresAt,
    armored: key.armor(),
    warnings: [...expiryWarnings(expiresAt, now), ...userIdWarnings(userIds)],
  };
}

/** Armored text (string or bytes) → unarmored bytes; binary bytes pass through. */
async function toBinary(input: string | Uint8Array): Promise<Uint8Array> {
  if (typeof input !== 'string' && isBinaryOpenPgp(input)) return input;
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
  // RFC 9580 §6.2: "-----BEGIN PGP PUBLIC KEY BLOCK-----" etc.
  const headers = [...text.matchAll(/^-----BEGIN PGP ([A-Z0-9 ,/]+)-----[ \t]*\r?$/gm)].map(
    (m) => m[1] as string,
  );
  // Unanchored on purpose: a private key pasted indented or quoted is still exposed.
  if (/BEGIN PGP PRIVATE KEY BLOCK/.test(text)) reject('private-key');
  if (headers.length === 0) {
    reject('not-a-key', 'No "-----BEGIN PGP PUBLIC KEY BLOCK-----" line was found.');
  }
  if (headers.length > 1) {
    if (headers.every((h) => h === 'PUBLIC KEY BLOCK')) reject('several-keys');
    reject('not-a-key', 'The upload contains several OpenPGP blocks.');
  }
  if (headers[0] === 'MESSAGE') reject('not-a-key', 'This is an encrypted OpenPGP message.');
  if (headers[0] === 'SIGNATURE' || headers[0] === 'SIGNED MESSAGE') {
    reject('not-a-key', 'This is an OpenPGP signature.');
  }
  if (headers[0] !== 'PUBLIC KEY BLOCK') reject('not-a-key');
  try {
    const { data } = await openpgp.unarmor(text);
    if (!(data instanceof Uint8Array)) reject('not-a-key');
    return data;
  } catch (err) {
    if (err instanceof KeyRejected) throw err;
    reject('not-a-key', 'The key block is damaged or incomplete; copy it again in full.');
  }
}

/** RFC 4880 §4.2: every packet header octet has bit 7 set; armor text starts with ASCII. */
function isBinaryOpenPgp(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    return (b & 0x80) !== 0;
  }
  return false;
}

function readPacketHeaders(bytes: Uint8Array): PacketHeader[] {
  try {
    return listPackets(bytes);
  } catch (err) {
    if (err instanceof PacketFormatError) {
      reject('not-a-key', 'The key data is damaged or truncated.');
    }
    throw err;
  }
}

/** Decide from the packet sequence alone: private, several keys, key version, algorithm. */
function checkPacketStructure(packets: readonly PacketHeader[]): void {
  if (packets.some((p) => p.tag === Tag.secretKey || p.tag === Tag.secretSubkey)) {
    reject('private-key');
  }
  const primaries = packets.filter((p) => p.tag === Tag.publicKey);
  if (primaries.length === 0) reject('not-a-key', 'The data contains no public key.');
  if (primaries.length > 1) reject('several-keys');
  if (packets[0]?.tag !== Tag.publicKey) {
    reject('not-a-key', 'The data does not start with a public key.');
  }
  for (const p of packets) {
    if (p.tag !== Tag.publicKey && p.tag !== Tag.publicSubkey) continue;
    if (p.keyVersion === 6) {
      reject(
        'unsupported-algorithm',
        'This is a version 6 (RFC 9580) key, which GnuPG 2.2/2.4 and Thunderbird cannot use yet.',
      );
    }
    if (p.keyVersion === 5) {
      reject(
        'unsupported-algorithm',
        'This is a version 5 (LibrePGP) key, which GnuPG 2.2, Thunderbird and OpenPGP.js cannot use.',
      );
    }
    if (p.keyVersion !== 4) {
      reject('unsupported-algorithm', 'This key uses an obsolete key format (before version 4).');
    }
  }
  const primaryAlgorithm = primaries[0]?.keyAlgorithm ?? -1;
  if (RFC9580_ONLY_ALGORITHMS.has(primaryAlgorithm)) {
    reject(
      'unsupported-algorithm',
      'Its primary key uses the RFC 9580 Ed25519/Ed448 algorithm, which GnuPG 2.2 cannot read.',
    );
  }
  if (!GNUPG22_ALGORITHMS.has(primaryAlgorithm)) reject('unsupported-algorithm');
}

async function checkValidity(key: openpgp.Key, now: Date): Promise<void> {
  if (await key.isRevoked(undefined, undefined, now)) reject('revoked');
  // Before the self-signature check: OpenPGP.js may refuse to verify with a too-weak key.
  checkStrength(key.keyPacket, 'Its primary key');
  try {
    await key.verifyPrimaryKey(now);
  } catch (err) {
    const text = err instanceof Error ? err.message : '';
    if (/revoked/i.test(text)) reject('revoked');
    if (/expired/i.test(text)) {
      const expiry = await key.getExpirationTime();
      reject('expired', expiry instanceof Date ? `It expired on ${isoDay(expiry)}.` : undefined);
    }
    reject('not-a-key', 'The key has no valid self-signature; it may be damaged or stripped.');
  }
}

/** The subkey (or primary) OpenPGP.js will encrypt to, or the reason there is none. */
async function findEncryptionKey(
  key: openpgp.Key,
  now: Date,
): Promise<openpgp.Key | openpgp.Subkey> {
  let found: openpgp.Key | openpgp.Subkey;
  try {
    found = await key.getEncryptionKey(undefined, now);
  } catch {
    // The strict default refused: find out whether strength rules or validity were the reason.
    let relaxed: openpgp.Key | openpgp.Subkey | undefined;
    try {
      relaxed = await key.getEncryptionKey(undefined, now, undefined, RELAXED_CONFIG);
    } catch {
      relaxed = undefined;
    }
    if (relaxed) {
      checkStrength(relaxed.keyPacket, 'Its encryption subkey');
      reject('unsupported-algorithm');
    }
    reject('no-encryption-key', await whyNoEncryptionKey(key, now));
  }
  checkStrength(found.keyPacket, 'Its encryption subkey');
  const algorithm = found.getAlgorithmInfo().algorithm;
  if (algorithm === 'x25519' || algorithm === 'x448') {
    reject(
      'unsupported-algorithm',
      'Its encryption subkey uses the RFC 9580 X25519/X448 algorithm, which GnuPG 2.2 cannot use.',
    );
  }
  return found;
}

/** Refuse short RSA, DSA/ElGamal and curves OpenPGP.js rejects, with a specific sentence. */
function checkStrength(packet: { getAlgorithmInfo(): openpgp.AlgorithmInfo }, which: string): void {
  const info = packet.getAlgorithmInfo();
  if (info.algorithm.startsWith('rsa')) {
    if ((info.bits ?? 0) < MIN_RSA_BITS) reject('weak-rsa', `${which} is RSA-${info.bits}.`);
    return;
  }
  if (info.algorithm === 'dsa' || info.algorithm === 'elgamal') {
    reject(
      'unsupported-algorithm',
      `${which} uses ${info.algorithm.toUpperCase()}, which is outdated.`,
    );
  }
  if (info.curve && openpgp.config.rejectCurves.has(info.curve as openpgp.enums.curve)) {
    reject('unsupported-algorithm', `${which} uses the curve ${info.curve}.`);
  }
}

/** A sentence saying what is wrong with the encryption subkeys, for 'no-encryption-key'. */
async function whyNoEncryptionKey(key: openpgp.Key, now: Date): Promise<string> {
  const reasons = new Set<string>();
  for (const subkey of key.subkeys) {
    const flags = subkey.bindingSignatures.reduce((acc, s) => acc | (s.keyFlags?.[0] ?? 0), 0);
    // RFC 9580 §5.2.3.29: 0x04 encrypt communications, 0x08 encrypt storage.
    if ((flags & 0x0c) === 0) continue;
    try {
      await subkey.verify(now);
    } catch (err) {
      const text = err instanceof Error ? err.message : '';
      if (/revoked/i.test(text)) reasons.add('revoked');
      else if (/expired/i.test(text)) reasons.add('expired');
    }
  }
  if (reasons.has('expired')) return 'Its encryption subkey has expired.';
  if (reasons.has('revoked')) return 'Its encryption subkey has been revoked.';
  return 'It is a signing-only key.';
}
