/**
 * Logged-in sessions, kept in Redis (so any daemon behind the same address serves them) under
 * the SHA-256 of the cookie value: a copy of Redis holds nothing a browser could present.
 * The cookie is the only one kzymy ever sets, and only after a successful login.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Redis } from '../redis/connection';

export const SESSION_COOKIE = 'kzymy_session';

export interface Session {
  /** SHA-256 of the cookie value, hex. */
  id: string;
  userId: string;
  /** The CSRF token of every form on the account pages. */
  csrf: string;
  createdAt: number;
}

export interface SessionOptions {
  redis: Redis;
  prefix: string;
  idleSeconds: number;
  maxSeconds: number;
  clock: () => Date;
}

export class SessionStore {
  constructor(private readonly options: SessionOptions) {}

  async create(userId: string): Promise<{ token: string; session: Session }> {
    const token = randomBytes(32).toString('base64url');
    const session: Session = {
      id: hashToken(token),
      userId,
      csrf: randomBytes(32).toString('base64url'),
      createdAt: this.options.clock().getTime(),
    };
    const { redis } = this.options;
    await redis.set(this.key(session.id), JSON.stringify(session), 'EX', this.options.idleSeconds);
    await redis.sadd(this.userKey(userId), session.id);
    await redis.expire(this.userKey(userId), this.options.maxSeconds);
    return { token, session };
  }

  /** The session for a cookie value, its idle timer restarted; null if unknown or too old. */
  async load(token: string): Promise<Session | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    const id = hashToken(token);
    const text = await this.options.redis.get(this.key(id));
    if (!text) return null;
    const session = JSON.parse(text) as Session;
    const age = this.options.clock().getTime() - session.createdAt;
    if (age > this.options.maxSeconds * 1000) {
      await this.destroy(session);
      return null;
    }
    await this.options.redis.expire(this.key(id), this.options.idleSeconds);
    return session;
  }

  async destroy(session: Session): Promise<void> {
    await this.options.redis.del(this.key(session.id));
    await this.options.redis.srem(this.userKey(session.userId), session.id);
  }

  /** Ends every session of a user (after a password or key change, or deletion) but `keep`. */
  async destroyAll(userId: string, keep?: Session): Promise<void> {
    const ids = await this.options.redis.smembers(this.userKey(userId));
    const doomed = ids.filter((id) => id !== keep?.id);
    if (doomed.length > 0) {
      await this.options.redis.del(...doomed.map((id) => this.key(id)));
      await this.options.redis.srem(this.userKey(userId), ...doomed);
    }
  }

  private key(id: string): string {
    return `${this.options.prefix}web:session:${id}`;
  }

  private userKey(userId: string): string {
    return `${this.options.prefix}web:sessions-of:${userId}`;
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function readSessionCookie(c: Context): string | undefined {
  return getCookie(c, SESSION_COOKIE);
}

export function writeSessionCookie(c: Context, token: string, secure: boolean): void {
  // No Max-Age: a browser session cookie; the server ends the session on its own schedule.
  setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: 'Strict', secure, path: '/' });
}

export function clearSessionCookie(c: Context, secure: boolean): void {
  deleteCookie(c, SESSION_COOKIE, { httpOnly: true, sameSite: 'Strict', secure, path: '/' });
}
