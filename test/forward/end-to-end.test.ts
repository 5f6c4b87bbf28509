/**
 * Forwarding end to end: swaks → real Haraka with kzymy's plugin → encrypted and stored → the
 * new-mail event → the forwarding worker → an `smtp-server` destination, and nothing left on the
 * server. Then the canary: a distinctive destination address, taken through every path (code
 * sent and refused, delivered, 4xx, 5xx, no connection), never appears in a log line (kzymy's
 * and Haraka's, at debug level), a metric, or Redis.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { ForwardService } from '../../src/forward/service';
import { startForwarder, type Forwarder } from '../../src/forward/worker';
import { expectedPlaintext, headerSection, SmtpHarness } from '../smtp/helpers/harness';
import { startDestination, type TestDestination } from './helpers/destination';
import { TEST_FORWARD, waitFor } from './helpers/fixture';

describe('forward: end to end from Haraka, and the canary', function () {
  this.timeout(120_000);
  let h: SmtpHarness;
  let destination: TestDestination;
  let forwarder: Forwarder;
  let service: ForwardService;
  const tag = randomBytes(5).toString('hex');
  const canaryLocal = `canary-${tag}`;
  const canaryDomain = `dest-${tag}.example`;
  const canary = `${canaryLocal}@${canaryDomain}`;

  before(async () => {
    // The exact payload: the forwarded ciphertext is compared with the original byte for byte.
    h = await SmtpHarness.start({ settings: { forward: TEST_FORWARD }, payloadFormat: 'exact' });
    destination = await startDestination();
    forwarder = startForwarder(h.deps);
    await forwarder.scan();
    service = new ForwardService({
      config: h.deps.config,
      store: h.deps.store,
      logger: h.deps.logger.child('web'),
      metrics: h.deps.metrics,
      clock: h.deps.clock,
      resolver: new Resolver(),
      nudge: (user) => h.deps.publisher.publish({ userId: user.id, uid: 0 }),
    });
  });
  after(async () => {
    await forwarder?.stop();
    await destination?.close();
    await h?.close();
  });

  /** Sets the canary destination up the way the account page does, code and all. */
  async function activateCanary(userId: string): Promise<void> {
    const user = await h.deps.store.users.byId(userId);
    if (!user) throw new Error('no user');
    const before = destination.received.length;
    const proposed = await service.propose(user, canary, `127.0.0.1:${destination.port}`);
    expect(proposed.ok).to.equal(true);
    const text = (await h.gpg.decrypt(destination.received[before]?.data ?? '')).toString('utf8');
    const code = /^Forwarding code:\s+(\S+)\r?$/m.exec(text)?.[1] ?? '';
    expect(await service.confirm(user, code)).to.equal('active');
  }

  it('delivers a message Haraka accepted to the destination, encrypted as stored, and keeps nothing', async () => {
    const alice = await h.addUser();
    await activateCanary(alice.user.id);
    const rcpt = alice.address('shop');
    const from = 'sender@example.org';
    const original = Buffer.from(
      ['From: <sender@example.org>', `To: <${rcpt}>`, 'Subject: forwarded', '', 'Hello', ''].join(
        '\r\n',
      ),
    );
    const file = join(h.deps.config.dataDir, 'forwarded.eml');
    await writeFile(file, original.subarray(0, -2));
    const before = destination.received.length;

    const { code, transcript } = await h.swaks([
      '--to',
      rcpt,
      '--from',
      from,
      '--data',
      `@${file}`,
    ]);
    expect(code, transcript).to.equal(0);

    await waitFor('the message forwarded', () => destination.received.length > before);
    await waitFor('the mailbox empty', async () => (await h.count(alice.user)) === 0);
    const got = destination.received[before];
    if (!got) throw new Error('nothing arrived');
    expect(got.to).to.deep.equal([canary]);
    expect(got.from).to.equal('');
    const plain = await h.gpg.decrypt(got.data);
    expect(plain.toString('latin1')).to.equal(
      expectedPlaintext(from, rcpt, original).toString('latin1'),
    );
    // The destination sees kzymy's stub outside: nothing of the original, not even the alias.
    const outer = headerSection(got.data);
    expect(outer).to.match(/^Subject: \.\.\.$/m);
    expect(outer.toLowerCase()).not.to.include('shop@');
    expect(outer).not.to.include('forwarded');
    expect(outer).not.to.include('sender@example.org');
  });

  it('never writes the destination address to a log line, a metric or Redis', async () => {
    const bob = await h.addUser();
    // A code the destination refuses, then one it takes.
    destination.behaviour.rcpt = { code: 550, text: `5.1.1 <${canary}> unknown` };
    const refused = await service.propose(
      (await h.deps.store.users.byId(bob.user.id)) ?? bob.user,
      canary,
      `127.0.0.1:${destination.port}`,
    );
    expect(refused.ok).to.equal(false);
    destination.behaviour.rcpt = null;
    await activateCanary(bob.user.id);

    const send = async (): Promise<void> => {
      const { code } = await h.swaks(['--to', bob.address(), '--from', 'x@example.net']);
      expect(code).to.equal(0);
    };
    // Delivered.
    await send();
    await waitFor('delivered', async () => (await h.count(bob.user)) === 0);
    // 4xx, with the address quoted in the reply text.
    destination.behaviour.rcpt = { code: 451, text: `4.2.1 <${canary}> busy` };
    await send();
    await waitFor('deferred', () =>
      h.deps.logLines.some((line) => line.includes('"event":"forward.deferred"')),
    );
    // 5xx, the same, once the backoff has passed.
    destination.behaviour.rcpt = { code: 550, text: `5.1.1 <${canary}> gone` };
    await waitFor('refused', async () => {
      await forwarder.runUser(bob.user.id);
      return h.deps.logLines.some((line) => line.includes('"event":"forward.refused"'));
    });
    destination.behaviour.rcpt = null;
    expect(await h.count(bob.user)).to.equal(1);

    const haystacks: Array<[string, string]> = [
      ['kzymy log', h.deps.logLines.join('\n')],
      ['Haraka log', await readFile(h.haraka.logFile, 'utf8')],
      ['metrics', await h.deps.metrics.registry.metrics()],
    ];
    const prefix = h.deps.config.redis.prefix;
    for (const key of await h.deps.redis.keys(`${prefix}*`)) {
      const value =
        (await h.deps.redis.type(key)) === 'string' ? ((await h.deps.redis.get(key)) ?? '') : '';
      haystacks.push([`redis ${key}`, `${key} ${value}`]);
    }
    for (const [where, text] of haystacks) {
      expect(text.toLowerCase(), where).not.to.include(canaryLocal);
      expect(text.toLowerCase(), where).not.to.include(canaryDomain);
    }
    // The search is real: the events it looked through are there, and the metrics count them.
    const events = h.deps.logLines.map((line) => (JSON.parse(line) as { event: string }).event);
    for (const event of [
      'forward.code_failed',
      'forward.code_sent',
      'forward.activated',
      'forward.delivered',
      'forward.deferred',
      'forward.refused',
    ]) {
      expect(events, event).to.include(event);
    }
    const metrics = await h.deps.metrics.registry.metrics();
    expect(metrics).to.match(/^kzymy_forwards_total\{result="delivered"\} [1-9]/m);
    expect(metrics).to.match(/^kzymy_forwards_total\{result="deferred"\} [1-9]/m);
    expect(metrics).to.match(/^kzymy_forwards_total\{result="refused"\} [1-9]/m);
    expect(metrics).to.match(/^kzymy_forward_codes_total\{result="refused"\} [1-9]/m);
    expect(metrics).to.match(/^kzymy_messages_deleted_total\{reason="forwarded"\} [1-9]/m);
    // And the address is where it belongs: in the store, for the worker.
    expect((await h.deps.store.users.byId(bob.user.id))?.forward?.address).to.equal(canary);
  });
});
