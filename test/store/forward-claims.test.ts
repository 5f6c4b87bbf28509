/**
 * Conformance: the forwarding worker's store. Of concurrent claims of a message from two stores
 * (two daemons) exactly one wins; a dead holder's lease goes to exactly one successor;
 * refusals, cleanup, what deleting a user leaves (nothing), and the user's forwarding setting.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Store } from '../../src/store/store';
import type { ForwardSetting } from '../../src/store/types';
import { forEachEngine, testDatabase, type TestDatabase } from '../helpers/engines';
import { createTestUser } from '../helpers/services';

/** An id of the shape both engines use (12 bytes as hex) for a message never stored. */
const anyId = (): string => randomBytes(12).toString('hex');

describe('store: forwarding claims and settings', function () {
  this.timeout(60_000);
  forEachEngine((engine) => {
    let now = Date.parse('2026-03-01T12:00:00Z');
    const clock = (): Date => new Date(now);
    let database: TestDatabase;
    let a: Store;
    let b: Store;

    before(async () => {
      database = testDatabase(engine);
      a = await database.open({ clock });
      b = await database.open({ clock });
    });
    after(async () => {
      await a.close();
      await b.close();
      await database.close();
    });

    it('lets exactly one of two daemons claim each message, however they interleave', async () => {
      const user = await createTestUser(a);
      const ids = Array.from({ length: 40 }, () => anyId());
      const attempts = ids.flatMap((id) => [
        a.forwards.claim(user.id, id, 60_000).then((claim) => ({ id, claim })),
        b.forwards.claim(user.id, id, 60_000).then((claim) => ({ id, claim })),
        a.forwards.claim(user.id, id, 60_000).then((claim) => ({ id, claim })),
      ]);
      const results = await Promise.all(attempts);
      for (const id of ids) {
        const won = results.filter((result) => result.id === id && result.claim !== null);
        expect(won, id).to.have.length(1);
      }
    });

    it('hands a released message to the next claimer, and only the holder can release', async () => {
      const user = await createTestUser(a);
      const id = anyId();
      const first = await a.forwards.claim(user.id, id, 60_000);
      expect(first).not.to.equal(null);
      // A release by someone who does not hold it changes nothing.
      await b.forwards.release({ userId: user.id, messageId: id, holder: 'not-the-holder' });
      expect(await b.forwards.claim(user.id, id, 60_000)).to.equal(null);
      await a.forwards.release(first as NonNullable<typeof first>);
      expect(await b.forwards.claim(user.id, id, 60_000)).not.to.equal(null);
    });

    it('gives a dead holder’s expired lease to exactly one successor', async () => {
      const user = await createTestUser(a);
      const id = anyId();
      expect(await a.forwards.claim(user.id, id, 1_000)).not.to.equal(null);
      // Still held: nobody else gets it.
      expect(await b.forwards.claim(user.id, id, 1_000)).to.equal(null);
      now += 5_000;
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).forwards.claim(user.id, id, 60_000)),
      );
      expect(results.filter((claim) => claim !== null)).to.have.length(1);
      // The successor's lease is live: still nobody else.
      expect(await a.forwards.claim(user.id, id, 60_000)).to.equal(null);
    });

    it('keeps refusals per message, counts and forgets them per user, and cleans up after gone messages', async () => {
      const user = await createTestUser(a);
      const other = await createTestUser(a);
      const stored = await a.messages.add(user.id, Buffer.from('ciphertext\r\n'), clock());
      const gone = anyId();
      const failure = { at: clock(), code: 550, status: '5.1.1' };
      for (const [owner, id] of [
        [user.id, stored.id],
        [user.id, gone],
        [other.id, anyId()],
      ] as const) {
        const claim = await a.forwards.claim(owner, id, 60_000);
        await a.forwards.refuse(claim as NonNullable<typeof claim>, failure);
      }
      expect(await b.forwards.refusal(user.id, stored.id)).to.deep.equal(failure);
      expect(await b.forwards.refusal(user.id, anyId())).to.equal(null);
      expect(await b.forwards.refusedCount(user.id)).to.equal(2);
      // Released: a claim is possible again, and the claimer finds the refusal.
      const again = await b.forwards.claim(user.id, stored.id, 60_000);
      expect(again).not.to.equal(null);
      await b.forwards.release(again as NonNullable<typeof again>);

      const removed = await a.forwards.removeStale(
        async (owner, id) => (await a.messages.exists(owner, id)) && owner === user.id,
        60_000,
      );
      // The two refusals of gone messages, and the earlier tests' leases of messages never stored.
      expect(removed).to.be.at.least(2);
      expect(await a.forwards.refusedCount(user.id)).to.equal(1);
      expect(await a.forwards.refusedCount(other.id)).to.equal(0);
      expect(await a.forwards.forgetRefusals(user.id)).to.equal(1);
      expect(await a.forwards.refusal(user.id, stored.id)).to.equal(null);
    });

    it('leaves no forwarding document of a deleted user', async () => {
      const user = await createTestUser(a);
      const stored = await a.messages.add(user.id, Buffer.from('ciphertext\r\n'), clock());
      const refused = await a.forwards.claim(user.id, stored.id, 60_000);
      await a.forwards.refuse(refused as NonNullable<typeof refused>, {
        at: clock(),
        code: 550,
        status: null,
      });
      expect(await a.forwards.claim(user.id, anyId(), 60_000)).not.to.equal(null);
      expect(await a.deleteUser(user.id)).to.equal(true);
      // Nothing anywhere in the store still names her: no lease, no refusal.
      expect(await database.dump()).not.to.include(user.id);
      expect(await a.forwards.refusedCount(user.id)).to.equal(0);
    });

    it('stores the forwarding setting, and a refusal only for the destination it was meant for', async () => {
      const user = await createTestUser(a);
      expect(user.forward).to.equal(null);
      const setting: ForwardSetting = {
        address: 'her@example.org',
        host: 'abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion:2525',
        state: 'pending',
        codeHash: 'hash',
        codeExpiresAt: new Date(now + 3_600_000),
        failure: null,
      };
      expect(await a.users.setForward(user.id, setting)).to.equal(true);
      expect((await b.users.byId(user.id))?.forward).to.deep.equal(setting);
      expect(await b.users.forwardingUserIds()).not.to.include(user.id);

      await a.users.setForward(user.id, {
        ...setting,
        state: 'active',
        codeHash: null,
        codeExpiresAt: null,
      });
      expect(await b.users.forwardingUserIds()).to.include(user.id);

      const failure = { at: clock(), code: 552, status: null };
      expect(await a.users.setForwardFailure(user.id, 'old@example.org', failure)).to.equal(false);
      expect((await a.users.byId(user.id))?.forward?.failure).to.equal(null);
      expect(await a.users.setForwardFailure(user.id, 'her@example.org', failure)).to.equal(true);
      expect((await a.users.byId(user.id))?.forward?.failure).to.deep.equal(failure);

      expect(await a.users.clearForward(user.id)).to.equal(true);
      expect((await a.users.byId(user.id))?.forward).to.equal(null);
      expect(await b.users.forwardingUserIds()).not.to.include(user.id);
    });
  });
});
