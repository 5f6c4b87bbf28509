/**
 * Per-user sending caps: messages and recipients per clock hour and per UTC day, counted in
 * Redis so that every daemon shares them. A message is counted when it is about to go to the
 * relay (all its recipients at once, or nothing), and uncounted if the relay does not take it:
 * what is counted is what was sent.
 *
 * What Redis holds is four counters per sending user, under a hash of the user id, each gone
 * within two windows: how much she sent this hour and today, nothing about any one message.
 */
import { createHash } from 'node:crypto';
import type { Redis } from '../redis/connection';

export interface CapLimits {
  messagesPerHour: number;
  messagesPerDay: number;
  recipientsPerHour: number;
  recipientsPerDay: number;
}

export type CapCheck =
  | { ok: true }
  | { ok: false; unit: 'messages' | 'recipients'; per: 'hour' | 'day'; limit: number };

/** A counted message; `release` uncounts it from the very windows it was counted in. */
export type Reservation = { ok: true; release(): Promise<void> } | Exclude<CapCheck, { ok: true }>;

/**
 * Adds one message and `n` recipients unless that would pass a cap. Returns the index of the
 * first cap passed (1-4, in KEYS order) or 0 once counted. With n = -1 it only checks whether
 * one more message would fit, counting nothing.
 * KEYS: messages/hour, messages/day, recipients/hour, recipients/day.
 * ARGV: n, four limits, hour ttl, day ttl (ms).
 */
const RESERVE = `
local n = tonumber(ARGV[1])
local adds = {1, 1, math.max(n, 0), math.max(n, 0)}
for i = 1, 4 do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used + adds[i] > tonumber(ARGV[i + 1]) then return i end
end
if n < 0 then return 0 end
for i = 1, 4 do
  redis.call('INCRBY', KEYS[i], adds[i])
  redis.call('PEXPIRE', KEYS[i], i % 2 == 1 and ARGV[6] or ARGV[7])
end
return 0
`;

/** Undoes a reservation (the relay did not take the message); never below zero. */
const RELEASE = `
local n = tonumber(ARGV[1])
local subs = {1, 1, n, n}
for i = 1, 4 do
  local left = redis.call('DECRBY', KEYS[i], subs[i])
  if left <= 0 then redis.call('DEL', KEYS[i]) end
end
return 0
`;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

const CAPS: ReadonlyArray<{ unit: 'messages' | 'recipients'; per: 'hour' | 'day' }> = [
  { unit: 'messages', per: 'hour' },
  { unit: 'messages', per: 'day' },
  { unit: 'recipients', per: 'hour' },
  { unit: 'recipients', per: 'day' },
];

export class SendCaps {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limits: CapLimits,
    private readonly clock: () => Date,
  ) {}

  /** Counts a message with `recipients` recipients, or says which cap it would pass. */
  async reserve(userId: string, recipients: number): Promise<Reservation> {
    const { keys, limits } = this.keys(userId);
    const result = await this.run(keys, limits, recipients);
    if (!result.ok) return result;
    return {
      ok: true,
      release: async () => {
        await this.redis.eval(RELEASE, 4, ...keys, recipients);
      },
    };
  }

  /** Whether one more message fits at all (at MAIL FROM, before the client sends anything). */
  async check(userId: string): Promise<CapCheck> {
    const { keys, limits } = this.keys(userId);
    return this.run(keys, limits, -1);
  }

  private async run(keys: string[], limits: number[], n: number): Promise<CapCheck> {
    const passed = Number(
      await this.redis.eval(RESERVE, 4, ...keys, n, ...limits, 2 * HOUR_MS, 2 * DAY_MS),
    );
    if (passed === 0) return { ok: true };
    const cap = CAPS[passed - 1] as (typeof CAPS)[number];
    return { ok: false, ...cap, limit: limits[passed - 1] as number };
  }

  private keys(userId: string): { keys: string[]; limits: number[] } {
    const now = this.clock().getTime();
    const hour = Math.floor(now / HOUR_MS);
    const day = Math.floor(now / DAY_MS);
    // Hashed: Redis need not hold the list of who sends.
    const who = createHash('sha256').update(userId).digest('hex').slice(0, 32);
    const base = `${this.prefix}send:${who}`;
    const l = this.limits;
    return {
      keys: [`${base}:mh:${hour}`, `${base}:md:${day}`, `${base}:rh:${hour}`, `${base}:rd:${day}`],
      limits: [l.messagesPerHour, l.messagesPerDay, l.recipientsPerHour, l.recipientsPerDay],
    };
  }
}
