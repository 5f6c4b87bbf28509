/** Rows as SQLite returns them, and the plain objects the rest of kzymy sees. */
import { randomBytes } from 'node:crypto';
import type { PayloadFormat, StoredMessage, User, UserState } from '../types';
import { toForward, type ForwardColumns } from './forward-rows';

/** 12 random bytes: an id that is also a valid MongoDB ObjectId (`kzymy store copy`). */
export function newId(): Buffer {
  return randomBytes(12);
}

/** The id's bytes, or null for anything that is not 24 hex digits (never a match, never a throw). */
export function parseId(id: string): Buffer | null {
  return /^[0-9a-f]{24}$/i.test(id) ? Buffer.from(id, 'hex') : null;
}

export function parseIds(ids: readonly string[]): Buffer[] {
  return ids.map(parseId).filter((id): id is Buffer => id !== null);
}

/** A user; her forwarding setting is in the columns of ForwardColumns. */
export interface UserRow extends ForwardColumns {
  id: Buffer;
  username: string;
  state: UserState;
  fingerprint: string;
  public_key: string;
  password_hash: string;
  created_at: number;
  catch_all: number;
  allowed: string;
  disabled: string;
  /**
   * The sending switches, 0 or 1. Absent only when a read-only opener (`kzymy store copy`)
   * reads a file from before sending that no writer has upgraded yet: read as off, as the
   * upgrade sets them.
   */
  send_enabled?: number;
  sign_as_nym?: number;
  uid_validity: number;
  uid_next: number;
  used_bytes: number;
  /** Absent in a schema-1 file not yet opened by a writer (`kzymy store copy --from`). */
  last_fetch_day?: string | null;
  /** Absent in a file from before schema 4 not yet opened by a writer (`kzymy store copy --from`). */
  payload_format?: PayloadFormat;
}

export interface MessageRow {
  id: Buffer;
  user_id: Buffer;
  uid: number;
  arrived_at: number;
  size: number;
  flags: string;
  fetched_at: number | null;
}

export function toUser(row: UserRow): User {
  return {
    id: row.id.toString('hex'),
    username: row.username,
    state: row.state,
    fingerprint: row.fingerprint,
    publicKey: row.public_key,
    passwordHash: row.password_hash,
    createdAt: new Date(row.created_at),
    policy: {
      catchAll: row.catch_all === 1,
      allowed: JSON.parse(row.allowed) as string[],
      disabled: JSON.parse(row.disabled) as string[],
    },
    sending: { enabled: row.send_enabled === 1, signAsNym: row.sign_as_nym === 1 },
    uidValidity: row.uid_validity,
    uidNext: row.uid_next,
    lastFetchDay: row.last_fetch_day ?? null,
    forward: toForward(row),
    payloadFormat: row.payload_format === 'exact' ? 'exact' : 'protected',
  };
}

export function toMessage(row: MessageRow): StoredMessage {
  return {
    id: row.id.toString('hex'),
    userId: row.user_id.toString('hex'),
    uid: row.uid,
    arrivedAt: new Date(row.arrived_at),
    size: row.size,
    flags: JSON.parse(row.flags) as string[],
    fetchedAt: row.fetched_at === null ? null : new Date(row.fetched_at),
  };
}
