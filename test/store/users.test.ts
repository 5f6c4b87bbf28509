import { expect } from 'chai';
import { MongoClient, ObjectId } from 'mongodb';
import {
  isReservedUsername,
  RESERVED_USERNAMES,
  USERNAME_ENTROPY_BITS,
} from '../../src/address/username';
import { COLLECTIONS } from '../../src/store/indexes';
import type { Store } from '../../src/store/store';
import { UsernameTakenError } from '../../src/store/users';
import { openTestStore, testMongoUrl, uniqueDatabaseName } from '../helpers/services';

describe('store: users', () => {
  const database = uniqueDatabaseName();
  let store: Store;
  let raw: MongoClient;
  before(async () => {
    store = await openTestStore(database);
    raw = await MongoClient.connect(testMongoUrl());
  });
  after(async () => {
    await raw.close();
    await store.close();
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
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => newUser('samename')));
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

  it('deleting a user leaves no document of that user in any collection', async () => {
    const user = await newUser();
    await store.users.disableAddress(user.id, 'Leaked');
    await store.users.allowAddress(user.id, 'shop');
    for (let i = 0; i < 3; i++)
      await store.messages.add(user.id, Buffer.alloc(2 * 1024 * 1024, i), new Date());
    const other = await newUser();
    await store.messages.add(other.id, Buffer.from('stays'), new Date());

    expect(await store.deleteUser(user.id)).to.equal(true);

    const db = raw.db(database);
    const id = new ObjectId(user.id);
    expect(await db.collection(COLLECTIONS.users).countDocuments({ _id: id })).to.equal(0);
    expect(await db.collection(COLLECTIONS.messages).countDocuments({ user: id })).to.equal(0);
    expect(await db.collection(COLLECTIONS.chunks).countDocuments({ user: id })).to.equal(0);
    // Nothing anywhere still names the user, by id or by name.
    for (const name of await db.listCollections().toArray()) {
      const docs = await db.collection(name.name).find({}).toArray();
      const text = JSON.stringify(docs);
      expect(text, name.name).not.to.include(user.id);
      expect(text, name.name).not.to.include(user.username);
    }
    expect(await store.messages.count(other.id)).to.equal(1);
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
  });

  it('disables and enables an active account only; counts accounts per state and per key', async () => {
    const fingerprint = `fp-${Date.now()}`;
    const make = (state: 'active' | 'pending') =>
      store.users.create({ fingerprint, publicKey: 'pk', passwordHash: 'h', state });
    const [a, b] = [await make('active'), await make('active')];
    const pending = await make('pending');
    expect(await store.users.disable(pending.id)).to.equal(false);
    expect(await store.users.enable(a.id)).to.equal(false);
    expect(await store.users.disable(a.id)).to.equal(true);
    expect((await store.users.byId(a.id))?.state).to.equal('disabled');
    // Pending accounts do not count: anyone can upload someone's public key, nobody else can
    // activate with it.
    expect(await store.users.countWithFingerprint(fingerprint)).to.equal(2);
    const states = await store.users.countByState();
    expect(states.disabled).to.be.at.least(1);
    expect(states.pending).to.be.at.least(1);
    expect(await store.users.enable(a.id)).to.equal(true);
    expect((await store.users.byId(a.id))?.state).to.equal('active');
    expect((await store.users.countByState()).disabled).to.equal(states.disabled - 1);
    expect(await store.users.countWithFingerprint(b.fingerprint)).to.equal(2);
  });

  it('records the day of the last mailbox login, nothing more', async () => {
    const user = await newUser();
    expect(user.lastFetchDay).to.equal(null);
    expect(await store.users.noteFetchDay(user.id, '2025-12-03')).to.equal(true);
    expect((await store.users.byId(user.id))?.lastFetchDay).to.equal('2025-12-03');
  });
});
