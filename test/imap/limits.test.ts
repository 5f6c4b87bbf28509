/**
 * Bounded resources on the IMAP listeners (src/imap/limits.ts, src/connection-limits/gate.ts):
 * a flood of idle connections beyond the cap does not keep a real client (fetchmail) out, on the
 * STARTTLS and the implicit-TLS listener; a listener full of logged-in sessions refuses; the login
 * deadline; the per-user cap; and long bad input answered short, never echoed.
 */
import { expect } from 'chai';
import { startImapServers, type ImapServers } from '../../src/imap/server';
import type { KzymyConfig } from '../../src/config/schema';
import { makeTestDeps, type TestDeps } from '../helpers/deps';
import {
  createAccount,
  mailboxWithMail,
  PgpFixture,
  type TestAccount,
} from '../helpers/mail-fixtures';
import { RawImap } from '../helpers/raw-imap';
import { runFetchmail } from '../helpers/debian-clients';
import { Flood, limitCount, untilOpen } from '../helpers/flood';

type ImapLimits = Partial<KzymyConfig['limits']['imap']>;

interface Running {
  deps: TestDeps;
  servers: ImapServers;
  close(): Promise<void>;
}

async function startImap(limits: ImapLimits): Promise<Running> {
  const deps = await makeTestDeps({ imap: { port: 0, tlsPort: 0 }, limits: { imap: limits } });
  const servers = await startImapServers(deps);
  return {
    deps,
    servers,
    async close() {
      await servers.plain.close();
      await servers.tls.close();
      await deps.close();
    },
  };
}

