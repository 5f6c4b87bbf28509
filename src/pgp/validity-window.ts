/**
 * OpenPGP.js's verdict on a key at a given date, remembered for as long as it cannot change.
 *
 * Whether a key is valid at date d, and which subkey and cipher it offers, depends on d only
 * through comparisons with a fixed set of moments written in the key: each key's and each
 * signature's creation time, each signature's expiry, each key expiry a self-signature sets
 * (RFC 9580 §5.2.3.11, §5.2.3.13, §5.2.3.18), all whole seconds; OpenPGP.js compares them with d
 * rounded down to the second. Between two consecutive moments the verdict is therefore the same,
 * and is judged again as soon as an arrival falls outside that window: a key that expires, or a
 * revocation or signature dated in the future, is judged anew on the first arrival after that
 * moment. A verdict that throws (expired, revoked, no usable subkey) is never remembered.
 *
 * The check runs for every arrival; only OpenPGP.js's work (promises, signature lookups, about a
 * quarter of a small message's encryption, and its garbage) is saved. Which moments count was read
 * off OpenPGP.js 6 (`SignaturePacket.verify`, `isDataExpired`, `getKeyExpirationTime`); the set
 * taken here is wider (every signature of every kind, every key expiry against every key packet):
 * more moments only make windows shorter. test/pgp/validity-window.test.ts compares it with a
 * fresh OpenPGP.js verdict around every moment of keys that expire, gain subkeys and are revoked.
 */
import type * as openpgp from 'openpgp';

interface Window<T> {
  /** Exclusive bounds, in milliseconds: the verdict holds for seconds strictly between them. */
  after: number;
  before: number;
  value: T;
}

const windows = new WeakMap<openpgp.PublicKey, Window<unknown>>();
const momentsByKey = new WeakMap<openpgp.PublicKey, number[] | null>();

/**
 * `judge(date)` for `key`, or the verdict it gave for an earlier date in the same window.
 * `key` must not be changed afterwards (the key cache's objects are not).
 */
export async function judgedAt<T>(
  key: openpgp.PublicKey,
  date: Date,
  judge: (date: Date) => Promise<T>,
): Promise<T> {
  // OpenPGP.js's util.normalizeDate: every comparison is made with the date in whole seconds.
  const second = Math.floor(date.getTime() / 1000) * 1000;
  const known = windows.get(key) as Window<T> | undefined;
  if (known && known.after < second && second < known.before) return known.value;
  const value = await judge(date);
  const bounds = windowAround(key, second);
  if (bounds) windows.set(key, { ...bounds, value });
  else windows.delete(key);
  return value;
}

/** The moments just before and after `second`, or null if it is one of them (or unknowable). */
function windowAround(
  key: openpgp.PublicKey,
  second: number,
): { after: number; before: number } | null {
  const moments = momentsOf(key);
  if (!moments || !Number.isFinite(second)) return null;
  let after = -Infinity;
  let before = Infinity;
  for (const moment of moments) {
    if (moment === second) return null;
    if (moment < second && moment > after) after = moment;
    if (moment > second && moment < before) before = moment;
  }
  return { after, before };
}

/** Every moment the key's verdict can change at; null if one of them is not a number. */
function momentsOf(key: openpgp.PublicKey): number[] | null {
  let moments = momentsByKey.get(key);
  if (moments === undefined) {
    moments = collectMoments(key);
    momentsByKey.set(key, moments);
  }
  return moments;
}

function collectMoments(key: openpgp.PublicKey): number[] | null {
  const packets = [key.keyPacket, ...key.subkeys.map((subkey) => subkey.keyPacket)];
  const signatures: openpgp.SignaturePacket[] = [
    ...key.revocationSignatures,
    // (Present on every key, missing from OpenPGP.js's typings.)
    ...((key as unknown as { directSignatures?: openpgp.SignaturePacket[] }).directSignatures ??
      []),
    ...key.users.flatMap((user) => [
      ...user.selfCertifications,
      ...user.otherCertifications,
      ...user.revocationSignatures,
    ]),
    ...key.subkeys.flatMap((subkey) => [
      ...subkey.bindingSignatures,
      ...subkey.revocationSignatures,
    ]),
  ];
  const moments: number[] = packets.map((packet) => packet.created.getTime());
  const visit = (signature: openpgp.SignaturePacket): void => {
    const created = signature.created?.getTime();
    if (created === undefined) return;
    moments.push(created);
    // RFC 9580 §5.2.3.18: the signature expires this many seconds after its creation.
    if (!signature.signatureNeverExpires && signature.signatureExpirationTime !== null) {
      moments.push(created + signature.signatureExpirationTime * 1000);
    }
    // RFC 9580 §5.2.3.13: the key expires this many seconds after the key's creation (taken for
    // every key packet: which one the signature binds does not matter for a wider set).
    if (signature.keyNeverExpires === false && signature.keyExpirationTime !== null) {
      for (const packet of packets) {
        moments.push(packet.created.getTime() + signature.keyExpirationTime * 1000);
      }
    }
    if (signature.embeddedSignature) visit(signature.embeddedSignature);
  };
  signatures.forEach(visit);
  return moments.every((moment) => Number.isFinite(moment)) ? moments : null;
}
