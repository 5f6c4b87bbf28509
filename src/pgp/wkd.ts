// The OpenPGP side of the Web Key Directory (draft-koch-openpgp-webkey-service-19): the hashed
// local part that names a key in the directory, and the user's key reduced to the one user ID a
// request asks for. Which host and path lead here, and who is asked about, is src/web/wkd.ts.
import { createHash } from 'node:crypto';
import * as openpgp from 'openpgp';
import { keyValidityDate, parsePublicKey } from './key-check';

/** draft-koch-openpgp-webkey-service §3.1: "z-base-32 method (RFC 6189 §5.1.6)". */
const Z_BASE_32 = 'ybndrfg8ejkmcpqxot1uwisza345h769';

/** z-base-32 (RFC 6189 §5.1.6, taken from Zooko's spec): 5 bits a symbol, most significant first. */
export function zBase32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += Z_BASE_32[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += Z_BASE_32[(buffer << (5 - bits)) & 31];
  return out;
}

/**
 * The WKD name of a local part: draft §3.1, "the local-part is mapped to lowercase (only ASCII
 * uppercase letters), hashed with SHA-1, and the 160-bit digest encoded with z-base-32".
 */
export function wkdHash(localPart: string): string {
  const lower = localPart.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return zBase32(createHash('sha1').update(lower, 'utf8').digest());
}

/** The addr-spec of a user ID ("Name <a@b>" or a bare "a@b"), lowercased; null if none. */
function addressOf(userId: openpgp.UserIDPacket): string | null {
  const email = userId.email || (/^[^\s<>@]+@[^\s<>@]+$/.test(userId.userID) ? userId.userID : '');
  return email ? email.toLowerCase() : null;
}

/**
 * The addresses under `mailDomain` that are user IDs of the key with a valid self-signature at
 * `now`, lowercased and in key order. These are the addresses WKD can publish.
 */
export async function keyAddresses(
  armored: string,
  mailDomain: string,
  now: Date,
): Promise<string[]> {
  const key = await parsePublicKey(armored);
  const at = keyValidityDate(key, now);
  const suffix = '@' + mailDomain.toLowerCase();
  const found: string[] = [];
  for (const user of key.users) {
    const address = user.userID ? addressOf(user.userID) : null;
    if (!address || !address.endsWith(suffix) || found.includes(address)) continue;
    if (await user.verify(at).catch(() => false)) found.push(address);
  }
  return found;
}

/**
 * The key as the directory serves it for `address`: binary OpenPGP (draft §3.1 "MUST NOT return
 * an ASCII armored version"), the primary key, its subkeys, and of its user IDs only the one
 * that is `address` — the others (and photo IDs) are the user's business, not every sender's —
 * with third-party certifications left out. Null when no user ID with a valid self-signature is
 * that address.
 */
export async function wkdKey(
  armored: string,
  address: string,
  now: Date,
): Promise<Uint8Array | null> {
  const wanted = address.toLowerCase();
  const shared = await parsePublicKey(armored);
  // A fresh copy: the cached key is shared by every delivery and must not be changed.
  const key = await openpgp.readKey({ binaryKey: shared.write() });
  const at = keyValidityDate(key, now);
  const keep: openpgp.User[] = [];
  for (const user of key.users) {
    if (!user.userID || addressOf(user.userID) !== wanted) continue;
    if (!(await user.verify(at).catch(() => false))) continue;
    user.otherCertifications = [];
    keep.push(user);
    break;
  }
  if (keep.length === 0) return null;
  key.users = keep;
  return key.write();
}
