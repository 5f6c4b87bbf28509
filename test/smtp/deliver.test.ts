/**
 * deliverMessage against the real store and Redis, without SMTP in front: the all-or-nothing
 * rule when the hook is abandoned (timeout or client gone) after the writes were made.
 */
import { expect } from 'chai';
import type { NewMailEvent } from '../../src/redis/new-mail';
import { deliverMessage, type DeliveryDeps } from '../../src/smtp/deliver';
import type { User } from '../../src/store/types';
import { makeTestDeps, type TestDeps } from '../helpers/deps';
import { GpgHome } from '../helpers/gpg';

describe('smtp: deliverMessage', function () {
  this.timeout(30_000);
  let deps: TestDeps;
  let gpg: GpgHome;
  let publicKey: string;
  let fingerprint: string;

  before(async () => {
    deps = await makeTestDeps();
    gpg = await GpgHome.create();
    fingerprint = (await gpg.generateKey('curve25519')).fingerprint;
    publicKey = (await gpg.exportPublic(fingerprint)).toString();
  });
  after(async () => {
    await gpg?.dispose();
    await deps?.close();
  });

  async function user(): Promise<User> {
    return deps.store.users.create({ fingerprint, publicKey, passwordHash: 'x', state: 'active' });
  }

  function deliveryDeps(publish?: (event: NewMailEvent) => Promise<void>): DeliveryDeps {
    return {
      users: deps.store.users,
      messages: deps.store.messages,
      publisher: { publish: publish ?? ((event) => deps.publisher.publish(event)) },
      domain: deps.config.domain,
      quotaBytes: deps.config.smtp.quotaBytes,
      logger: deps.logger,
    };
  }

  function rcpt(u: User, local: string): { address: string; canonical: string } {
    const address = `${local}@${u.username}.${deps.config.domain}`;
    return { address, canonical: address.toLowerCase() };
  }

  it('stores one copy per mailbox, listing each of her addresses, and announces each after all are stored', async () => {
    const a = await user();
    const b = await user();
    const published: NewMailEvent[] = [];
    let storedWhenFirstPublished = -1;
    const decision = await deliverMessage(
      deliveryDeps(async (event) => {
        if (published.length === 0)
          storedWhenFirstPublished =
            (await deps.store.messages.count(a.id)) + (await deps.store.messages.count(b.id));
        published.push(event);
      }),
      Buffer.from('Subject: hi\r\n\r\nhi\r\n'),
      {
        from: 'x@example.org',
        recipients: [rcpt(a, 'One'), rcpt(a, 'one'), rcpt(a, 'two'), rcpt(b, 'x')],
        arrival: new Date(),
      },
      new AbortController().signal,
    );
    expect(decision.kind).to.equal('accept');
    expect(await deps.store.messages.count(a.id)).to.equal(1);
    expect(await deps.store.messages.count(b.id)).to.equal(1);
    expect(published).to.have.length(2);
    expect(storedWhenFirstPublished).to.equal(2);
    const [stored] = await deps.store.messages.list(a.id);
    const plain = await gpg.decrypt(await deps.store.messages.read(a.id, stored!));
    // The same address twice (in any case) is one; each other alias is listed, in RCPT order.
    expect(plain.toString().match(/^Delivered-To: .*$/gm)).to.deep.equal([
      `Delivered-To: ${rcpt(a, 'One').address}`,
      `Delivered-To: ${rcpt(a, 'two').address}`,
    ]);
  });

  it('undoes everything when the hook was abandoned after the last write', async () => {
    const a = await user();
    const controller = new AbortController();
    const decision = await deliverMessage(
      deliveryDeps(async () => {
        // The adapter's timeout (or the client leaving) fires while the events go out.
        controller.abort(new Error('timed out'));
      }),
      Buffer.from('Subject: late\r\n\r\nlate\r\n'),
      { from: '', recipients: [rcpt(a, 'x'), rcpt(a, 'y')], arrival: new Date() },
      controller.signal,
    );
    expect(decision).to.include({ kind: 'tempfail' });
    expect(await deps.store.messages.count(a.id)).to.equal(0);
    expect(await deps.store.messages.removeOrphanChunks(new Date(Date.now() + 3600_000))).to.equal(
      0,
    );
  });

  it('writes nothing when already abandoned', async () => {
    const a = await user();
    const controller = new AbortController();
    controller.abort();
    const decision = await deliverMessage(
      deliveryDeps(),
      Buffer.from('x\r\n'),
      { from: '', recipients: [rcpt(a, 'x')], arrival: new Date() },
      controller.signal,
    );
    expect(decision.kind).to.equal('tempfail');
    expect(await deps.store.messages.count(a.id)).to.equal(0);
  });
});
