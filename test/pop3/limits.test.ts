/**
 * Bounded resources on the POP3 listeners (src/pop3/limits.ts, src/connection-limits/gate.ts):
 * a flood of idle connections beyond the cap does not keep fetchmail out, on STLS and POP3S; a
 * listener full of logged-in sessions answers [SYS/TEMP]; the per-user cap answers [IN-USE]; the
 * login deadline; long lines are refused without an echo, and
 * a command split across packets is read whole (the engine alone dropped its first part).
 */
import { expect } from 'chai';
import { startPop3Servers, type Pop3Servers } from '../../src/pop3/server';
import type { KzymyConfig } from '../../src/config/schema';
import { makeTestDeps, type TestDeps } from '../helpers/deps';
import { createAccount, mailboxWithMail, PgpFixture } from '../helpers/mail-fixtures';
import { RawPop3 } from '../helpers/raw-pop3';
import { runFetchmail } from '../helpers/debian-clients';
import { Flood, limitCount, untilOpen } from '../helpers/flood';

type Pop3Limits = Partial<KzymyConfig['limits']['pop3']>;

interface Running {
  deps: TestDeps;
  servers: Pop3Servers;
  close(): Promise<void>;
}

async function startPop3(limits: Pop3Limits): Promise<Running> {
  const deps = await makeTestDeps({ pop3: { port: 0, tlsPort: 0 }, limits: { pop3: limits } });
  const servers = await startPop3Servers(deps);
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

describe('POP3: bounded resources', function () {
  this.timeout(120_000);
  let pgp: PgpFixture;

  before(async () => {
    pgp = await PgpFixture.create();
  });
  after(async () => {
    await pgp?.dispose();
  });

  describe('a flood of idle connections', () => {
    const CAP = 8;
    const FLOOD = 40;
    let running: Running;

    before(async () => {
      running = await startPop3({ maxConnections: CAP, loginTimeoutSeconds: 600 });
    });
    after(async () => {
      await running?.close();
    });

    for (const listener of ['plain', 'tls'] as const) {
      it(`${FLOOD} idle connections on a cap of ${CAP} (${listener === 'tls' ? 'POP3S' : 'POP3'}): fetchmail still fetches`, async () => {
        const { deps, servers } = running;
        const { account, stored } = await mailboxWithMail({ deps, pgp }, 2);
        const flood = await Flood.open(servers[listener].port, FLOOD);
        try {
          await flood.closedUntil((closed) => closed === FLOOD - CAP);
          expect(flood.open).to.equal(CAP);
          if (listener === 'plain') {
            // Each pushed out with RFC 3206 SYS/TEMP after its greeting, never a word of its own.
            const evictedWith = [...flood.received.values()].filter((text) =>
              text.endsWith('\r\n-ERR [SYS/TEMP] Server busy, closing an idle connection\r\n'),
            );
            expect(evictedWith).to.have.length(FLOOD - CAP);
          }
          const { result, delivered } = await runFetchmail('POP3', {
            port: servers[listener].port,
            username: account.user.username,
            password: account.password,
            tls: listener === 'tls',
          });
          expect(result.code, `${result.stdout}${result.stderr}`).to.equal(0);
          expect(delivered).to.have.length(stored.length);
          await flood.closedUntil((closed) => closed === FLOOD - CAP + 1);
          const name = listener === 'tls' ? 'pop3s' : 'pop3';
          expect(await limitCount(deps.metrics, name, 'evicted')).to.be.at.least(FLOOD - CAP + 1);
        } finally {
          flood.destroy();
        }
      });
    }
  });

  describe('a listener full of logged-in sessions', () => {
    let running: Running;

    before(async () => {
      running = await startPop3({ maxConnections: 2 });
    });
    after(async () => {
      await running?.close();
    });

    it('refuses a newcomer with -ERR [SYS/TEMP], and takes it again once a session ends', async () => {
      const port = running.servers.plain.port;
      const sessions: RawPop3[] = [];
      for (let i = 0; i < 2; i++) {
        const account = await createAccount(running.deps);
        const { client } = await RawPop3.connect({ port });
        expect(await client.command(`USER ${account.user.username}`)).to.match(/^\+OK/);
        expect(await client.command(`PASS ${account.password}`)).to.match(/^\+OK/);
        sessions.push(client);
      }
      const newcomer = await Flood.open(port, 1);
      await newcomer.closedUntil((closed) => closed === 1);
      // Instead of the greeting: a temporary refusal, then the connection is closed.
      expect([...newcomer.received.values()]).to.deep.equal([
        '-ERR [SYS/TEMP] Too many connections, try again later\r\n',
      ]);
      expect(await limitCount(running.deps.metrics, 'pop3', 'refused')).to.equal(1);
      await sessions[0]?.quit();
      await untilOpen(running.deps.metrics, 'pop3', 1);
      const { client: later, greeting } = await RawPop3.connect({ port });
      expect(greeting).to.match(/^\+OK/);
      await later.quit();
      await sessions[1]?.quit();
    });
  });

  describe('sessions and lines', () => {
    let running: Running;

    before(async () => {
      running = await startPop3({ maxSessionsPerUser: 1, loginTimeoutSeconds: 2 });
    });
    after(async () => {
      await running?.close();
    });

    it('a second session of a user limited to one gets -ERR [IN-USE]', async () => {
      const account = await createAccount(running.deps);
      const port = running.servers.plain.port;
      const { client: first } = await RawPop3.connect({ port });
      expect(await first.command(`USER ${account.user.username}`)).to.match(/^\+OK/);
      expect(await first.command(`PASS ${account.password}`)).to.match(/^\+OK/);
      const { client: second } = await RawPop3.connect({ port });
      expect(await second.command(`USER ${account.user.username}`)).to.match(/^\+OK/);
      expect(await second.command(`PASS ${account.password}`)).to.equal(
        '-ERR [IN-USE] Too many sessions for this account',
      );
      expect(await limitCount(running.deps.metrics, 'pop3', 'user_limit')).to.equal(1);
      await first.quit();
      await untilOpen(running.deps.metrics, 'pop3', 0);
      const { client: third } = await RawPop3.connect({ port });
      expect(await third.command(`USER ${account.user.username}`)).to.match(/^\+OK/);
      expect(await third.command(`PASS ${account.password}`)).to.match(/^\+OK/);
      await third.quit();
    });

    it('closes a connection that has not logged in within loginTimeoutSeconds', async () => {
      const { client } = await RawPop3.connect({ port: running.servers.plain.port });
      // Talking is not logging in: the CAPA listing, then the goodbye.
      expect(await client.command('CAPA')).to.match(/^\+OK/);
      let line = '';
      while (!line.startsWith('-ERR')) line = await client.readLine(5000);
      expect(line).to.equal('-ERR Autologout; no login in time');
    });

    it('a 1 MB line gets a short -ERR, not an echo, and the session ends', async () => {
      const { client } = await RawPop3.connect({ port: running.servers.plain.port });
      client.socket.write(`${'X'.repeat(1024 * 1024)}\r\n`);
      expect(await client.readLine(20_000)).to.equal('-ERR Command line too long');
      expect(await limitCount(running.deps.metrics, 'pop3', 'line_too_long')).to.equal(1);
    });

    it('a command split across packets is read whole', async () => {
      const { client } = await RawPop3.connect({ port: running.servers.plain.port });
      client.socket.write('CA');
      await new Promise((resolve) => setTimeout(resolve, 100));
      client.socket.write('PA\r\n');
      expect(await client.readLine(5000)).to.equal('+OK Capability list follows');
      client.destroy();
    });
  });
});
