/** Users and their address policy (kept in the user document, so one delete purges both). */
import { randomInt } from 'node:crypto';
import { MongoServerError, ObjectId, type Collection, type Db, type WithId } from 'mongodb';
import { isReservedUsername, randomUsername } from '../../addresses/username';
import { UsernameTakenError } from '../errors';
import type { UserStore } from '../store';
import {
  USER_STATES,
  type AddressPolicy,
  type ForwardFailure,
  type ForwardSetting,
  type NewUser,
  type PayloadFormat,
  type SendingSettings,
  type User,
  type UserState,
} from '../types';
import { COLLECTIONS } from './indexes';

export interface UserDoc {
  username: string;
  state: UserState;
  fingerprint: string;
  publicKey: string;
  passwordHash: string;
  createdAt: Date;
  catchAll: boolean;
  allowed: string[];
  disabled: string[];
  /** Absent in documents written before sending existed: read as off. */
  sendEnabled?: boolean;
  signAsNym?: boolean;
  uidValidity: number;
  uidNext: number;
  /** Absent for the default, 'protected' (documents written before the field existed too). */
  payloadFormat?: PayloadFormat;
  /** UTC day of the last mailbox login: a day, not a time, and nothing about where from. */
  lastFetchDay?: string;
  /** Absent unless the user named a forwarding destination (src/forward/). */
  forward?: ForwardSetting;
}

/**
 * The name register: `_id` is the username, so the lookup on every RCPT TO is by `_id` — an index
 * lookup on MongoDB and on the embedded FerretDB alike, where a filter on any other field reads
 * and decodes every user document, public keys and all (docs/decisions/0004). Its `_id` is also
 * what makes a name unique: the claim is the insert.
 */
interface UsernameDoc {
  _id: string;
  user: ObjectId;
}

const DUPLICATE_KEY = 11000;

function isDuplicateKey(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === DUPLICATE_KEY;
}

export function toUser(doc: WithId<UserDoc>): User {
  return {
    id: doc._id.toHexString(),
    username: doc.username,
    state: doc.state,
    fingerprint: doc.fingerprint,
    publicKey: doc.publicKey,
    passwordHash: doc.passwordHash,
    createdAt: doc.createdAt,
    policy: { catchAll: doc.catchAll, allowed: doc.allowed ?? [], disabled: doc.disabled ?? [] },
    sending: { enabled: doc.sendEnabled ?? false, signAsNym: doc.signAsNym ?? false },
    uidValidity: doc.uidValidity,
    uidNext: doc.uidNext,
    payloadFormat: doc.payloadFormat === 'exact' ? 'exact' : 'protected',
    lastFetchDay: doc.lastFetchDay ?? null,
    forward: doc.forward ? toForward(doc.forward) : null,
  };
}

function toForward(doc: ForwardSetting): ForwardSetting {
  return {
    address: doc.address,
    host: doc.host ?? null,
    state: doc.state,
    codeHash: doc.codeHash ?? null,
    codeExpiresAt: doc.codeExpiresAt ?? null,
    failure: doc.failure ?? null,
  };
}

export function parseId(id: string): ObjectId | null {
  return ObjectId.isValid(id) && /^[0-9a-f]{24}$/i.test(id) ? new ObjectId(id) : null;
}

export class MongoUserStore implements UserStore {
  private readonly users: Collection<UserDoc>;
  private readonly names: Collection<UsernameDoc>;

  constructor(
    db: Db,
    private readonly clock: () => Date,
  ) {
    this.users = db.collection<UserDoc>(COLLECTIONS.users);
    this.names = db.collection<UsernameDoc>(COLLECTIONS.usernames);
  }

  /**
   * Creates a user. Without a given username one is drawn at random; claiming the name (its
   * register entry's `_id`) decides races, and a collision (vanishingly rare at 54 bits) simply
   * draws again.
   */
  async create(input: NewUser): Promise<User> {
    for (let attempt = 0; attempt < 16; attempt++) {
      const username = input.username ?? randomUsername();
      if (isReservedUsername(username)) throw new UsernameTakenError('that username is reserved');
      const _id = new ObjectId();
      if (!(await this.claimName(username, _id))) {
        if (input.username) throw new UsernameTakenError('that username is taken');
        continue;
      }
      const doc: UserDoc = {
        username,
        state: input.state,
        fingerprint: input.fingerprint,
        publicKey: input.publicKey,
        passwordHash: input.passwordHash,
        createdAt: this.clock(),
        catchAll: true,
        allowed: [],
        disabled: [],
        sendEnabled: false,
        signAsNym: false,
        // Any positive 32-bit value (RFC 3501 §2.3.1.1 nz-number); random so that a user
        // recreated under the same name never matches a client's cached UIDVALIDITY.
        uidValidity: randomInt(1, 2 ** 31),
        uidNext: 1,
      };
      try {
        await this.users.insertOne({ ...doc, _id });
        return toUser({ ...doc, _id });
      } catch (error) {
        await this.names.deleteOne({ _id: username, user: _id }).catch(() => undefined);
        if (!isDuplicateKey(error)) throw error;
        if (input.username) throw new UsernameTakenError('that username is taken');
      }
    }
    throw new Error('could not allocate a unique username');
  }

