/**
 * Codes waiting to be typed back, in Redis with a time to live: the hash of a new account's
 * activation code, and a key replacement (the new key and the hash of its code). Each allows a
 * few wrong guesses, then is void. Only hashes are kept; the codes themselves exist only inside
 * the encrypted message.
 */
import type { Redis } from '../redis/connection';
import { activationCodeMatches } from '../auth/activation-code';

export type PendingKind = 'activate' | 'rekey';

export interface PendingRekey {
  codeHash: string;
  fingerprint: string;
  armored: string;
}

export type CodeCheck<T> =
  | { ok: true; value: T }
  | { ok: false; reason: 'none' | 'wrong' | 'too-many' };

const MAX_ATTEMPTS = 10;

export class PendingCodes {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  async putActivation(userId: string, codeHash: string): Promise<void> {
    await this.put('activate', userId, { codeHash });
  }

  async putRekey(userId: string, rekey: PendingRekey): Promise<void> {
    await this.put('rekey', userId, rekey);
  }

  async checkActivation(userId: string, code: string): Promise<CodeCheck<{ codeHash: string }>> {
    return this.check<{ codeHash: string }>('activate', userId, code);
  }

  async checkRekey(userId: string, code: string): Promise<CodeCheck<PendingRekey>> {
    return this.check<PendingRekey>('rekey', userId, code);
  }

  async hasRekey(userId: string): Promise<boolean> {
    return (await this.redis.exists(this.key('rekey', userId))) === 1;
  }

  async clear(kind: PendingKind, userId: string): Promise<void> {
    await this.redis.del(this.key(kind, userId), this.tries(kind, userId));
  }

  private async put(kind: PendingKind, userId: string, value: object): Promise<void> {
    await this.redis.del(this.tries(kind, userId));
    await this.redis.set(this.key(kind, userId), JSON.stringify(value), 'EX', this.ttlSeconds);
  }

  /** Checks a typed code; a match consumes the entry, too many misses void it. */
  private async check<T extends { codeHash: string }>(
    kind: PendingKind,
    userId: string,
    code: string,
  ): Promise<CodeCheck<T>> {
    const text = await this.redis.get(this.key(kind, userId));
    if (!text) return { ok: false, reason: 'none' };
    const value = JSON.parse(text) as T;
    const tries = await this.redis.incr(this.tries(kind, userId));
    if (tries === 1) await this.redis.expire(this.tries(kind, userId), this.ttlSeconds);
    if (tries > MAX_ATTEMPTS) {
      await this.clear(kind, userId);
      return { ok: false, reason: 'too-many' };
    }
    if (!activationCodeMatches(code, value.codeHash)) return { ok: false, reason: 'wrong' };
    // GETDEL-free consumption that works on every Redis: whoever deletes the key used it.
    const removed = await this.redis.del(this.key(kind, userId));
    await this.redis.del(this.tries(kind, userId));
    return removed === 1 ? { ok: true, value } : { ok: false, reason: 'none' };
  }

  private key(kind: PendingKind, userId: string): string {
    return `${this.prefix}web:${kind}:${userId}`;
  }

  private tries(kind: PendingKind, userId: string): string {
    return `${this.prefix}web:${kind}-tries:${userId}`;
  }
}
