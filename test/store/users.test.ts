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

  it('keeps the payload format: protected by default, exact when chosen, and back', async () => {
    const user = await newUser();
    expect(user.payloadFormat).to.equal('protected');
    expect(await store.users.setPayloadFormat(user.id, 'exact')).to.equal(true);
    expect((await store.users.byId(user.id))?.payloadFormat).to.equal('exact');
    expect((await store.users.byName(user.username))?.payloadFormat).to.equal('exact');
    expect(await store.users.setPayloadFormat(user.id, 'protected')).to.equal(true);
    expect((await store.users.byId(user.id))?.payloadFormat).to.equal('protected');
    // The default is no field at all, as in documents written before the setting existed.
    const doc = await raw
      .db(database)
      .collection(COLLECTIONS.users)
      .findOne({ _id: new ObjectId(user.id) });
    expect(doc).to.not.have.property('payloadFormat');
    expect(await store.users.setPayloadFormat('0123456789abcdef01234567', 'exact')).to.equal(false);
  });
});
