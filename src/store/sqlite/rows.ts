/** Rows as SQLite returns them, and the plain objects the rest of kzymy sees. */
import { randomBytes } from 'node:crypto';
import type { PayloadFormat, StoredMessage, User, UserState } from '../types';

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

export interface UserRow {
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
  uid_validity: number;
  uid_next: number;
  used_bytes: number;
  payload_format: PayloadFormat;
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
    uidValidity: row.uid_validity,
    uidNext: row.uid_next,
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
