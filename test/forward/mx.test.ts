/**
 * A destination without an explicit host: its domain's MX (RFC 5321 §5.1), looked up by
 * node:dns against a DNS server on loopback, then reached by name through the SOCKS5h proxy —
 * the Tor stand-in, which maps host names to loopback ports and takes nothing but names.
 */
import { Resolver } from 'node:dns/promises';
import { expect } from 'chai';
import { startForwarder, type Forwarder } from '../../src/forward/worker';
import {
  startMicrosocks,
  startOnionProxy,
  type Microsocks,
  type OnionProxy,
} from '../kzymy-fetch/helpers/proxies';
import { startDestination, type TestDestination } from './helpers/destination';
import { TestDnsServer } from '../helpers/dns-server';
import { ForwardFixture } from './helpers/fixture';

describe('forward: MX lookup', function () {
  this.timeout(60_000);
  let fixture: ForwardFixture;
  let destination: TestDestination;
  let socks: Microsocks;
  let proxy: OnionProxy;
  let dns: TestDnsServer;
  let forwarder: Forwarder;

  before(async () => {
    destination = await startDestination();
    socks = await startMicrosocks();
    proxy = await startOnionProxy(socks.port, {
      'mx1.mx-test.example': { 25: destination.port },
      'nomx.example': { 25: destination.port },
    });
    dns = await TestDnsServer.start({
      'mx-test.example': {
        MX: [
          { preference: 20, exchange: 'mx2.mx-test.example' },
          { preference: 10, exchange: 'mx1.mx-test.example' },
        ],
      },
      'fallback.example': {
        MX: [
          { preference: 5, exchange: 'down.fallback.example' },
          { preference: 10, exchange: 'mx1.mx-test.example' },
        ],
      },
      'nomx.example': { A: ['192.0.2.25'] },
      // RFC 7505: "0 ." says the domain takes no mail.
      'nullmx.example': { MX: [{ preference: 0, exchange: '' }] },
    });
    fixture = await ForwardFixture.start({
      forward: { proxy: `socks5h://127.0.0.1:${proxy.port}`, allowPrivateHosts: false },
    });
    const resolver = new Resolver();
    resolver.setServers([dns.address]);
    forwarder = startForwarder(fixture.deps, { resolver });
    await forwarder.scan();
  });
  after(async () => {
    await forwarder?.stop();
    await fixture?.close();
    await dns?.close();
    await proxy?.close();
    await socks?.stop();
    await destination?.close();
  });

  async function forwardOne(address: string): Promise<{ report: object; names: string[] }> {
    const user = await fixture.addUser({ address, host: null });
    await fixture.deposit(user, 1);
    const seen = proxy.requests.length;
    const report = await forwarder.runUser(user.id);
    return { report, names: proxy.requests.slice(seen).map((r) => `${r.host}:${r.port}`) };
  }

  it('sends to the most preferred MX, by name through the proxy', async () => {
    const before = destination.received.length;
    const { report, names } = await forwardOne('her@mx-test.example');
    expect(report).to.deep.equal({ delivered: 1, deferred: 0, refused: 0 });
    expect(names).to.deep.equal(['mx1.mx-test.example:25']);
    expect(destination.received[before]?.to).to.deep.equal(['her@mx-test.example']);
  });

  it('goes on to the next MX when one cannot be reached', async () => {
    const { report, names } = await forwardOne('her@fallback.example');
    expect(report).to.deep.equal({ delivered: 1, deferred: 0, refused: 0 });
    expect(names).to.deep.equal(['down.fallback.example:25', 'mx1.mx-test.example:25']);
  });

  it('uses the domain itself when it has no MX (the implicit MX)', async () => {
    const { report, names } = await forwardOne('her@nomx.example');
    expect(report).to.deep.equal({ delivered: 1, deferred: 0, refused: 0 });
    expect(names).to.deep.equal(['nomx.example:25']);
  });

  for (const [domain, reply] of [
    ['nullmx.example', { code: 556, status: '5.1.10' }],
    ['missing.example', { code: 550, status: '5.1.2' }],
  ] as const) {
    it(`treats ${domain === 'nullmx.example' ? 'a null MX' : 'a domain that does not exist'} as a refusal: kept, and shown`, async () => {
      const { report, names } = await forwardOne(`her@${domain}`);
      expect(report).to.deep.equal({ delivered: 0, deferred: 0, refused: 1 });
      expect(names).to.deep.equal([]);
      const ids = await fixture.deps.store.users.forwardingUserIds();
      const users = await Promise.all(ids.map((id) => fixture.deps.store.users.byId(id)));
      const user = users.find((u) => u?.forward?.address === `her@${domain}`);
      expect(user?.forward?.failure).to.include(reply);
      expect(await fixture.deps.store.messages.count(user?.id ?? '')).to.equal(1);
    });
  }
});
