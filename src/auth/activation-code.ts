/**
 * Activation codes: the random code that proves possession of a key when it comes back typed
 * by its reader. Signup and re-keying (src/web) send it encrypted to the new key; proving a
 * forwarding destination (src/forward) sends it to the destination's key. Only a hash is kept.
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';

const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const CODE_GROUPS = 5;
const CODE_GROUP_LENGTH = 4;

/** 20 symbols of 5 bits (100 bits), grouped for reading: "K7QX-M2PA-…". */
export function newActivationCode(): string {
  const groups: string[] = [];
  for (let g = 0; g < CODE_GROUPS; g++) {
    let group = '';
    for (let i = 0; i < CODE_GROUP_LENGTH; i++) group += CODE_ALPHABET[randomInt(32)];
    groups.push(group);
  }
  return groups.join('-');
}

/**
 * What is kept of a code: a plain SHA-256 suffices, since the code has 100 random bits and
 * lives for an hour at most. Spaces, dashes and case do not matter when it is typed back.
 */
export function hashActivationCode(code: string): string {
  const normal = code.toUpperCase().replace(/[\s-]/g, '');
  return createHash('sha256').update(`kzymy activation ${normal}`).digest('hex');
}

export function activationCodeMatches(given: string, hash: string): boolean {
  return given.length > 0 && given.length <= 64 && sameHex(hashActivationCode(given), hash);
}

/** Constant-time comparison of two hex digests, so a guess learns nothing from the timing. */
function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}
