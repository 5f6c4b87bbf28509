/**
 * SMTP counters live in the Haraka child; the parent's admin listener must serve them. This runs
 * the real chain: Haraka child → IPC → aggregatedMetrics → /metrics over HTTP.
 */
import { expect } from 'chai';
import type { RunningServer } from '../../src/util/running-server';
import { startAdminServer } from '../../src/metrics/admin-server';
import { aggregatedMetrics } from '../../src/metrics/child-metrics';
import { SmtpHarness } from './helpers/harness';
import { SmtpClient } from './helpers/smtp-client';

describe('smtp: metrics from the Haraka child', function () {
  this.timeout(60_000);
  let h: SmtpHarness;
  let admin: RunningServer;

  before(async () => {
    h = await SmtpHarness.start();
    admin = await startAdminServer(
      h.deps,
      aggregatedMetrics(h.deps.metrics.registry, () => [h.haraka.process]),
      { port: 0 },
    );
  });
  after(async () => {
    await admin?.close();
    await h?.close();
  });

  async function scrape(): Promise<Map<string, number>> {
    const text = await (await fetch(`http://127.0.0.1:${admin.port}/metrics`)).text();
    const values = new Map<string, number>();
    for (const line of text.split('\n')) {
      const match = /^(kzymy_[a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$/.exec(line);
      if (match) values.set(match[1] as string, Number(match[2]));
    }
    return values;
  }

  it('counts accepted mail, refusals by reason and delivery latency, with no per-user label', async () => {
    const alice = await h.addUser();
    await h.deps.store.users.disableAddress(alice.user.id, 'leaked');
    const client = await SmtpClient.ready(h.port);
    await client.command('MAIL FROM:<sender@example.org>', 250);
    await client.command(`RCPT TO:<${alice.address('leaked')}>`, 550);
    await client.command('RCPT TO:<victim@example.com>', 550);
    await client.command(`RCPT TO:<x@nosuchuser.${h.domain}>`, 550);
    await client.command(`RCPT TO:<${alice.address('shop')}>`, 250);
    await client.command('DATA', 354);
    await client.command('Subject: counted\r\n\r\nbody\r\n.', 250);
    await client.quit();

    const values = await scrape();
    expect(values.get('kzymy_messages_accepted_total')).to.equal(1);
    expect(values.get('kzymy_messages_refused_total{reason="disabled_address"}')).to.equal(1);
    expect(values.get('kzymy_messages_refused_total{reason="foreign_domain"}')).to.equal(1);
    expect(values.get('kzymy_messages_refused_total{reason="unknown_user"}')).to.equal(1);
    expect(values.get('kzymy_delivery_seconds_count')).to.equal(1);
    const text = await (await fetch(`http://127.0.0.1:${admin.port}/metrics`)).text();
    expect(text).not.to.include(alice.user.username);
    expect(text).not.to.include(alice.user.id);
  });
});
