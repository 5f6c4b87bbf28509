/** Conformance: users, their names and address policy, and what deleting one leaves (nothing). */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import {
  isReservedUsername,
  RESERVED_USERNAMES,
  USERNAME_ENTROPY_BITS,
} from '../../src/addresses/username';
import { MailboxGoneError, UsernameTakenError } from '../../src/store/errors';
import type { Store } from '../../src/store/store';
import { USER_STATES } from '../../src/store/types';
import { forEachEngine, testDatabase, type TestDatabase } from '../helpers/engines';
import { createTestUser } from '../helpers/services';

describe('store: users', () => {
  forEachEngine((engine) => {
    let database: TestDatabase;
    let store: Store;
    before(async () => {
      database = testDatabase(engine);
      store = await database.open();
    });
    after(async () => {
      await store.close();
      await database.close();
    });

    const newUser = (username?: string) =>
      store.users.create({
        fingerprint: 'f',
        publicKey: 'pk',
        passwordHash: 'h',
        state: 'active',
        username,
      });

    it('issues random, DNS-safe usernames of at least 40 bits', async () => {
      expect(USERNAME_ENTROPY_BITS).to.be.at.least(40);
      const users = await Promise.all(Array.from({ length: 40 }, () => newUser()));
      const names = users.map((user) => user.username);
      expect(new Set(names).size).to.equal(40);
      for (const name of names) {
        expect(name).to.match(/^[a-z][a-z0-9]{10}$/);
        expect(isReservedUsername(name)).to.equal(false);
      }
    });

    it('lets exactly one of many concurrent claims of one name win', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () => newUser('samename')),
      );
      const won = results.filter((result) => result.status === 'fulfilled');
      const lost = results.filter((result) => result.status === 'rejected');
      expect(won).to.have.length(1);
      expect(lost).to.have.length(9);
      for (const result of lost)
        expect((result as PromiseRejectedResult).reason).to.be.instanceOf(UsernameTakenError);
    });

    it('never issues a reserved name, even when asked for one', async () => {
      for (const name of [
        'postmaster',
        'abuse',
        'admin',
        'www',
        'mail',
        'imap',
        'pop',
        'smtp',
        'mx',
      ]) {
        expect(RESERVED_USERNAMES.has(name), name).to.equal(true);
        let failure: unknown;
        await newUser(name).catch((error: unknown) => (failure = error));
        expect(failure, name).to.be.instanceOf(UsernameTakenError);
      }
    });

    it('finds a user by name (any case) and by id, and frees the name on deletion', async () => {
      const named = await createTestUser(store, { username: 'registered' });
      expect((await store.users.byName('REGISTERED'))?.id).to.equal(named.id);
      expect((await store.users.byId(named.id))?.username).to.equal('registered');
      expect(await store.users.byId('not-an-id')).to.equal(null);
      expect(await store.users.byId('0123456789abcdef01234567')).to.equal(null);
      expect(await store.deleteUser(named.id)).to.equal(true);
      expect(await store.deleteUser(named.id)).to.equal(false);
      expect(await store.users.byName('registered')).to.equal(null);
      const again = await createTestUser(store, { username: 'registered' });
      expect((await store.users.byName('registered'))?.fingerprint).to.equal(again.fingerprint);
      expect(again.id).not.to.equal(named.id);
    });

    it('moves a user from pending to active once, and changes keys and passwords', async () => {
      const user = await createTestUser(store, { state: 'pending' });
      expect(await store.users.activate(user.id)).to.equal(true);
      expect(await store.users.activate(user.id)).to.equal(false);
      expect((await store.users.byId(user.id))?.state).to.equal('active');
      expect(await store.users.setKey(user.id, 'new-fpr', 'new key')).to.equal(true);
      expect(await store.users.setPasswordHash(user.id, 'new hash')).to.equal(true);
      const changed = await store.users.byId(user.id);
      expect(changed).to.include({
        fingerprint: 'new-fpr',
        publicKey: 'new key',
        passwordHash: 'new hash',
      });
      expect(changed?.uidValidity).to.be.within(1, 2 ** 31 - 1);
      expect(changed?.uidNext).to.equal(1);
      expect(await store.users.setKey('0123456789abcdef01234567', 'f', 'k')).to.equal(false);
    });

    it('lists users by name', async () => {
      const listed = (await store.users.list()).map((user) => user.username);
      expect(listed).to.deep.equal([...listed].sort());
      expect(listed).to.include('samename');
    });

    it('deleting a user leaves nothing of that user anywhere in the store', async () => {
      const user = await newUser();
      await store.users.disableAddress(user.id, 'Leaked');
      await store.users.allowAddress(user.id, 'shop');
      const other = await newUser();
      await store.messages.add(other.id, Buffer.from('stays'), new Date());
      const before = await database.counts();
      for (let i = 0; i < 3; i++)
        await store.messages.add(user.id, Buffer.alloc(2 * 1024 * 1024, i), new Date());

      expect(await store.deleteUser(user.id)).to.equal(true);

      expect(await database.counts()).to.deep.equal({ ...before, users: before.users - 1 });
      // Nothing anywhere still names the user, by id or by name.
      const text = await database.dump();
      expect(text).not.to.include(user.id);
      expect(text).not.to.include(user.username);
      expect(await store.messages.count(other.id)).to.equal(1);
      expect(await store.messages.count(user.id)).to.equal(0);
      expect(await store.messages.usedBytes(user.id)).to.equal(0);
    });

    it('keeps the address policy: disabled beats allowed, last word wins', async () => {
      const user = await newUser();
      await store.users.setCatchAll(user.id, false);
      await store.users.allowAddress(user.id, 'Shop');
      await store.users.disableAddress(user.id, 'shop');
      expect(await store.users.policy(user.id)).to.deep.equal({
        catchAll: false,
        allowed: [],
        disabled: ['shop'],
      });
      await store.users.allowAddress(user.id, 'SHOP');
      expect(await store.users.policy(user.id)).to.deep.equal({
        catchAll: false,
        allowed: ['shop'],
        disabled: [],
      });
      await store.users.forgetAddress(user.id, 'shop');
      expect(await store.users.policy(user.id)).to.deep.equal({
        catchAll: false,
        allowed: [],
        disabled: [],
      });
    });

    it('keeps the payload format: protected by default, exact when chosen, and back', async () => {
      const user = await newUser();
      expect(user.payloadFormat).to.equal('protected');
      expect((await store.users.byId(user.id))?.payloadFormat).to.equal('protected');
      expect(await store.users.setPayloadFormat(user.id, 'exact')).to.equal(true);
      expect((await store.users.byId(user.id))?.payloadFormat).to.equal('exact');
      expect((await store.users.byName(user.username))?.payloadFormat).to.equal('exact');
      // Another process (a store opened afresh on the same database) sees the same.
      const other = await database.open();
      try {
        expect((await other.users.byName(user.username))?.payloadFormat).to.equal('exact');
        expect((await other.users.list()).find((u) => u.id === user.id)?.payloadFormat).to.equal(
          'exact',
        );
      } finally {
        await other.close();
      }
      expect(await store.users.setPayloadFormat(user.id, 'protected')).to.equal(true);
      expect((await store.users.byId(user.id))?.payloadFormat).to.equal('protected');
      // No one else's setting moved, and an unknown or malformed id changes nothing.
      const neighbour = await newUser();
      expect(await store.users.setPayloadFormat(user.id, 'exact')).to.equal(true);
      expect((await store.users.byId(neighbour.id))?.payloadFormat).to.equal('protected');
      expect(await store.users.setPayloadFormat('0123456789abcdef01234567', 'exact')).to.equal(
        false,
      );
      expect(await store.users.setPayloadFormat('not-an-id', 'exact')).to.equal(false);
    });

    it('disables and enables an active account only; a disabled one gets no mail', async () => {
      const user = await newUser();
      const pending = await store.users.create({
        fingerprint: 'f',
        publicKey: 'pk',
        passwordHash: 'h',
        state: 'pending',
      });
      expect(await store.users.disable(pending.id)).to.equal(false);
      expect(await store.users.enable(user.id)).to.equal(false);
      expect(await store.users.disable('0123456789abcdef01234567')).to.equal(false);
      expect(await store.users.disable(user.id)).to.equal(true);
      expect((await store.users.byId(user.id))?.state).to.equal('disabled');
      expect(await store.users.disable(user.id)).to.equal(false);
      // The delivery's own check: only an active account takes a UID.
      let refused: unknown;
      await store.messages.add(user.id, Buffer.from('x'), new Date()).catch((e) => (refused = e));
      expect(refused).to.be.instanceOf(MailboxGoneError);
      expect(await store.messages.count(user.id)).to.equal(0);
      expect((await store.users.byId(pending.id))?.state).to.equal('pending');

      expect(await store.users.enable(user.id)).to.equal(true);
      expect((await store.users.byId(user.id))?.state).to.equal('active');
      // (On mongodb the refused delivery may have used up a UID: UIDs only have to grow.)
      const stored = await store.messages.add(user.id, Buffer.from('y'), new Date());
      expect((await store.messages.list(user.id)).map((m) => m.id)).to.deep.equal([stored.id]);
    });

    it('counts accounts per state, every state present', async () => {
      const before = await store.users.countByState();
      expect(Object.keys(before).sort()).to.deep.equal([...USER_STATES].sort());
      const make = (state: 'active' | 'pending') =>
        store.users.create({ fingerprint: 'f', publicKey: 'pk', passwordHash: 'h', state });
      const [a, b] = [await make('active'), await make('active')];
      await make('pending');
      await store.users.disable(a.id);
      await store.users.markDeleting(b.id);
      expect(await store.users.countByState()).to.deep.equal({
        pending: before.pending + 1,
        active: before.active,
        disabled: before.disabled + 1,
        deleting: before.deleting + 1,
      });
      expect(await store.deleteUser(b.id)).to.equal(true);
      expect((await store.users.countByState()).deleting).to.equal(before.deleting);
    });

    it('counts the active or disabled accounts that share a key', async () => {
      const fingerprint = `fp-${randomBytes(8).toString('hex')}`;
      const make = (state: 'active' | 'pending') =>
        store.users.create({ fingerprint, publicKey: 'pk', passwordHash: 'h', state });
      expect(await store.users.countWithFingerprint(fingerprint)).to.equal(0);
      const [a] = [await make('active'), await make('active')];
      // Pending accounts do not count: anyone can upload someone's public key, nobody else can
      // activate with it.
      await make('pending');
      expect(await store.users.countWithFingerprint(fingerprint)).to.equal(2);
      await store.users.disable(a.id);
      expect(await store.users.countWithFingerprint(fingerprint)).to.equal(2);
      await store.users.markDeleting(a.id);
      expect(await store.users.countWithFingerprint(fingerprint)).to.equal(1);
      // A new key moves the account out of the count.
      const c = await make('active');
      await store.users.setKey(c.id, `${fingerprint}-new`, 'pk2');
      expect(await store.users.countWithFingerprint(fingerprint)).to.equal(1);
    });

    it('records the day of the last mailbox login, nothing more, and keeps it', async () => {
      const user = await newUser();
      expect(user.lastFetchDay).to.equal(null);
      expect((await store.users.byId(user.id))?.lastFetchDay).to.equal(null);
      expect(await store.users.noteFetchDay(user.id, '2025-12-03')).to.equal(true);
      expect((await store.users.byId(user.id))?.lastFetchDay).to.equal('2025-12-03');
      expect(await store.users.noteFetchDay('0123456789abcdef01234567', '2025-12-03')).to.equal(
        false,
      );
      // Another process's store (a restart) reads the same day.
      const other = await database.open();
      try {
        expect((await other.users.byName(user.username))?.lastFetchDay).to.equal('2025-12-03');
      } finally {
        await other.close();
      }
    });

    it('keeps the sending switches: both off for a new user, each changed on its own', async () => {
      const user = await newUser();
      expect(user.sending).to.deep.equal({ enabled: false, signAsNym: false });
      expect((await store.users.byId(user.id))?.sending).to.deep.equal({
        enabled: false,
        signAsNym: false,
      });
      expect(await store.users.setSending(user.id, { enabled: true })).to.equal(true);
      expect((await store.users.byId(user.id))?.sending).to.deep.equal({
        enabled: true,
        signAsNym: false,
      });
      expect(await store.users.setSending(user.id, { signAsNym: true })).to.equal(true);
      expect(await store.users.setSending(user.id, { enabled: false })).to.equal(true);
      expect((await store.users.byName(user.username))?.sending).to.deep.equal({
        enabled: false,
        signAsNym: true,
      });
      // Both at once, and nothing at all (which only says whether she exists).
      expect(await store.users.setSending(user.id, { enabled: true, signAsNym: false })).to.equal(
        true,
      );
      expect(await store.users.setSending(user.id, {})).to.equal(true);
      expect((await store.users.byId(user.id))?.sending).to.deep.equal({
        enabled: true,
        signAsNym: false,
      });
      // Setting a switch to the value it has is still a match, not a miss.
      expect(await store.users.setSending(user.id, { enabled: true })).to.equal(true);
      // Another user's switches are untouched, and so is the rest of this one.
      const other = await newUser();
      expect((await store.users.byId(other.id))?.sending).to.deep.equal({
        enabled: false,
        signAsNym: false,
      });
      expect(await store.users.byId(user.id)).to.deep.include({
        policy: { catchAll: true, allowed: [], disabled: [] },
        state: 'active',
      });
      expect(
        (await store.users.list()).find((listed) => listed.id === user.id)?.sending,
      ).to.deep.equal({
        enabled: true,
        signAsNym: false,
      });
      for (const missing of ['0123456789abcdef01234567', 'not-an-id']) {
        expect(await store.users.setSending(missing, { enabled: true }), missing).to.equal(false);
        expect(await store.users.setSending(missing, {}), missing).to.equal(false);
      }
    });
  });
});
