/**
 * Connection limits on the MX (src/smtp/connection-limit.ts) with real Haraka: a flood of idle
 * connections past the cap makes room for swaks' delivery; connections busy with a transaction
 * are never pushed out, so a listener full of them refuses with 421; one host may hold only
 * maxConnectionsPerHost connections (counted in memory: every test client is 127.0.0.1).
 */
import { expect } from 'chai';
import { aggregatedMetrics } from '../../src/metrics/child-metrics';
import { Flood } from '../helpers/flood';
import { SmtpHarness } from './helpers/harness';
import { SmtpClient } from './helpers/smtp-client';

async function limitCount(h: SmtpHarness, action: string): Promise<number> {
  const text = await aggregatedMetrics(h.deps.metrics.registry, () => [h.haraka.process]).metrics();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`kzymy_connection_limits_total{listener="smtp",action="${action}"}`));
  return Number(line?.split(' ')[1] ?? NaN);
}

describe('smtp: connection limits', function () {
  this.timeout(120_000);

  describe('the listener cap', () => {
    const CAP = 10;
    const FLOOD = 40;
    let h: SmtpHarness;

    before(async () => {
      h = await SmtpHarness.start({
        settings: { limits: { smtp: { maxConnections: CAP, maxConnectionsPerHost: 0 } } },
      });
    });
    after(async () => {
      await h?.close();
    });

    it(`${FLOOD} idle connections on a cap of ${CAP}: swaks still delivers`, async () => {
      const alice = await h.addUser();
      const flood = await Flood.open(h.port, FLOOD);
      try {
        await flood.closedUntil((closed) => closed === FLOOD - CAP);
        const evicted = [...flood.received.values()].filter((text) =>
          text.includes('421 4.4.5 Server busy, closing an idle connection'),
        );
        expect(evicted).to.have.length(FLOOD - CAP);
        const { code, transcript } = await h.swaks([
          '--to',
          alice.address(),
          '--from',
          'a@example.org',
        ]);
        expect(code, transcript).to.equal(0);
        expect(transcript).to.match(/<- {2}250 2\.0\.0 Message accepted/);
        expect(await h.count(alice.user)).to.equal(1);
        expect(await limitCount(h, 'evicted')).to.be.at.least(FLOOD - CAP + 1);
      } finally {
        flood.destroy();
      }
    });

    it('never closes a connection in a transaction: when all are busy, a newcomer gets 421', async () => {
      const alice = await h.addUser();
      const busy: SmtpClient[] = [];
      try {
        for (let i = 0; i < CAP; i++) {
          const client = await SmtpClient.ready(h.port);
          await client.command('MAIL FROM:<a@example.org>', 250);
          busy.push(client);
        }
        const newcomer = await SmtpClient.connect(h.port);
        const reply = await newcomer.expect(421);
        expect(reply.raw).to.equal('421 4.4.5 Too many connections, try again later');
        expect(await limitCount(h, 'refused')).to.equal(1);
        // Every busy session is intact and can finish its message.
        const first = busy[0] as SmtpClient;
        await first.command(`RCPT TO:<${alice.address()}>`, 250);
        await first.command('DATA', 354);
        await first.command('Subject: busy\r\n\r\nstill here\r\n.', 250);
      } finally {
        for (const client of busy) client.destroy();
      }
    });
  });

  describe('the per-host cap', () => {
    let h: SmtpHarness;

    before(async () => {
      h = await SmtpHarness.start({
        settings: { limits: { smtp: { maxConnections: 100, maxConnectionsPerHost: 3 } } },
      });
    });
    after(async () => {
      await h?.close();
    });

    it('a fourth connection from one host gets 421, and a slot freed is taken again', async () => {
      const clients = [await SmtpClient.ready(h.port), await SmtpClient.ready(h.port)];
      clients.push(await SmtpClient.ready(h.port));
      const fourth = await SmtpClient.connect(h.port);
      const reply = await fourth.expect(421);
      expect(reply.raw).to.equal('421 4.7.0 Too many connections from your host, try again later');
      expect(await limitCount(h, 'host_limit')).to.equal(1);
      await (clients[0] as SmtpClient).quit();
      // Haraka counts the slot free once it has seen the socket close.
      const deadline = Date.now() + 10_000;
      for (;;) {
        const again = await SmtpClient.connect(h.port);
        const greeting = await again.reply();
        again.destroy();
        if (greeting.code === 220) break;
        if (Date.now() > deadline) throw new Error(`still refused: ${greeting.raw}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      for (const client of clients.slice(1)) await client.quit();
    });
  });
});
