/**
 * The forwarding worker against real destinations: the `smtp-server` package on loopback (plain,
 * STARTTLS, behind microsocks, and as an onion service behind the Tor stand-in), the run's
 * store engine and Redis, and mail encrypted to a GnuPG key. What arrives must be the stored
 * ciphertext byte for byte, and a message leaves the store only after the destination's 250.
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { FORWARD_NUDGE_UID, startForwarder, type Forwarder } from '../../src/forward/worker';
import type { User } from '../../src/store/types';
import type { TestDeps } from '../helpers/deps';
import {
  PROXY_EXIT,
  startMicrosocks,
  startOnionProxy,
  type Microsocks,
  type OnionProxy,
} from '../kzymy-fetch/helpers/proxies';
import { startDestination, type TestDestination } from './helpers/destination';
import { ForwardFixture, onionName, waitFor } from './helpers/fixture';
import { expectBytes } from '../helpers/bytes';

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('forward: the worker', function () {
  this.timeout(120_000);
  let fixture: ForwardFixture;
  let plain: TestDestination;
  let forwarder: Forwarder;
  const extraDeps: TestDeps[] = [];
  const extraForwarders: Forwarder[] = [];

  before(async () => {
    fixture = await ForwardFixture.start();
    plain = await startDestination();
    forwarder = startForwarder(fixture.deps);
    await forwarder.scan();
  });

  after(async () => {
    for (const other of extraForwarders) await other.stop();
    await forwarder?.stop();
    for (const deps of extraDeps) await deps.close();
    await plain?.close();
    await fixture?.close();
  });

  const at = (destination: TestDestination): string => `127.0.0.1:${destination.port}`;
  const count = (user: User): Promise<number> => fixture.deps.store.messages.count(user.id);

  it('sends each stored message as it is stored, with the null sender, and deletes it after the 250', async () => {
    const user = await fixture.addUser({ address: 'her@example.org', host: at(plain) });
    const stored = await fixture.deposit(user, 3);
    const before = plain.received.length;

    const report = await forwarder.runUser(user.id);

    expect(report).to.deep.equal({ delivered: 3, deferred: 0, refused: 0 });
    const got = plain.received.slice(before);
    expect(got.map((r) => sha(r.data)).sort()).to.deep.equal(stored.map(sha).sort());
    for (const r of got) {
      expect(r.from).to.equal('');
      expect(r.to).to.deep.equal(['her@example.org']);
      expect(r.heloName).to.equal(fixture.deps.config.domain);
      expect(r.secure).to.equal(false);
    }
    // Still readable by her key: GnuPG opens what the destination got.
    const opened = await fixture.gpg.decrypt((got[0] as { data: Buffer }).data);
    expect(opened.toString('utf8')).to.match(/^Return-Path: <sender@example\.org>\r\n/);
    expect(await count(user)).to.equal(0);
  });

  it('upgrades with STARTTLS when the destination offers it, and sends a message stored in several chunks whole', async () => {
    const tls = await startDestination({
      starttls: { key: fixture.deps.tls.key, cert: fixture.deps.tls.cert },
    });
    try {
      const user = await fixture.addUser({ address: 'her@example.net', host: at(tls) });
      // Over 2.5 MB: stored in several chunks (256 KiB on sqlite, 1 MiB on mongodb), read back
      // and sent as one message.
      const [stored] = await fixture.deposit(user, 1, 2_500_000);
      expect((stored as Buffer).length).to.be.above(2 * 1024 * 1024);
      const report = await forwarder.runUser(user.id);
      expect(report.delivered).to.equal(1);
      expect(tls.received).to.have.length(1);
      expect(tls.received[0]?.secure).to.equal(true);
      expectBytes(tls.received[0]?.data, stored as Buffer);
      expect(await count(user)).to.equal(0);
    } finally {
      await tls.close();
    }
  });

  describe('through a SOCKS5 proxy', () => {
    let socks: Microsocks;
    let onion: OnionProxy;
    const onionHost = onionName();
    let viaProxy: TestDeps;
    let proxied: Forwarder;

    before(async () => {
      socks = await startMicrosocks();
      onion = await startOnionProxy(socks.port, { [onionHost]: { 25: plain.port } });
      // The Tor stand-in in front of microsocks: it serves .onion names and passes the rest on.
      viaProxy = await fixture.secondDaemon();
      extraDeps.push(viaProxy);
    });
    after(async () => {
      await onion?.close();
      await socks?.stop();
    });

    for (const kind of ['microsocks', 'onion'] as const) {
      it(
        kind === 'microsocks'
          ? 'reaches the destination through microsocks (standing in for Tor): it sees the proxy, not us'
          : 'reaches an onion MX by name through the proxy (socks5h), never resolving it here',
        async () => {
          const proxyPort = kind === 'microsocks' ? socks.port : onion.port;
          const deps: TestDeps = {
            ...viaProxy,
            config: {
              ...viaProxy.config,
              forward: { ...viaProxy.config.forward, proxy: `socks5h://127.0.0.1:${proxyPort}` },
            },
          };
          proxied = startForwarder(deps);
          extraForwarders.push(proxied);
          const user =
            kind === 'microsocks'
              ? await fixture.addUser({ address: 'her@example.com', host: at(plain) })
              : await fixture.addUser({ address: `her@${onionHost}`, host: onionHost });
          const [stored] = await fixture.deposit(user, 1);
          const seen = onion.requests.length;
          const before = plain.received.length;

          expect((await proxied.runUser(user.id)).delivered).to.equal(1);

          const got = plain.received.slice(before);
          expect(got).to.have.length(1);
          expectBytes(got[0]?.data, stored as Buffer);
          expect(got[0]?.remote).to.equal(PROXY_EXIT);
          if (kind === 'onion') {
            // The name went to the proxy as a name (ATYP 3), port 25.
            expect(onion.requests.slice(seen)).to.deep.equal([
              { command: 1, addressType: 3, host: onionHost, port: 25 },
            ]);
          }
          expect(await count(user)).to.equal(0);
          await proxied.stop();
        },
      );
    }
  });

  it('wakes on new-mail events: a nudge (uid 0) for a new destination, then each delivery', async () => {
    const user = await fixture.addUser({ address: 'events@example.org', host: at(plain) });
    await fixture.deposit(user, 1);
    await fixture.deps.publisher.publish({ userId: user.id, uid: FORWARD_NUDGE_UID });
    await waitFor('the waiting message forwarded', async () => (await count(user)) === 0);
    const [later] = await fixture.deposit(user, 1);
    const stored = (await fixture.deps.store.messages.list(user.id))[0];
    await fixture.deps.publisher.publish({ userId: user.id, uid: stored?.uid ?? 1 });
    await waitFor('the new message forwarded', async () => (await count(user)) === 0);
    expect(plain.received.some((r) => r.data.equals(later as Buffer))).to.equal(true);
  });

  it('keeps the message while the destination is down, retries after the backoff, delivers it once and then deletes it', async () => {
    const flaky = await startDestination();
    const user = await fixture.addUser({ address: 'down@example.org', host: at(flaky) });
    try {
      const [stored] = await fixture.deposit(user, 1);
      await flaky.close();

      expect(await forwarder.runUser(user.id)).to.deep.equal({
        delivered: 0,
        deferred: 1,
        refused: 0,
      });
      expect(await count(user)).to.equal(1);
      // Within the backoff nothing is tried.
      await flaky.restart();
      expect((await forwarder.runUser(user.id)).deferred).to.equal(0);
      expect(flaky.connections).to.equal(0);

      await waitFor('the backoff to pass', async () => {
        await forwarder.runUser(user.id);
        return (await count(user)) === 0;
      });
      expect(flaky.received).to.have.length(1);
      expectBytes(flaky.received[0]?.data, stored as Buffer);
      // Nothing is left to send: another run connects nowhere.
      await forwarder.runUser(user.id);
      expect(flaky.received).to.have.length(1);
    } finally {
      await flaky.close();
    }
  });

  it('keeps the message after a 4xx reply and delivers it on a later try', async () => {
    const busy = await startDestination();
    try {
      const user = await fixture.addUser({ address: 'busy@example.org', host: at(busy) });
      await fixture.deposit(user, 2);
      busy.behaviour.rcpt = { code: 451, text: '4.3.0 try later' };
      expect((await forwarder.runUser(user.id)).deferred).to.equal(1);
      expect(await count(user)).to.equal(2);
      busy.behaviour.rcpt = null;
      await waitFor('both delivered', async () => {
        await forwarder.runUser(user.id);
        return (await count(user)) === 0;
      });
      expect(busy.received).to.have.length(2);
    } finally {
      await busy.close();
    }
  });

  it('keeps the message when the connection drops after the data, before the reply (no 250, no delete)', async () => {
    const dropping = await startDestination();
    try {
      const user = await fixture.addUser({ address: 'drop@example.org', host: at(dropping) });
      const [stored] = await fixture.deposit(user, 1);
      dropping.behaviour.dropAfterData = true;
      expect((await forwarder.runUser(user.id)).deferred).to.equal(1);
      expect(await count(user)).to.equal(1);
      dropping.behaviour.dropAfterData = false;
      await waitFor('delivered on a later try', async () => {
        await forwarder.runUser(user.id);
        return (await count(user)) === 0;
      });
      expect(dropping.received).to.have.length(1);
      expectBytes(dropping.received[0]?.data, stored as Buffer);
    } finally {
      await dropping.close();
    }
  });

  it('treats a 421 greeting as try-again and a 554 greeting as a refusal', async () => {
    const closed = await startDestination();
    try {
      const user = await fixture.addUser({ address: 'greet@example.org', host: at(closed) });
      await fixture.deposit(user, 1);
      closed.behaviour.connect = { code: 421, text: '4.3.2 not now' };
      expect(await forwarder.runUser(user.id)).to.deep.equal({
        delivered: 0,
        deferred: 1,
        refused: 0,
      });
      closed.behaviour.connect = { code: 554, text: '5.7.1 no service for you' };
      await waitFor('the backoff to pass and the refusal', async () => {
        return (await forwarder.runUser(user.id)).refused === 1;
      });
      expect(await count(user)).to.equal(1);
      expect((await fixture.deps.store.users.byId(user.id))?.forward?.failure).to.include({
        code: 554,
        status: '5.7.1',
      });
      expect(closed.received).to.have.length(0);
    } finally {
      await closed.close();
    }
  });

  it('keeps a message the destination refuses (5xx) for pickup, records the reply, and does not send it again', async () => {
    const strict = await startDestination();
    try {
      const user = await fixture.addUser({ address: 'gone@example.org', host: at(strict) });
      await fixture.deposit(user, 1);
      strict.behaviour.rcpt = { code: 550, text: '5.1.1 no such mailbox' };

      expect(await forwarder.runUser(user.id)).to.deep.equal({
        delivered: 0,
        deferred: 0,
        refused: 1,
      });
      expect(await count(user)).to.equal(1);
      expect(await fixture.deps.store.forwards.refusedCount(user.id)).to.equal(1);
      const failure = (await fixture.deps.store.users.byId(user.id))?.forward?.failure;
      expect(failure).to.include({ code: 550, status: '5.1.1' });

      // Refused once is refused: the next run does not even connect for it.
      const connections = strict.connections;
      strict.behaviour.rcpt = null;
      expect((await forwarder.runUser(user.id)).delivered).to.equal(0);
      expect(strict.connections).to.equal(connections);
      expect(await count(user)).to.equal(1);

      // The user asks for another try (the account page's button): now it goes, and the
      // recorded failure is cleared.
      await fixture.deps.store.forwards.forgetRefusals(user.id);
      expect((await forwarder.runUser(user.id)).delivered).to.equal(1);
      expect(await count(user)).to.equal(0);
      expect((await fixture.deps.store.users.byId(user.id))?.forward?.failure).to.equal(null);
    } finally {
      await strict.close();
    }
  });

  it('leaves a message a client has already received to that client', async () => {
    const user = await fixture.addUser({ address: 'fetched@example.org', host: at(plain) });
    await fixture.deposit(user, 2);
    const [first] = await fixture.deps.store.messages.list(user.id);
    await fixture.deps.store.messages.markFetched(user.id, [first?.id ?? ''], new Date());
    expect((await forwarder.runUser(user.id)).delivered).to.equal(1);
    const left = await fixture.deps.store.messages.list(user.id);
    expect(left.map((m) => m.id)).to.deep.equal([first?.id]);
  });

  it('sends nothing for a user without an active destination', async () => {
    const user = await fixture.addUser();
    await fixture.deposit(user, 1);
    const before = plain.connections;
    expect(await forwarder.runUser(user.id)).to.deep.equal({
      delivered: 0,
      deferred: 0,
      refused: 0,
    });
    expect(plain.connections).to.equal(before);
    expect(await count(user)).to.equal(1);
  });

  it('forwards each message once when two daemons work on one mailbox at the same time', async () => {
    const second = await fixture.secondDaemon();
    extraDeps.push(second);
    const other = startForwarder(second);
    extraForwarders.push(other);
    await other.scan();
    const target = await startDestination();
    try {
      const user = await fixture.addUser({ address: 'twice@example.org', host: at(target) });
      const stored = await fixture.deposit(user, 24);
      // Both hear the nudge, and both are asked directly too.
      await fixture.deps.publisher.publish({ userId: user.id, uid: FORWARD_NUDGE_UID });
      await Promise.all([
        forwarder.runUser(user.id),
        other.runUser(user.id),
        other.runUser(user.id),
      ]);
      await waitFor('the mailbox empty', async () => (await count(user)) === 0);
      await Promise.all([forwarder.runUser(user.id), other.runUser(user.id)]);
      const hashes = target.received.map((r) => sha(r.data));
      expect(hashes).to.have.length(24);
      expect(new Set(hashes).size).to.equal(24);
      expect(hashes.sort()).to.deep.equal(stored.map(sha).sort());
    } finally {
      await target.close();
    }
  });
});
