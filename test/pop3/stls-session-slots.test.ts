/**
 * A POP3 session that used STLS gives back its place in the listener's gate and its user's
 * session count when it ends (src/pop3/engine.ts connect). The engine takes every listener off
 * the socket for STLS, the gate's among them: found while merging the fuzzing work onto the
 * connection limits, with maxSessionsPerUser sessions over STLS the owner was shut out of POP3
 * until the daemon restarted.
 */
import { expect } from 'chai';
import { startPop3Servers, type Pop3Servers } from '../../src/pop3/server';
import { createAccount, type TestAccount } from '../helpers/mail-fixtures';
import { RawPop3 } from '../helpers/raw-pop3';
import { makeTestDeps, type TestDeps } from '../helpers/deps';

describe('POP3: sessions that used STLS give back their slots', function () {
  this.timeout(60_000);
  let deps: TestDeps;
  let servers: Pop3Servers;
  let account: TestAccount;

  before(async () => {
    // One session per user: a slot that is not given back shows at the next login.
    deps = await makeTestDeps({
      pop3: { port: 0, tlsPort: 0 },
      limits: { pop3: { maxSessionsPerUser: 1 } },
    });
    servers = await startPop3Servers(deps);
    account = await createAccount(deps);
  });
  after(async () => {
    await servers?.plain.close();
    await servers?.tls.close();
    await deps?.close();
  });

  /** Logs in over the plain listener and QUITs; the PASS answer. */
  async function plainLogin(): Promise<string> {
    const { client } = await RawPop3.connect({ port: servers.plain.port });
    expect(await client.command(`USER ${account.user.username}`)).to.match(/^\+OK/);
    const answer = await client.command(`PASS ${account.password}`);
    // After -ERR [IN-USE] the server has closed the connection already.
    await client.quit().catch(() => '');
    return answer;
  }

  it('three sessions in a row over STLS each log in (one session allowed per user)', async () => {
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { client } = await RawPop3.connect({ port: servers.plain.port });
      expect(await client.command('STLS')).to.equal('+OK Begin TLS negotiation');
      await client.startTls();
      expect(await client.command(`USER ${account.user.username}`)).to.match(/^\+OK/);
      answers.push(await client.command(`PASS ${account.password}`));
      await client.quit();
    }
    expect(answers).to.deep.equal(Array(3).fill('+OK maildrop has 0 messages (0 octets)'));
  });

  it('a logged-in session that said STLS (refused: RFC 2595 §4) and hung up gives its session back', async () => {
    const { client } = await RawPop3.connect({ port: servers.plain.port });
    expect(await client.command(`USER ${account.user.username}`)).to.match(/^\+OK/);
    expect(await client.command(`PASS ${account.password}`)).to.match(/^\+OK/);
    expect(await client.command('STLS')).to.equal('-ERR STLS is only permitted before logging in');
    client.socket.end();
    // The engine's close reaches the gate a moment after the client's FIN.
    let answer = '';
    for (let i = 0; i < 50 && !answer.startsWith('+OK'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      answer = await plainLogin();
    }
    expect(answer).to.equal('+OK maildrop has 0 messages (0 octets)');
  });
});