describe('IMAP: bounded resources', function () {
  this.timeout(120_000);
  let pgp: PgpFixture;

  before(async () => {
    pgp = await PgpFixture.create();
  });
  after(async () => {
    await pgp?.dispose();
  });

  describe('a flood of idle connections', () => {
    const CAP = 10;
    const FLOOD = 60;
    let running: Running;

    before(async () => {
      // A login timeout far beyond the test: only the cap and eviction are at work here.
      running = await startImap({ maxConnections: CAP, loginTimeoutSeconds: 600 });
    });
    after(async () => {
      await running?.close();
    });

    for (const listener of ['plain', 'tls'] as const) {
      it(`${FLOOD} idle connections on a cap of ${CAP} (${listener === 'tls' ? 'IMAPS' : 'IMAP'}): fetchmail still fetches`, async () => {
        const { deps, servers } = running;
        const { account, stored } = await mailboxWithMail({ deps, pgp }, 2);
        const flood = await Flood.open(servers[listener].port, FLOOD);
        try {
          // Each newcomer past the cap pushed the flood's oldest connection out.
          await flood.closedUntil((closed) => closed === FLOOD - CAP);
          expect(flood.open).to.equal(CAP);
          if (listener === 'plain') {
            const evictedWith = [...flood.received.values()].filter((text) =>
              text.includes('* BYE [UNAVAILABLE] Server busy, closing an idle connection'),
            );
            expect(evictedWith).to.have.length(FLOOD - CAP);
          }

          const { result, delivered } = await runFetchmail('IMAP', {
            port: servers[listener].port,
            username: account.user.username,
            password: account.password,
            tls: listener === 'tls',
          });
          expect(result.code, `${result.stdout}${result.stderr}`).to.equal(0);
          expect(delivered).to.have.length(stored.length);
          // fetchmail's connection took the slot of one more idle connection.
          await flood.closedUntil((closed) => closed === FLOOD - CAP + 1);
          const name = listener === 'tls' ? 'imaps' : 'imap';
          expect(await limitCount(deps.metrics, name, 'evicted')).to.be.at.least(FLOOD - CAP + 1);
          expect(await limitCount(deps.metrics, name, 'refused')).to.equal(0);
        } finally {
          flood.destroy();
        }
      });
    }
  });

  describe('logged-in sessions', () => {
    let running: Running;
    let alice: TestAccount;
    let bob: TestAccount;

    before(async () => {
      running = await startImap({ maxConnections: 3, maxSessionsPerUser: 2 });
      alice = await createAccount(running.deps);
      bob = await createAccount(running.deps);
    });
    after(async () => {
      await running?.close();
    });

    it('a user past her session cap gets NO [LIMIT]; a session ending frees one', async () => {
      const port = running.servers.plain.port;
      const first = await RawImap.connect({ port });
      await first.login(alice.user.username, alice.password);
      const second = await RawImap.connect({ port });
      await second.login(alice.user.username, alice.password);
      const third = await RawImap.connect({ port });
      const refused = await third.command(`LOGIN ${alice.user.username} "${alice.password}"`);
      expect(refused.tagged).to.match(/^t1 NO \[LIMIT\] Too many sessions for this account$/);
      await first.logout();
      await untilOpen(running.deps.metrics, 'imap', 2);
      await third.login(alice.user.username, alice.password);
      expect(await limitCount(running.deps.metrics, 'imap', 'user_limit')).to.equal(1);
      await second.logout();
      await third.logout();
    });

    it('a listener full of logged-in sessions refuses a newcomer with BYE, and takes it again later', async () => {
      const port = running.servers.plain.port;
      const sessions: RawImap[] = [];
      for (const account of [alice, alice, bob]) {
        const client = await RawImap.connect({ port });
        await client.login(account.user.username, account.password);
        sessions.push(client);
      }
      const newcomer = await Flood.open(port, 1);
      await newcomer.closedUntil((closed) => closed === 1);
      // RFC 3501 §7.1.5: BYE as the greeting.
      expect([...newcomer.received.values()]).to.deep.equal([
        '* BYE [UNAVAILABLE] Too many connections, try again later\r\n',
      ]);
      expect(await limitCount(running.deps.metrics, 'imap', 'refused')).to.equal(1);
      await sessions[0]?.logout();
      await untilOpen(running.deps.metrics, 'imap', 2);
      const later = await RawImap.connect({ port });
      await later.login(bob.user.username, bob.password);
      await later.logout();
      for (const client of sessions.slice(1)) await client.logout();
    });
  });

  describe('the login deadline', () => {
    let running: Running;

    before(async () => {
      running = await startImap({ loginTimeoutSeconds: 1 });
    });
    after(async () => {
      await running?.close();
    });

    it('closes a connection that has not logged in within loginTimeoutSeconds', async () => {
      const client = await RawImap.connect({ port: running.servers.plain.port });
      // Talking is not logging in.
      await client.command('NOOP');
      const bye = await client.waitFor((line) => line.text.startsWith('* BYE'), 5000);
      expect(bye.text).to.equal('* BYE Autologout; no login in time');
      expect(await limitCount(running.deps.metrics, 'imap', 'login_timeout')).to.equal(1);
    });

    it('leaves a logged-in session alone', async () => {
      const account = await createAccount(running.deps);
      const client = await RawImap.connect({ port: running.servers.plain.port });
      await client.login(account.user.username, account.password);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await client.command('NOOP')).status).to.equal('OK');
      await client.logout();
    });
  });

  describe('long bad input', () => {
    let running: Running;

    before(async () => {
      running = await startImap({ maxCommandBytes: 65536 });
    });
    after(async () => {
      await running?.close();
    });

    it('a 1 MB bad command gets a short BAD, without the echo, and the session goes on', async () => {
      const client = await RawImap.connect({ port: running.servers.plain.port });
      const before = client.received;
      client.write(`a1 ${'X'.repeat(1024 * 1024)}\r\n`);
      const bad = await client.waitFor((line) => line.text.startsWith('a1 '), 20_000);
      expect(bad.text).to.equal('a1 BAD Command line too long');
      expect((await client.command('NOOP')).status).to.equal('OK');
      // Greeting aside, a few short lines came back for a megabyte sent.
      expect(client.received - before).to.be.below(200);
      expect(await limitCount(running.deps.metrics, 'imap', 'line_too_long')).to.equal(1);
      await client.logout();
    });

    it('the same line sent in one piece, with its end, is refused the same way', async () => {
      const client = await RawImap.connect({ port: running.servers.plain.port });
      // 100 KB sent in one write: the line may reach the parser whole.
      client.write(`a2 ${'Z'.repeat(100 * 1024)}\r\na3 NOOP\r\n`);
      const bad = await client.waitFor((line) => line.text.startsWith('a2 '), 20_000);
      expect(bad.text).to.equal('a2 BAD Command line too long');
      const ok = await client.waitFor((line) => line.text.startsWith('a3 '), 20_000);
      expect(ok.text).to.match(/^a3 OK/);
      await client.logout();
    });

    it('an unknown command name of 8 KB is answered without echoing it', async () => {
      const client = await RawImap.connect({ port: running.servers.plain.port });
      const name = 'Y'.repeat(8 * 1024);
      const before = client.received;
      const reply = await client.command(name);
      expect(reply.tagged).to.equal('t1 BAD Unknown command');
      expect(client.received - before).to.be.below(100);
      // A short unknown name is still named, as the engine does.
      expect((await client.command('FOO')).tagged).to.equal('t2 BAD Unknown command: FOO');
      await client.logout();
    });

    it('a command line split across packets is still read whole', async () => {
      const client = await RawImap.connect({ port: running.servers.plain.port });
      client.write('a4 NO');
      await new Promise((resolve) => setTimeout(resolve, 100));
      client.write('OP\r\n');
      const ok = await client.waitFor((line) => line.text.startsWith('a4 '), 5000);
      expect(ok.text).to.match(/^a4 OK/);
      await client.logout();
    });
  });
});
