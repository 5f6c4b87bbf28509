/**
 * The store as the rest of kzymy sees it: one interface, two engines (docs/decisions/0005).
 * `sqlite` (src/store/sqlite/) keeps everything in one file on this machine; `mongodb`
 * (src/store/mongodb/) serves clusters. Both pass the same conformance suite (test/store/).
 * Nothing outside src/store imports an engine's driver; src/store/open.ts picks the engine.
 */
import type {
  AddressPolicy,
  CiphertextPieces,
  MessageRef,
  NewUser,
  PayloadFormat,
  StoredMessage,
  User,
} from './types';

export type StoreEngine = 'sqlite' | 'mongodb';

export interface Store {
  readonly engine: StoreEngine;
  readonly users: UserStore;
  readonly messages: MessageStore;
  /** Purges a user: every message and its ciphertext, then the user and its address policy. */
  deleteUser(userId: string): Promise<boolean>;
  /** Resolves when the store answers; the health check's probe. */
  ping(): Promise<void>;
  /** Finishes pending writes and background work, then lets go of the database. */
  close(): Promise<void>;
}

export interface UserStore {
  /**
   * Creates a user. Without a given username one is drawn at random. Throws UsernameTakenError
   * when a given name is reserved or taken.
   */
  create(input: NewUser): Promise<User>;
  /** Case-insensitive: usernames are lowercase, and so are DNS labels (RFC 4343). */
  byName(username: string): Promise<User | null>;
  byId(id: string): Promise<User | null>;
  /** Every user, by username. */
  list(): Promise<User[]>;
  /** Pending users created before `cutoff`, for the sweeper. */
  pendingBefore(cutoff: Date): Promise<User[]>;
  /** pending → active; false if the user is not pending. */
  activate(id: string): Promise<boolean>;
  /** Stops new mail for a user about to be purged. */
  markDeleting(id: string): Promise<boolean>;
  setPasswordHash(id: string, passwordHash: string): Promise<boolean>;
  setKey(id: string, fingerprint: string, publicKey: string): Promise<boolean>;
  setCatchAll(id: string, catchAll: boolean): Promise<boolean>;
  /** What her decrypted mail looks like from now on (User.payloadFormat); false if no such user. */
  setPayloadFormat(id: string, format: PayloadFormat): Promise<boolean>;
  /** Allows a local part; it also leaves the disabled list, since the last word wins. */
  allowAddress(id: string, local: string): Promise<boolean>;
  /** Disables a local part: refused from now on, whatever the catch-all says. */
  disableAddress(id: string, local: string): Promise<boolean>;
  /** Forgets a local part: it is then governed by the catch-all alone. */
  forgetAddress(id: string, local: string): Promise<boolean>;
  policy(id: string): Promise<AddressPolicy | null>;
}

export interface MessageStore {
  /** Readers align their reads to this (one stored chunk per read, src/mailbox-access/content.ts). */
  readonly chunkBytes: number;
  /**
   * Stores a ciphertext for an active user under her next UID; throws MailboxGoneError if there
   * is none. The pieces may still be being produced (a large message being encrypted): they are
   * written as they come, never held whole. All or nothing: a failure leaves nothing visible and
   * nothing behind. With `encryptedTo`, the user must still have exactly that key at the commit
   * (the message was encrypted to the key seen at RCPT).
   */
  add(
    userId: string,
    ciphertext: Buffer | CiphertextPieces,
    arrivedAt: Date,
    options?: { encryptedTo?: string },
  ): Promise<StoredMessage>;
  /** The user's messages in UID order (SELECT, STAT, IDLE). */
  list(userId: string): Promise<StoredMessage[]>;
  /** Bytes of ciphertext the user holds, for the quota check. */
  usedBytes(userId: string): Promise<number>;
  /** The same total summed from the messages themselves. */
  sumBytes(userId: string): Promise<number>;
  count(userId: string): Promise<number>;
  byUid(userId: string, uid: number): Promise<StoredMessage | null>;
  /** Whether the message is still stored (another session may have deleted it). */
  exists(userId: string, messageId: string): Promise<boolean>;
  /** The whole ciphertext (small messages, tests). */
  read(userId: string, message: MessageRef): Promise<Buffer>;
  /**
   * Bytes [start, end) of the ciphertext, reading only the chunks that hold them. Another user's
   * message, or one deleted meanwhile, reads as MailboxGoneError.
   */
  readRange(userId: string, message: MessageRef, start: number, end: number): Promise<Buffer>;
  /** Marks messages as received by a client; the first time is kept (the grace counts from it). */
  markFetched(userId: string, messageIds: string[], at: Date): Promise<void>;
  /** Gives the messages these flags; returns how many exist. */
  setFlags(userId: string, messageIds: string[], flags: string[]): Promise<number>;
  /**
   * Deletes messages outright: no archive, no trash. Returns how many this call removed, so that
   * when two sessions delete the same messages at once each is counted exactly once.
   */
  remove(userId: string, messageIds: string[]): Promise<number>;
  /** Removes every message of a user (account deletion). */
  purgeUser(userId: string): Promise<void>;
  /** Messages fetched before `cutoff` and never committed, for the sweeper. */
  fetchedBefore(cutoff: Date, limit?: number): Promise<StoredMessage[]>;
  /** Messages that arrived before `cutoff`, fetched or not, for the retention sweep. */
  arrivedBefore(cutoff: Date, limit?: number): Promise<StoredMessage[]>;
  /**
   * Removes ciphertext that never became a message (a crash between writes, on an engine that
   * writes in several steps); returns how many pieces went.
   */
  removeOrphanChunks(cutoff: Date): Promise<number>;
  /** Completes background work; close() calls it. */
  flush(): Promise<void>;
}
