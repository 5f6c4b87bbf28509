/**
 * The store as the rest of kzymy sees it: one interface, two engines (docs/decisions/0005).
 * `sqlite` (src/store/sqlite/) keeps everything in one file on this machine; `mongodb`
 * (src/store/mongodb/) serves clusters. Both pass the same conformance suite (test/store/).
 * Nothing outside src/store imports an engine's driver; src/store/open.ts picks the engine.
 */
import type {
  AddressPolicy,
  CiphertextPieces,
  ForwardClaim,
  ForwardFailure,
  ForwardSetting,
  MessageRef,
  NewUser,
  PayloadFormat,
  SendingSettings,
  StoredMessage,
  User,
  UserState,
} from './types';

export type StoreEngine = 'sqlite' | 'mongodb';

export interface Store {
  readonly engine: StoreEngine;
  readonly users: UserStore;
  readonly messages: MessageStore;
  /** The forwarding worker's leases and refusals (src/forward/). */
  readonly forwards: ForwardClaims;
  /**
   * Purges a user: every message and its ciphertext, her forwarding leases and refusals, then
   * the user with her address policy and forwarding setting.
   */
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
  /**
   * active → disabled (the operator's `kzymy user disable`): mail and logins are refused, the
   * stored mail stays. False if the user is not active.
   */
  disable(id: string): Promise<boolean>;
  /** disabled → active; false if the user is not disabled. */
  enable(id: string): Promise<boolean>;
  /**
   * Records the UTC day (YYYY-MM-DD) of a mailbox login, for `kzymy user show`: a day, never a
   * time, nothing about where from. Callers write only when the day changed.
   */
  noteFetchDay(id: string, day: string): Promise<boolean>;
  /**
   * How many active or disabled accounts use the key with this fingerprint: more than one means
   * the key links them. Pending accounts do not count (anyone can upload someone's public key).
   */
  countWithFingerprint(fingerprint: string): Promise<number>;
  /** Accounts per state, every state present, for the metrics' totals. */
  countByState(): Promise<Record<UserState, number>>;
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
  /** Names (or replaces) the forwarding destination, whole: a new one starts over as pending. */
  setForward(id: string, forward: ForwardSetting): Promise<boolean>;
  /** Forgets the destination: mail waits for pickup again. */
  clearForward(id: string): Promise<boolean>;
  /**
   * Records (or with null clears) the destination's last permanent refusal, only if the user's
   * destination is still `address`: a refusal meant for a destination she has replaced
   * meanwhile must not land on the new one. False when it did not.
   */
  setForwardFailure(id: string, address: string, failure: ForwardFailure | null): Promise<boolean>;
  /** Ids of the users whose mail is forwarded (state active), for the forwarding worker's scan. */
  forwardingUserIds(): Promise<string[]>;
  /**
   * Changes the sending switches given (docs/sending.md); the others stay as they are. False if
   * there is no such user.
   */
  setSending(id: string, change: Partial<SendingSettings>): Promise<boolean>;
}

/**
 * Which forwarding attempt is sending which message now (a lease), and which messages a
 * destination refused for good (kept for pickup, never sent to it again). Several daemons
 * forward at once and each message must go out once: of any number of concurrent claims of a
 * message, exactly one wins, on every engine (docs/decisions/0007-forward-claims.md). A lease
 * ends when its holder releases it, or by time when the holder died; a live holder gives up its
 * attempt well inside the lease (src/forward/worker.ts), and of the daemons that find the same
 * expired lease exactly one takes it over.
 */
export interface ForwardClaims {
  /**
   * Claims a message for `leaseMs`; null when another attempt holds it (or an id is malformed).
   * The caller must then check that the message is still stored and not refused: a holder that
   * finished just before this claim deleted the message (or wrote its refusal) before releasing.
   */
  claim(userId: string, messageId: string, leaseMs: number): Promise<ForwardClaim | null>;
  /** Ends the claim. Only the holder's own lease goes (an expired one may have a new holder). */
  release(claim: ForwardClaim): Promise<void>;
  /** Marks the message as refused by the destination (kept for pickup), then releases it. */
  refuse(claim: ForwardClaim, failure: ForwardFailure): Promise<void>;
  /** The refusal recorded for a message, or null. */
  refusal(userId: string, messageId: string): Promise<ForwardFailure | null>;
  /** How many of the user's messages a destination refused (kept for pickup). */
  refusedCount(userId: string): Promise<number>;
  /** Forgets the user's refusals, so those messages are tried again; returns how many. */
  forgetRefusals(userId: string): Promise<number>;
  /** Removes every lease and refusal of a user (account deletion). */
  purgeUser(userId: string): Promise<void>;
  /**
   * Removes what is no longer needed — leases and refusals of messages `isStored` says are gone
   * (fetched, expired, forwarded, or their user deleted), and an engine's own bookkeeping older
   * than `maxLeaseMs` past its end — and returns how many records went.
   */
  removeStale(
    isStored: (userId: string, messageId: string) => Promise<boolean>,
    maxLeaseMs: number,
  ): Promise<number>;
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
  /** Messages and ciphertext bytes stored for everyone, for the metrics' totals. */
  totals(): Promise<{ messages: number; bytes: number }>;
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
