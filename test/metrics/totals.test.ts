/**
 * The operator's totals on /metrics, from a real daemon's parts over the run's store (sqlite, or
 * FerretDB with KZYMY_TEST_STORE=mongodb) and Redis: stored messages and bytes, accounts by state, open IMAP and POP3 sessions, signups,
 * proof-of-work failures and the sweeper's last run — and no label that could name a user.
 */
import { expect } from 'chai';
import { startImapServers, type ImapServers } from '../../src/imap/server';
import { registerStoreTotals } from '../../src/metrics/totals';
import { startPop3Servers, type Pop3Servers } from '../../src/pop3/server';
import { startSweeper } from '../../src/sweeper/sweeper';
import { startWebServer } from '../../src/web/server';
import type { RunningServer } from '../../src/util/running-server';
import { createAccount } from '../helpers/mail-fixtures';
import { RawImap } from '../helpers/raw-imap';
import { RawPop3 } from '../helpers/raw-pop3';
import { makeTestDeps, type TestDeps } from '../helpers/deps';
import { GpgHome } from '../helpers/gpg';
import { inputValue, WebClient } from '../web/helpers/http';
import { createAccount as solveAndCreate, submitKey } from '../web/helpers/signup';

describe('metrics: totals for the operator', function () {
  this.timeout(60_000);
  let deps: TestDeps;
  let imap: ImapServers;
  let pop3: Pop3Servers;
  let web: RunningServer;
  let gpg: GpgHome;

  before(async () => {
    deps = await makeTestDeps({
      imap: { port: 0, tlsPort: 0 },
      pop3: { port: 0, tlsPort: 0 },
      web: { host: '127.0.0.1', port: 0, powBits: 8 },
    });
    imap = await startImapServers(deps);
    pop3 = await startPop3Servers(deps);
    web = await startWebServer(deps);
    gpg = await GpgHome.create();
  });

  after(async () => {
    for (const server of [imap?.plain, imap?.tls, pop3?.plain, pop3?.tls, web])
      await server?.close();
    await gpg?.dispose();
    await deps?.close();
  });

  /** One metric's value from the registry's text output (labels as given, exactly). */
  async function value(name: string, labels = ''): Promise<number | undefined> {
    const text = await deps.metrics.registry.metrics();
    const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  }

  it('counts what is stored and who is there, and opens no per-user series', async () => {
    let now = 0;
    registerStoreTotals(deps.metrics.registry, deps.store, { now: () => now, maxAgeMs: 1000 });
    const active = await createAccount(deps);
    const other = await createAccount(deps);
    await deps.store.messages.add(active.user.id, Buffer.alloc(700, 'x'), new Date());
    await deps.store.messages.add(other.user.id, Buffer.alloc(300, 'y'), new Date());
    // Disabled by the operator: its mail stays stored.
    await deps.store.users.disable(other.user.id);
    now = 10_000;
    expect(await value('kzymy_stored_messages')).to.equal(2);
    expect(await value('kzymy_stored_bytes')).to.equal(1000);
    expect(await value('kzymy_users', '{state="active"}')).to.equal(1);
    expect(await value('kzymy_users', '{state="disabled"}')).to.equal(1);
    expect(await value('kzymy_users', '{state="pending"}')).to.equal(0);
    // Read at most once a maxAge: a new message shows at the next read.
    await deps.store.messages.add(active.user.id, Buffer.alloc(1), new Date());
    expect(await value('kzymy_stored_messages')).to.equal(2);
    now = 20_000;
    expect(await value('kzymy_stored_messages')).to.equal(3);
    expect(await value('kzymy_store_totals_age_seconds')).to.equal(0);

    // Sessions: open connections of each protocol, whoever they are.
    const a = await RawImap.connect({ port: imap.plain.port });
    const b = await RawImap.connect({ port: imap.tls.port, tls: true });
    const { client: c } = await RawPop3.connect({ port: pop3.plain.port });
    expect(await value('kzymy_sessions', '{protocol="imap"}')).to.equal(2);
    expect(await value('kzymy_sessions', '{protocol="pop3"}')).to.equal(1);
    await a.logout();
    b.destroy();
    await c.quit();

    // Signups and proof-of-work failures, through the real pages.
    const key = await gpg.generateKey('curve25519', 'nym');
    const armored = (await gpg.exportPublic(key.fingerprint)).toString('utf8');
    const client = new WebClient(`http://127.0.0.1:${web.port}`);
    const review = await submitKey(client, armored);
    const refused = await client.post('/signup/create', {
      csrf: inputValue(review.body, 'csrf'),
      key: inputValue(review.body, 'key'),
      challenge: inputValue(review.body, 'challenge'),
      // Not a nonce nor a stamp: wrong whatever the puzzle (a random number solves 8 bits 1 time in 256).
      pow: 'not-a-solution',
    });
    expect(refused.status).to.equal(422);
    expect(await value('kzymy_pow_failures_total', '{reason="wrong_solution"}')).to.equal(1);
    const created = await solveAndCreate(client, await submitKey(client, armored));
    expect(created.status).to.equal(200);
    expect(await value('kzymy_signups_total')).to.equal(1);

    // The sweeper's last run.
    expect(await value('kzymy_sweeper_last_run_timestamp_seconds')).to.equal(0);
    const sweeper = startSweeper(deps);
    const before = Date.now() / 1000;
    await sweeper.runOnce();
    await sweeper.stop();
    expect(await value('kzymy_sweeper_last_run_timestamp_seconds')).to.be.at.least(
      Math.floor(before),
    );

    // Every kzymy label is one of a fixed few, none of which can name a user (`state` is the
    // totals' own; the others are the registry's, test/metrics/admin.test.ts).
    const text = await deps.metrics.registry.metrics();
    const labels = new Set(
      [...text.matchAll(/^kzymy_[a-z_]+\{([^}]*)\}/gm)].flatMap((m) =>
        [...(m[1] ?? '').matchAll(/([a-z_]+)="/g)].map((l) => l[1]),
      ),
    );
    expect([...labels].sort()).to.deep.equal([
      'action',
      'le',
      'listener',
      'outcome',
      'protocol',
      'reason',
      'result',
      'service',
      'state',
      'version',
    ]);
    expect(text).not.to.include(active.user.username);
    expect(text).not.to.include(active.user.id);
  });
});
