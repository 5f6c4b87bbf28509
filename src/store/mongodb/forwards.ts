/**
 * The forwarding worker's bookkeeping on the mongodb engine (the interface: ForwardClaims in
 * ../store.ts): a `forwards` collection with a document per message in flight (a lease) or
 * refused by its destination.
 *
 * The claim is an insert whose `_id` names the message: the unique `_id` decides between two
 * daemons on MongoDB and on FerretDB alike. A conditional update would not: FerretDB 1.x reads
 * the document, matches the filter in Go and then overwrites it by `_id`, so two concurrent
 * `updateOne({_id, claim: absent})` calls both report a match (docs/decisions/0001-store.md,
 * "Updates are read-modify-write"; docs/decisions/0007-forward-claims.md).
 *
 * A lease ends when its holder releases it, or by time when the holder died. Taking over a dead
 * holder's lease is decided by one more insert, a `takeover` document named after that holder,
 * so of the daemons that find the same expired lease exactly one replaces it.
 *
 * Every per-message call is by `_id` alone (docs/decisions/0004); only the per-user counts and
 * the cleanup pass read by other fields, and this collection holds a document per message in
 * flight or refused, never the mail waiting for pickup.
 */
import { randomBytes } from 'node:crypto';
import { MongoServerError, ObjectId, type Collection, type Db } from 'mongodb';
import type { ForwardClaims } from '../store';
import type { ForwardClaim, ForwardFailure } from '../types';
import { COLLECTIONS } from './indexes';
import { parseId } from './users';

const DUPLICATE_KEY = 11000;

type ForwardDocKind = 'lease' | 'takeover' | 'refused';

interface ForwardDoc {
  _id: string;
  kind: ForwardDocKind;
  user: ObjectId;
  /** The message id (hex), for the cleanup pass. */
  message: string;
  /** lease and takeover: when it stops counting. */
  until?: Date;
  /** lease: a random token of the attempt holding it. */
  holder?: string;
  /** refused: the destination's reply. */
  failure?: ForwardFailure;
}

function leaseId(user: ObjectId, message: ObjectId): string {
  return `lease:${user.toHexString()}:${message.toHexString()}`;
}

function refusedId(user: ObjectId, message: ObjectId): string {
  return `refused:${user.toHexString()}:${message.toHexString()}`;
}

function takeoverId(lease: string, holder: string): string {
  return `takeover:${lease}:${holder}`;
}

export class MongoForwardClaims implements ForwardClaims {
  private readonly docs: Collection<ForwardDoc>;

  constructor(
    db: Db,
    private readonly clock: () => Date,
  ) {
    this.docs = db.collection<ForwardDoc>(COLLECTIONS.forwards);
  }

  /** An insert by `_id`; an expired lease goes to the one daemon whose takeover insert wins. */
  async claim(userId: string, messageId: string, leaseMs: number): Promise<ForwardClaim | null> {
    const user = parseId(userId);
    const message = parseId(messageId);
    if (!user || !message) return null;
    const now = this.clock().getTime();
    const holder = randomBytes(12).toString('hex');
    const _id = leaseId(user, message);
    const lease: ForwardDoc = {
      _id,
      kind: 'lease',
      user,
      message: messageId,
      holder,
      until: new Date(now + leaseMs),
    };
    const claim = { userId, messageId, holder };
    if (await this.insert(lease)) return claim;

    const current = await this.docs.findOne({ _id });
    // Released between the two calls: the next pass claims it.
    if (!current?.until || current.until.getTime() > now) return null;
    // Its holder died. One successor per dead holder, decided by the insert of its takeover.
    const takeover: ForwardDoc = {
      _id: takeoverId(_id, current.holder ?? ''),
      kind: 'takeover',
      user,
      message: messageId,
      until: new Date(now + leaseMs),
    };
    if (!(await this.insert(takeover))) return null;
    await this.docs.deleteOne({ _id });
    return (await this.insert(lease)) ? claim : null;
  }

  /** Ends the claim. Only the holder's own lease goes (an expired one may have a new holder). */
  async release(claim: ForwardClaim): Promise<void> {
    const user = parseId(claim.userId);
    const message = parseId(claim.messageId);
    if (!user || !message) return;
    const _id = leaseId(user, message);
    const current = await this.docs.findOne({ _id });
    if (current?.holder === claim.holder) await this.docs.deleteOne({ _id });
  }

  /** Marks the message as refused by the destination (kept for pickup), then releases it. */
  async refuse(claim: ForwardClaim, failure: ForwardFailure): Promise<void> {
    const user = parseId(claim.userId);
    const message = parseId(claim.messageId);
    if (!user || !message) return;
    // Written before the release, so whoever claims next sees it.
    await this.insert({
      _id: refusedId(user, message),
      kind: 'refused',
      user,
      message: claim.messageId,
      failure,
    });
    await this.release(claim);
  }

  /** The refusal recorded for a message, or null. */
  async refusal(userId: string, messageId: string): Promise<ForwardFailure | null> {
    const user = parseId(userId);
    const message = parseId(messageId);
    if (!user || !message) return null;
    const doc = await this.docs.findOne({ _id: refusedId(user, message) });
    return doc?.failure ?? null;
  }

  /** How many of the user's messages a destination refused (kept for pickup). */
  async refusedCount(userId: string): Promise<number> {
    const user = parseId(userId);
    return user ? this.docs.countDocuments({ user, kind: 'refused' }) : 0;
  }

  /** Forgets the user's refusals, so those messages are tried again (a new or fixed destination). */
  async forgetRefusals(userId: string): Promise<number> {
    const user = parseId(userId);
    if (!user) return 0;
    return (await this.docs.deleteMany({ user, kind: 'refused' })).deletedCount;
  }

  /** Removes every document of a user (account deletion). */
  async purgeUser(userId: string): Promise<void> {
    const user = parseId(userId);
    if (user) await this.docs.deleteMany({ user });
  }

  /**
   * Removes what is no longer needed: leases and refusals of messages that are gone (fetched,
   * expired, forwarded, or their user deleted), and takeovers past their time. Returns the count.
   */
  async removeStale(
    isStored: (userId: string, messageId: string) => Promise<boolean>,
    maxLeaseMs: number,
  ): Promise<number> {
    const now = this.clock().getTime();
    let removed = 0;
    for (const doc of await this.docs.find({}).toArray()) {
      const stale =
        doc.kind === 'takeover'
          ? (doc.until?.getTime() ?? 0) + maxLeaseMs < now
          : !(await isStored(doc.user.toHexString(), doc.message));
      if (stale) removed += (await this.docs.deleteOne({ _id: doc._id })).deletedCount;
    }
    return removed;
  }

  /** True if this call inserted the document; false if one with its `_id` exists. */
  private async insert(doc: ForwardDoc): Promise<boolean> {
    try {
      await this.docs.insertOne(doc);
      return true;
    } catch (error) {
      if (error instanceof MongoServerError && error.code === DUPLICATE_KEY) return false;
      throw error;
    }
  }
}
