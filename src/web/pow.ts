/**
 * Hashcash-style proof of work for signups: the only abuse control besides a global hourly
 * limit, because kzymy keeps nothing that could tell one client from another (no IP, no cookie).
 *
 * The server issues a challenge `k1.<bits>.<issued>.<id>.<mac>`: lowercase hex and dots only
 * (Debian's `hashcash` lowercases its resource string), signed with an HMAC so that it needs no
 * server state until it is redeemed. A solution is either
 *   - a decimal nonce with SHA-256("<challenge>:<nonce>") starting with <bits> zero bits
 *     (what /static/pow.js and the python3 one-liner find), or
 *   - a hashcash v1 stamp (`hashcash -m -b <bits> <challenge>`) whose resource is the challenge
 *     and whose SHA-1 starts with <bits> zero bits (hashcash.org's stamp format).
 * Redeeming is single-use: the challenge id is claimed with Redis SET NX for its remaining life.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from '../redis/connection';
import { sign, validSignature } from './signing';

export interface PowOptions {
  key: Buffer;
  redis: Redis;
  /** Redis key prefix (config.redis.prefix). */
  prefix: string;
  clock: () => Date;
  bits: number;
  ttlSeconds: number;
}

export interface Challenge {
  challenge: string;
  bits: number;
  expiresAt: Date;
}

export type PowRefusal =
  | 'malformed'
  | 'forged'
  | 'expired'
  | 'too-easy'
  | 'wrong-solution'
  | 'replayed';

export type PowResult = { ok: true } | { ok: false; reason: PowRefusal };

/** What the user reads when a proof of work is refused. */
export const POW_MESSAGES: Record<PowRefusal, string> = {
  malformed: 'The proof-of-work challenge on this form is damaged. Start the signup again.',
  forged: 'This proof-of-work challenge was not issued by this server. Start the signup again.',
  expired:
    'The proof-of-work challenge has expired. A new one is below; solve it and submit again.',
  'too-easy':
    'The required difficulty has changed since this challenge was issued. Solve the new one below.',
  'wrong-solution':
    'That is not a solution of this challenge. Paste the single number the command printed (or the whole hashcash stamp) and try again.',
  replayed:
    'This proof of work has already been used. Each one is good for a single signup; solve the new one below.',
};

const VERSION = 'k1';
/** Allowed clock difference between daemons that share the secret. */
const SKEW_SECONDS = 60;
const CHALLENGE_RE = /^k1\.(\d{1,2})\.(\d{1,12})\.([0-9a-f]{32})\.([0-9a-f]{64})$/;
const NONCE_RE = /^\d{1,20}$/;
/** hashcash v1: ver:bits:date:resource:ext:rand:counter (http://hashcash.org/docs/hashcash.html). */
const STAMP_RE =
  /^1:(\d{1,3}):(\d{6,12}):([^:]+):([^:]*):([A-Za-z0-9+/=]{1,64}):([A-Za-z0-9+/=]{1,64})$/;

export class ProofOfWork {
  constructor(private readonly options: PowOptions) {}

  get bits(): number {
    return this.options.bits;
  }

  issue(): Challenge {
    const issued = Math.floor(this.options.clock().getTime() / 1000);
    const body = `${VERSION}.${this.options.bits}.${issued}.${randomBytes(16).toString('hex')}`;
    return {
      challenge: `${body}.${sign(this.options.key, body)}`,
      bits: this.options.bits,
      expiresAt: new Date((issued + this.options.ttlSeconds) * 1000),
    };
  }

  /**
   * The challenge again if it is authentic, current and unused-looking (for re-showing a form
   * after a mistake, so the user need not solve a new one); otherwise a fresh one.
   */
  reissue(challenge: string): Challenge {
    const match = CHALLENGE_RE.exec(challenge);
    if (match) {
      const body = challenge.slice(0, challenge.lastIndexOf('.'));
      const bits = Number(match[1]);
      const expires = Number(match[2]) + this.options.ttlSeconds;
      const now = this.options.clock().getTime() / 1000;
      if (
        validSignature(this.options.key, body, match[4] as string) &&
        bits >= this.options.bits &&
        expires - now > 60
      ) {
        return { challenge, bits, expiresAt: new Date(expires * 1000) };
      }
    }
    return this.issue();
  }

  /** Checks a solution and, if it is good, uses the challenge up. */
  async redeem(challenge: string, solution: string): Promise<PowResult> {
    const match = CHALLENGE_RE.exec(challenge);
    if (!match) return refuse('malformed');
    const [, bitsText, issuedText, id, mac] = match as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    const body = challenge.slice(0, challenge.lastIndexOf('.'));
    if (!validSignature(this.options.key, body, mac)) return refuse('forged');
    const bits = Number(bitsText);
    if (bits < this.options.bits) return refuse('too-easy');
    const now = Math.floor(this.options.clock().getTime() / 1000);
    const issued = Number(issuedText);
    const remaining = issued + this.options.ttlSeconds - now;
    if (remaining <= 0 || issued > now + SKEW_SECONDS) return refuse('expired');
    if (!solves(challenge, bits, solution.trim())) return refuse('wrong-solution');
    // Claimed for as long as the challenge could still be presented (plus the skew allowance).
    const claimed = await this.options.redis.set(
      `${this.options.prefix}web:pow:${id}`,
      '1',
      'EX',
      remaining + SKEW_SECONDS,
      'NX',
    );
    return claimed === 'OK' ? { ok: true } : refuse('replayed');
  }
}

function refuse(reason: PowRefusal): PowResult {
  return { ok: false, reason };
}

/** Whether `solution` (a nonce or a hashcash stamp) solves `challenge` at `bits`. */
export function solves(challenge: string, bits: number, solution: string): boolean {
  if (NONCE_RE.test(solution)) {
    const digest = createHash('sha256').update(`${challenge}:${solution}`, 'utf8').digest();
    return leadingZeroBits(digest) >= bits;
  }
  const stamp = STAMP_RE.exec(solution);
  if (!stamp || stamp[3] !== challenge || Number(stamp[1]) < bits) return false;
  return leadingZeroBits(createHash('sha1').update(solution, 'utf8').digest()) >= bits;
}

export function leadingZeroBits(bytes: Uint8Array): number {
  let count = 0;
  for (const byte of bytes) {
    if (byte === 0) {
      count += 8;
      continue;
    }
    return count + Math.clz32(byte) - 24;
  }
  return count;
}

/**
 * One-line commands that print a solution, for people without JavaScript. The challenge is
 * hex and dots only, so it is safe inside single quotes.
 */
export function solverCommands(challenge: Challenge): { python: string; hashcash: string } {
  const { challenge: c, bits } = challenge;
  return {
    python:
      `python3 -c 'import hashlib,itertools;c="${c}";` +
      `print(next(n for n in itertools.count() if int.from_bytes(hashlib.sha256(("%s:%d"%(c,n)).encode()).digest(),"big")>>${256 - bits}==0))'`,
    hashcash: `hashcash -m -q -b ${bits} '${c}'`,
  };
}
