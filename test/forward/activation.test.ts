/**
 * The forwarding code: wrong codes refused without counting (no lock-out anyone could cause),
 * expired codes refused, a new code replacing the old one, and the destination checks — with
 * the ForwardService on a clock the test moves, the run's store engine, an `smtp-server`
 * destination and GnuPG to read the code.
 */
import { Resolver } from 'node:dns/promises';
import { expect } from 'chai';
import { parseDestination } from '../../src/forward/destination';
import { ForwardService } from '../../src/forward/service';
import type { User } from '../../src/store/types';
import { startDestination, type TestDestination } from './helpers/destination';
import { ForwardFixture } from './helpers/fixture';

describe('forward: the activation code', function () {
  this.timeout(60_000);
  let fixture: ForwardFixture;
  let destination: TestDestination;
  let now = Date.now();
  let service: ForwardService;

  before(async () => {
    fixture = await ForwardFixture.start({ forward: { codeTtlSeconds: 600 } });
    destination = await startDestination();
    service = new ForwardService({
      config: fixture.deps.config,
      store: fixture.deps.store,
      logger: fixture.deps.logger,
      metrics: fixture.deps.metrics,
      clock: () => new Date(now),
      resolver: new Resolver(),
    });
  });
  after(async () => {
    await destination?.close();
    await fixture?.close();
  });

  /** Proposes the test destination and returns the code GnuPG reads out of what arrived. */
  async function mailCode(user: User): Promise<string> {
    const before = destination.received.length;
    const result = await service.propose(user, 'her@example.org', `127.0.0.1:${destination.port}`);
    expect(result).to.deep.equal({ ok: true, validMinutes: 10 });
    const mail = destination.received[before];
    if (!mail) throw new Error('no code message');
    const text = (await fixture.gpg.decrypt(mail.data)).toString('utf8');
    const code = /^Forwarding code:\s+(\S+)\r?$/m.exec(text)?.[1];
    if (!code) throw new Error('no code in the message');
    return code;
  }

  it('refuses wrong codes however many, without locking the right one out', async () => {
    const user = await fixture.addUser();
    const code = await mailCode(user);
    for (let i = 0; i < 50; i++) {
      expect(await service.confirm(user, `WRONG-${i}`)).to.equal('wrong');
    }
    expect(await service.confirm(user, '')).to.equal('wrong');
    expect(await service.confirm(user, code)).to.equal('active');
    // Once active, there is nothing to confirm.
    expect(await service.confirm(user, code)).to.equal('not-pending');
  });

  it('refuses an expired code, and a new code replaces the old one', async () => {
    const user = await fixture.addUser();
    const first = await mailCode(user);
    now += 601_000;
    expect(await service.confirm(user, first)).to.equal('expired');
    expect((await fixture.deps.store.users.byId(user.id))?.forward?.state).to.equal('pending');

    const second = await mailCode(user);
    expect(second).not.to.equal(first);
    expect(await service.confirm(user, first)).to.equal('wrong');
    now += 599_000;
    expect(await service.confirm(user, second)).to.equal('active');
  });

  it('keeps the active destination when a new one cannot be reached', async () => {
    const user = await fixture.addUser({ address: 'old@example.org', host: null });
    const down = await startDestination();
    await down.close();
    const result = await service.propose(user, 'new@example.org', `127.0.0.1:${down.port}`);
    expect(result).to.deep.equal({
      ok: false,
      problem:
        'kzymy could not send the code: its mail server could not be reached. Nothing was changed.',
    });
    const kept = (await fixture.deps.store.users.byId(user.id))?.forward;
    expect(kept).to.include({ address: 'old@example.org', state: 'active' });
  });

  it('refuses a destination on a private address unless the operator allows it', async () => {
    const config = fixture.deps.config;
    const strict = new ForwardService({
      config: { ...config, forward: { ...config.forward, allowPrivateHosts: false } },
      store: fixture.deps.store,
      logger: fixture.deps.logger,
      clock: () => new Date(now),
      resolver: new Resolver(),
    });
    const user = await fixture.addUser();
    const before = destination.connections;
    for (const host of [`127.0.0.1:${destination.port}`, '10.1.2.3', '192.168.0.25:2525']) {
      expect(await strict.propose(user, 'her@example.org', host)).to.deep.equal({
        ok: false,
        problem:
          'kzymy could not send the code: it points at a private network address. Nothing was changed.',
      });
    }
    expect(destination.connections).to.equal(before);
    expect((await fixture.deps.store.users.byId(user.id))?.forward).to.equal(null);
  });

  it('checks a destination before anything is sent', () => {
    const onion = `${'a'.repeat(56)}.onion`;
    const cases: Array<[string, string, string | null]> = [
      ['her@example.org', '', null],
      ['Her.Name+tag@Example.ORG', 'mx.example.org:2525', null],
      [`her@${onion}`, '', null],
      ['her@example.org', onion, null],
      ['', '', 'Enter the address to forward to.'],
      ['no-at-sign', '', 'not an address'],
      ['a b@example.org', '', 'not an address'],
      ['her@localhost', '', 'not an address'],
      [`${'x'.repeat(65)}@example.org`, '', 'not an address'],
      ['her@short.onion', '', 'not a v3 onion address'],
      ['her@abc.kzymy.test', '', 'in a circle'],
      ['her@example.org', 'mx.kzymy.test', "kzymy.test's own"],
      ['her@example.org', 'mx.example.org:0', 'optional :port'],
      ['her@example.org', 'bad host!', 'optional :port'],
    ];
    for (const [address, host, problem] of cases) {
      const parsed = parseDestination(address, host, 'kzymy.test');
      if (problem === null) expect(parsed.ok, `${address} ${host}`).to.equal(true);
      else {
        expect(parsed.ok, `${address} ${host}`).to.equal(false);
        if (!parsed.ok) expect(parsed.problem).to.include(problem);
      }
    }
    const mixed = parseDestination('Her.Name+tag@Example.ORG', 'MX.example.org:2525', 'kzymy.test');
    expect(mixed.ok && mixed.destination).to.deep.equal({
      address: 'Her.Name+tag@example.org',
      domain: 'example.org',
      host: 'mx.example.org',
      port: 2525,
    });
    // An onion domain is its own mail server: no MX lookup for it.
    const direct = parseDestination(`her@${onion}`, '', 'kzymy.test');
    expect(direct.ok && direct.destination.host).to.equal(onion);
  });
});
