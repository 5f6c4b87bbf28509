/** Users and their address policy (kept in the user document, so one delete purges both). */
import { randomInt } from 'node:crypto';
import { MongoServerError, ObjectId, type Collection, type Db, type WithId } from 'mongodb';
import { isReservedUsername, randomUsername } from '../../addresses/username';
import { UsernameTakenError } from '../errors';
import type { UserStore } from '../store';
import type { AddressPolicy, NewUser, PayloadFormat, User, UserState } from '../types';
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
  uidValidity: number;
  uidNext: number;
  /** Absent for the default, 'protected' (documents written before the field existed too). */
  payloadFormat?: PayloadFormat;
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
    uidValidity: doc.uidValidity,
    uidNext: doc.uidNext,
    payloadFormat: doc.payloadFormat === 'exact' ? 'exact' : 'protected',
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
