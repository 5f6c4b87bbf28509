/**
 * The forwarding worker's leases and refusals on the SQLite engine (the interface: ForwardClaims
 * in ../store.ts): reads here, writes on the writer (forward-writes.ts has how a claim is
 * decided).
 */
import { randomBytes } from 'node:crypto';
import type { ForwardClaims } from '../store';
import type { ForwardClaim, ForwardFailure } from '../types';
import { failureData, toFailure } from './forward-rows';
import type { ForwardEntry } from './jobs';
import { read, type Reads } from './reads';
import { parseId } from './rows';
import type { Writer } from './writer';

export class SqliteForwardClaims implements ForwardClaims {
  constructor(
    private readonly reads: Reads,
    private readonly writer: Writer,
    private readonly clock: () => Date,
  ) {}

  async claim(userId: string, messageId: string, leaseMs: number): Promise<ForwardClaim | null> {
    if (!parseId(userId) || !parseId(messageId)) return null;
    const now = this.clock().getTime();
    const holder = randomBytes(12).toString('hex');
    const won = await this.writer.submit({
      op: 'forwardClaim',
      userId,
      messageId,
      holder,
      now,
      until: now + leaseMs,
    });
    return won ? { userId, messageId, holder } : null;
  }

  async release(claim: ForwardClaim): Promise<void> {
    await this.writer.submit({ op: 'forwardRelease', ...claim });
  }

  async refuse(claim: ForwardClaim, failure: ForwardFailure): Promise<void> {
    await this.writer.submit({ op: 'forwardRefuse', ...claim, failure: failureData(failure) });
  }

  async refusal(userId: string, messageId: string): Promise<ForwardFailure | null> {
    const user = parseId(userId);
    const message = parseId(messageId);
    if (!user || !message) return null;
    const row = (await read(() => this.reads.forwardRefusal.get(user, message))) as
      | { at: number; code: number; status: string | null }
      | undefined;
    return row ? toFailure(row) : null;
  }

  async refusedCount(userId: string): Promise<number> {
    const user = parseId(userId);
    if (!user) return 0;
    return ((await read(() => this.reads.forwardRefusedCount.get(user))) as { n: number }).n;
  }

  forgetRefusals(userId: string): Promise<number> {
    return this.writer.submit({ op: 'forwardForget', userId });
  }

  async purgeUser(userId: string): Promise<void> {
    await this.writer.submit({ op: 'forwardPurge', userId });
  }

  /**
   * Leases and refusals of messages that are gone. (`maxLeaseMs` bounds the mongodb engine's
   * takeover records; this engine keeps none.)
   */
  async removeStale(
    isStored: (userId: string, messageId: string) => Promise<boolean>,
    _maxLeaseMs: number,
  ): Promise<number> {
    const rows = (await read(() => this.reads.forwardEntries.all())) as {
      kind: ForwardEntry['kind'];
      user_id: Buffer;
      message_id: Buffer;
    }[];
    const stale: ForwardEntry[] = [];
    for (const row of rows) {
      const entry = {
        kind: row.kind,
        userId: row.user_id.toString('hex'),
        messageId: row.message_id.toString('hex'),
      };
      if (!(await isStored(entry.userId, entry.messageId))) stale.push(entry);
    }
    return stale.length > 0 ? this.writer.submit({ op: 'forwardRemove', entries: stale }) : 0;
  }
}