  /**
   * Registers `username` for `user`; false if another user holds it. An entry whose user is gone
   * (a crash between the two deletes of removeDocument) is taken over.
   */
  private async claimName(username: string, user: ObjectId): Promise<boolean> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.names.insertOne({ _id: username, user });
        return true;
      } catch (error) {
        if (!isDuplicateKey(error)) throw error;
      }
      const holder = await this.names.findOne({ _id: username });
      if (holder && (await this.users.findOne({ _id: holder.user }))) return false;
      if (holder) await this.names.deleteOne({ _id: username, user: holder.user });
    }
    return false;
  }

  async byName(username: string): Promise<User | null> {
    const entry = await this.names.findOne({ _id: username.toLowerCase() });
    if (!entry) return null;
    const doc = await this.users.findOne({ _id: entry.user });
    return doc ? toUser(doc) : null;
  }

  async byId(id: string): Promise<User | null> {
    const _id = parseId(id);
    if (!_id) return null;
    const doc = await this.users.findOne({ _id });
    return doc ? toUser(doc) : null;
  }

  async list(): Promise<User[]> {
    const docs = await this.users.find({}).sort({ username: 1 }).toArray();
    return docs.map(toUser);
  }

  /** Pending users created before `cutoff`, for the sweeper. */
  async pendingBefore(cutoff: Date): Promise<User[]> {
    const docs = await this.users.find({ state: 'pending', createdAt: { $lt: cutoff } }).toArray();
    return docs.map(toUser);
  }

  async activate(id: string): Promise<boolean> {
    return this.update(id, { $set: { state: 'active' } }, { state: 'pending' });
  }

  /** An active account stops taking mail and logins (the operator's `kzymy user disable`). */
  async disable(id: string): Promise<boolean> {
    return this.update(id, { $set: { state: 'disabled' } }, { state: 'active' });
  }

  /** A disabled account becomes active again. */
  async enable(id: string): Promise<boolean> {
    return this.update(id, { $set: { state: 'active' } }, { state: 'disabled' });
  }

  /** Records the day of a mailbox login (callers write only when the day changed). */
  async noteFetchDay(id: string, day: string): Promise<boolean> {
    return this.update(id, { $set: { lastFetchDay: day } });
  }

  /**
   * How many active or disabled accounts use the key with this fingerprint: more than one means
   * they are linked by it. A scan of the users on the embedded FerretDB: for the account pages,
   * not for a per-message path.
   */
  async countWithFingerprint(fingerprint: string): Promise<number> {
    return this.users.countDocuments({ fingerprint, state: { $in: ['active', 'disabled'] } });
  }

  /** Accounts per state, for the metrics' totals (a scan on the embedded FerretDB). */
  async countByState(): Promise<Record<UserState, number>> {
    const counts = await Promise.all(
      USER_STATES.map((state) => this.users.countDocuments({ state })),
    );
    return Object.fromEntries(USER_STATES.map((state, i) => [state, counts[i] ?? 0])) as Record<
      UserState,
      number
    >;
  }

  async markDeleting(id: string): Promise<boolean> {
    return this.update(id, { $set: { state: 'deleting' } });
  }

  async setPasswordHash(id: string, passwordHash: string): Promise<boolean> {
    return this.update(id, { $set: { passwordHash } });
  }

  async setKey(id: string, fingerprint: string, publicKey: string): Promise<boolean> {
    return this.update(id, { $set: { fingerprint, publicKey } });
  }

  /** The user's choice of payload; the default is stored as no field at all. */
  async setPayloadFormat(id: string, format: PayloadFormat): Promise<boolean> {
    return this.update(
      id,
      format === 'exact' ? { $set: { payloadFormat: 'exact' } } : { $unset: { payloadFormat: '' } },
    );
  }

  async setCatchAll(id: string, catchAll: boolean): Promise<boolean> {
    return this.update(id, { $set: { catchAll } });
  }

  /** Allows a local part; it also leaves the disabled list, since the last word wins. */
  async allowAddress(id: string, local: string): Promise<boolean> {
    const part = local.toLowerCase();
    return this.update(id, { $addToSet: { allowed: part }, $pull: { disabled: part } });
  }

  /** Disables a local part: refused from now on, whatever the catch-all says. */
  async disableAddress(id: string, local: string): Promise<boolean> {
    const part = local.toLowerCase();
    return this.update(id, { $addToSet: { disabled: part }, $pull: { allowed: part } });
  }

  /** Forgets a local part: it is then governed by the catch-all alone. */
  async forgetAddress(id: string, local: string): Promise<boolean> {
    const part = local.toLowerCase();
    return this.update(id, { $pull: { allowed: part, disabled: part } });
  }

  /** Names (or replaces) the forwarding destination, whole: a new one starts over as pending. */
  async setForward(id: string, forward: ForwardSetting): Promise<boolean> {
    return this.update(id, { $set: { forward } });
  }

  /** Forgets the destination: mail waits for pickup again. */
  async clearForward(id: string): Promise<boolean> {
    return this.update(id, { $unset: { forward: '' } });
  }

  /**
   * Records (or with null clears) the destination's last permanent refusal. By `_id` alone, the
   * destination compared on the document read first: a filter with a second field is a scan of
   * every user on the embedded FerretDB, and a refusal meant for a destination the user has
   * replaced meanwhile must not land on the new one.
   */
  async setForwardFailure(
    id: string,
    address: string,
    failure: ForwardFailure | null,
  ): Promise<boolean> {
    const current = (await this.byId(id))?.forward;
    if (!current || current.address !== address) return false;
    return this.update(id, { $set: { 'forward.failure': failure } });
  }

  /** Ids of the users whose mail is forwarded (state active), for the forwarding worker's scan. */
  async forwardingUserIds(): Promise<string[]> {
    const docs = await this.users
      .find({ 'forward.state': 'active' }, { projection: { _id: 1 } })
      .toArray();
    return docs.map((doc) => doc._id.toHexString());
  }

  /** Changes the given sending switches; the others stay as they are. */
  async setSending(id: string, change: Partial<SendingSettings>): Promise<boolean> {
    const set: Partial<Pick<UserDoc, 'sendEnabled' | 'signAsNym'>> = {};
    if (change.enabled !== undefined) set.sendEnabled = change.enabled;
    if (change.signAsNym !== undefined) set.signAsNym = change.signAsNym;
    if (Object.keys(set).length === 0) return (await this.byId(id)) !== null;
    return this.update(id, { $set: set });
  }

  async policy(id: string): Promise<AddressPolicy | null> {
    return (await this.byId(id))?.policy ?? null;
  }

  /**
   * Takes the next UID of an active user's mailbox. UIDs only ever grow and are never handed out
   * twice (RFC 3501 §2.3.1.1), even when the message that took one is later deleted. With
   * `publicKey`, null also when the user's key is no longer that one.
   */
  async allocateUid(id: string, publicKey?: string): Promise<number | null> {
    const _id = parseId(id);
    if (!_id) return null;
    // By `_id` alone, the state checked on the answer: a filter with a second field is a scan of
    // every user on the embedded FerretDB. A UID drawn for an inactive user is simply never used.
    const before = await this.users.findOneAndUpdate(
      { _id },
      { $inc: { uidNext: 1 } },
      // No projection: FerretDB 1.x does not implement findAndModify's `fields`.
      { returnDocument: 'before' },
    );
    if (!before || before.state !== 'active') return null;
    if (publicKey !== undefined && before.publicKey !== publicKey) return null;
    return before.uidNext;
  }

  /** Removes the user document and frees its name; MessageStore purges the messages first. */
  async removeDocument(id: string): Promise<boolean> {
    const _id = parseId(id);
    if (!_id) return false;
    const doc = await this.users.findOne({ _id });
    const result = await this.users.deleteOne({ _id });
    // Two fields in the filter: only this user's entry goes, should the name have moved on.
    if (doc) await this.names.deleteOne({ _id: doc.username, user: _id });
    return result.deletedCount === 1;
  }

  private async update(id: string, update: object, extraFilter: object = {}): Promise<boolean> {
    const _id = parseId(id);
    if (!_id) return false;
    const result = await this.users.updateOne({ _id, ...extraFilter }, update);
    return result.matchedCount === 1;
  }
}
