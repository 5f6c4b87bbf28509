/** What the rest of kzymy sees of stored data: plain objects with string ids, no driver types. */

import type { AddressPolicy } from '../addresses/recipient';

export type { AddressPolicy };

/** 'deleting' is transient: set while an account is purged, so no new mail is stored. */
export type UserState = 'pending' | 'active' | 'deleting';

/**
 * What `gpg --decrypt` gives the user (src/pgp/protected-payload.ts, docs/message-format.md):
 * 'protected' (header protection, Authentication-Results, size padding; the default) or 'exact'
 * (delivery headers, then the original byte for byte).
 */
export type PayloadFormat = 'protected' | 'exact';

export interface User {
  id: string;
  username: string;
  state: UserState;
  fingerprint: string;
  publicKey: string;
  passwordHash: string;
  createdAt: Date;
  policy: AddressPolicy;
  /** RFC 3501 §2.3.1.1: constant for the life of the mailbox, since UIDs are never reused. */
  uidValidity: number;
  /** The UID the next stored message will get. */
  uidNext: number;
  /** 'protected' unless she chose 'exact' (web account page, `kzymy user set`). */
  payloadFormat: PayloadFormat;
}

export interface NewUser {
  fingerprint: string;
  publicKey: string;
  passwordHash: string;
  state: UserState;
  /** Given by tests; otherwise a random username is allocated. */
  username?: string;
}

export interface StoredMessage {
  id: string;
  userId: string;
  uid: number;
  arrivedAt: Date;
  /** Ciphertext size in bytes (RFC822.SIZE of what a client receives). */
  size: number;
  flags: string[];
  /** When a client first received the whole message; null until then. */
  fetchedAt: Date | null;
}

export type DeleteReason = 'fetched' | 'expunged' | 'grace-expired' | 'retention' | 'user-deleted';

/** What a read needs of a message: which one, and how long its ciphertext is. */
export type MessageRef = Pick<StoredMessage, 'id' | 'size'>;

/** A ciphertext in consecutive pieces of any size, possibly produced while it is written. */
export type CiphertextPieces = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
