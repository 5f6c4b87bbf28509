/**
 * Per-message calls address a message by `<user>:<message>` alone (src/store/messages.ts), so
 * ownership holds by construction and `fetchedAt` keeps the first time through `$min`.
 */
import { expect } from 'chai';
import type { Store } from '../../src/store/store';
import type { User } from '../../src/store/types';
import { openTestStore, createTestUser } from '../helpers/services';

describe('store: messages by id', () => {
  let store: Store;
  let alice: User;
  let bob: User;

  before(async () => {
    store = await openTestStore();
    const make = () => createTestUser(store);
    alice = await make();
    bob = await make();
  });
  after(async () => store.close());

  async function fetchedAt(user: User, uid: number): Promise<number | undefined> {
    return (await store.messages.byUid(user.id, uid))?.fetchedAt?.getTime();
  }

  it('keeps the first fetch time, for one message and for several', async () => {
    const one = await store.messages.add(alice.id, Buffer.from('one'), new Date());
    const two = await store.messages.add(alice.id, Buffer.from('two'), new Date());
    const three = await store.messages.add(alice.id, Buffer.from('three'), new Date());
    expect(await fetchedAt(alice, one.uid)).to.equal(undefined);

    await store.messages.markFetched(alice.id, [one.id], new Date(1_000));
    await store.messages.markFetched(alice.id, [one.id], new Date(9_000));
    expect(await fetchedAt(alice, one.uid)).to.equal(1_000);

    await store.messages.markFetched(alice.id, [two.id, three.id], new Date(2_000));
    await store.messages.markFetched(alice.id, [one.id, two.id, three.id], new Date(8_000));
    expect(await fetchedAt(alice, one.uid)).to.equal(1_000);
    expect(await fetchedAt(alice, two.uid)).to.equal(2_000);
    expect(await fetchedAt(alice, three.uid)).to.equal(2_000);

    // The sweeper's grace pass finds exactly the fetched ones.
    const fetched = await store.messages.fetchedBefore(new Date(3_000));
    expect(fetched.map((m) => m.id).sort()).to.deep.equal([one.id, two.id, three.id].sort());
    expect(await store.messages.remove(alice.id, [one.id, two.id, three.id])).to.equal(3);
  });

  it('sets flags on several messages in one call, and only on those that still exist', async () => {
    const stored = await Promise.all(
      ['a', 'b', 'c'].map((body) => store.messages.add(alice.id, Buffer.from(body), new Date())),
    );
    const ids = stored.map((message) => message.id);
    expect(await store.messages.remove(alice.id, [ids[2] as string])).to.equal(1);
    expect(await store.messages.setFlags(alice.id, ids, ['\\Deleted', '\\Seen'])).to.equal(2);
    for (const message of stored.slice(0, 2)) {
      expect((await store.messages.byUid(alice.id, message.uid))?.flags).to.deep.equal([
        '\\Deleted',
        '\\Seen',
      ]);
    }
    expect(await store.messages.remove(alice.id, ids)).to.equal(2);
  });

  it('lets no call on one user’s message ids touch another user’s messages', async () => {
    const message = await store.messages.add(alice.id, Buffer.from('for alice'), new Date());

    await store.messages.markFetched(bob.id, [message.id], new Date(1_000));
    await store.messages.markFetched(bob.id, [message.id, message.id], new Date(1_000));
    expect(await store.messages.setFlags(bob.id, [message.id], ['\\Seen'])).to.equal(0);
    expect(await store.messages.exists(bob.id, message.id)).to.equal(false);
    expect(await store.messages.remove(bob.id, [message.id])).to.equal(0);
    const reading = await store.messages.read(bob.id, message).then(
      () => 'read',
      (error: Error) => error.name,
    );
    expect(reading).to.equal('MailboxGoneError');

    const untouched = await store.messages.byUid(alice.id, message.uid);
    expect(untouched).to.include({ fetchedAt: null });
    expect(untouched?.flags).to.deep.equal([]);
    expect((await store.messages.read(alice.id, message)).toString()).to.equal('for alice');
    expect(await store.messages.remove(alice.id, [message.id])).to.equal(1);
  });

  it('ignores ids that are not message ids, and reads a deleted message as gone', async () => {
    const message = await store.messages.add(alice.id, Buffer.from('brief'), new Date());
    await store.messages.markFetched(alice.id, ['nope', '{"$ne":null}'], new Date());
    expect(await store.messages.remove(alice.id, ['nope', ''])).to.equal(0);
    expect(await store.messages.remove(alice.id, [message.id])).to.equal(1);
    const reading = await store.messages.read(alice.id, message).then(
      () => 'read',
      (error: Error) => error.name,
    );
    expect(reading).to.equal('MailboxGoneError');
  });

  it('finds a user by name through the name register, and frees the name on deletion', async () => {
    const named = await createTestUser(store, { username: 'registered' });
    expect((await store.users.byName('REGISTERED'))?.id).to.equal(named.id);
    expect(await store.deleteUser(named.id)).to.equal(true);
    expect(await store.users.byName('registered')).to.equal(null);
    const again = await createTestUser(store, { username: 'registered' });
    expect((await store.users.byName('registered'))?.fingerprint).to.equal(again.fingerprint);
    expect(again.id).not.to.equal(named.id);
  });
});
