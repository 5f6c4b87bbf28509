/**
 * Parsed public keys, cached: parsing and self-signature checks cost more than encrypting a small
 * message (docs/BENCHMARKS.md), and every delivery to a user uses the same key.
 */
import { createHash } from 'node:crypto';
import * as openpgp from 'openpgp';

const CACHE_LIMIT = 1000;
const keyCache = new Map<string, Promise<openpgp.PublicKey>>();

/**
 * Parse an armored public key (as stored from `KeyInfo.armored`), with an LRU cache.
 * Rejects a private key or several keys. The returned object is shared: do not mutate it.
 */
export function parsePublicKey(armored: string): Promise<openpgp.PublicKey> {
  const id = createHash('sha256').update(armored, 'utf8').digest('hex');
  const hit = keyCache.get(id);
  if (hit) {
    keyCache.delete(id); // re-insert to mark as most recently used
    keyCache.set(id, hit);
    return hit;
  }
  const parsed = readPublicKey(armored);
  keyCache.set(id, parsed);
  // Do not cache failures.
  parsed.catch(() => {
    if (keyCache.get(id) === parsed) keyCache.delete(id);
  });
  while (keyCache.size > CACHE_LIMIT) {
    const oldest = keyCache.keys().next().value;
    if (oldest === undefined) break;
    keyCache.delete(oldest);
  }
  return parsed;
}

async function readPublicKey(armored: string): Promise<openpgp.PublicKey> {
  const keys = await openpgp.readKeys({ armoredKeys: armored });
  if (keys.length !== 1) throw new Error(`expected one public key, found ${keys.length}`);
  const key = keys[0] as openpgp.Key;
  if (key.isPrivate()) throw new Error('refusing a private key');
  return key as openpgp.PublicKey;
}

/** For tests and key replacement: forget every cached key. */
export function clearKeyCache(): void {
  keyCache.clear();
}

/** Number of cached keys (for tests). */
export function keyCacheSize(): number {
  return keyCache.size;
}
