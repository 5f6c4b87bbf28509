/**
 * POP3 (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH PLAIN) as kzymy serves it, and
 * delete-after-fetch: QUIT deletes every RETR'd message, DELE or not; any other end deletes
 * nothing.
 */
import { expect } from 'chai';
import { startPop3Servers } from '../../src/pop3/server';
import { makeTestDeps, type TestDeps } from '../helpers/deps';
import {
  createAccount,
  PgpFixture,
  storeMessages,
  type TestAccount,
} from '../helpers/mail-fixtures';
import { RawPop3 } from '../helpers/raw-pop3';
import { waitForLog } from '../helpers/deps';
import { useMailboxServers, type MailboxServers } from '../helpers/mailbox-servers';

describe('POP3 protocol and delete-after-fetch', function () {
  this.timeout(60_000);
  const fixture = useMailboxServers('pop3');
  let deps: TestDeps;
  let servers: MailboxServers['servers'];
  let pgp: PgpFixture;
  before(() => ({ deps, servers, pgp } = fixture));

  async function login(
    account: TestAccount,
    port = servers.plain.port,
    tls = false,
  ): Promise<RawPop3> {
    const { client } = await RawPop3.connect({ port, tls });
    expect(await client.command(`USER ${account.user.username}`)).to.match(/^\+OK/);
    expect(await client.command(`PASS ${account.password}`)).to.match(/^\+OK maildrop has/);
    return client;
  }

  async function remainingUids(account: TestAccount): Promise<number[]> {
    return (await deps.store.messages.list(account.user.id)).map((message) => message.uid);
  }

  it('greets without the client address; CAPA lists what is there', async function () {
    const { client, greeting } = await RawPop3.connect({ port: servers.plain.port });
    expect(greeting).to.equal('+OK kzymy POP3 server ready');
    const capa = await client.multi('CAPA');
    expect(capa.data.toString().trim().split('\r\n')).to.deep.equal([
      'TOP',
      'UIDL',
      'USER',
      'RESP-CODES',
      'SASL PLAIN',
      'PIPELINING',
      'STLS',
    ]);
    await client.quit();
  });

  it("STAT, LIST, UIDL, RETR, TOP; DELE keeps the other numbers; RSET; QUIT deletes what was RETR'd or DELE'd", async function () {
    const account = await createAccount(deps);
    const stored = await storeMessages(deps, pgp, account.user.id, 4);
    const sizes = stored.map((m) => m.ciphertext.length);
    const total = sizes.reduce((a, b) => a + b, 0);
    const user = await deps.store.users.byId(account.user.id);
    const client = await login(account);
    expect(await client.command('STAT')).to.equal(`+OK 4 ${total}`);
    const list = await client.multi('LIST');
    expect(list.status).to.equal(`+OK 4 messages (${total} octets)`);
    expect(list.data.toString()).to.equal(sizes.map((size, i) => `${i + 1} ${size}\r\n`).join(''));
    const uidl = await client.multi('UIDL');
    expect(uidl.data.toString()).to.equal(
      stored.map((m, i) => `${i + 1} ${user?.uidValidity}.${m.uid}\r\n`).join(''),
    );
    // RETR: byte-exact, dot-stuffing undone.
    const retr = await client.multi('RETR 2');
    expect(retr.status).to.equal(`+OK ${sizes[1]} octets`);
    expect(retr.data).to.deep.equal(stored[1]!.ciphertext);
    // TOP: the header and n body lines, not a fetch.
    const top = await client.multi('TOP 3 2');
    const head = stored[2]!.ciphertext.toString('latin1');
    const headerEnd = head.indexOf('\r\n\r\n') + 4;
    const twoLines = head.slice(headerEnd).split('\r\n').slice(0, 2).join('\r\n') + '\r\n';
    expect(top.data.toString('latin1')).to.equal(head.slice(0, headerEnd) + twoLines);
    // The RETR'd message is marked received once its bytes have left, before the server reads
    // the next command: by TOP's answer (not necessarily by RETR's last byte, which the client
    // may read before the server has seen its write complete).
    expect(
      (await deps.store.messages.byUid(account.user.id, stored[1]!.uid))?.fetchedAt,
    ).to.be.instanceOf(Date);
    expect((await deps.store.messages.byUid(account.user.id, stored[2]!.uid))?.fetchedAt).to.equal(
      null,
    );
    // DELE 1: message 1 is gone from LIST, the others keep their numbers (RFC 1939 §5).
    expect(await client.command('DELE 1')).to.equal('+OK message 1 deleted');
    const afterDele = await client.multi('LIST');
    expect(afterDele.data.toString()).to.equal(
      sizes
        .slice(1)
        .map((size, i) => `${i + 2} ${size}\r\n`)
        .join(''),
    );
    expect(await client.command('LIST 1')).to.match(/^-ERR/);
    expect(await client.command('UIDL 4')).to.equal(`+OK 4 ${user?.uidValidity}.${stored[3]!.uid}`);
    expect(await client.command('RETR 1')).to.match(/^-ERR/);
    // RSET undoes DELE only; DELE 4 again.
    expect(await client.command('RSET')).to.match(/^\+OK maildrop has 4 messages/);
    expect(await client.command('DELE 4')).to.match(/^\+OK/);
    expect(await client.command('NOOP')).to.equal('+OK');
    expect(await client.quit()).to.equal('+OK kzymy signing off (2 messages deleted)');
    // RETR'd 2 without DELE, DELE'd 4 without RETR: both gone; 1 (RSET) and 3 (TOP) stay.
    expect(await remainingUids(account)).to.deep.equal([stored[0]!.uid, stored[2]!.uid]);
  });

  it('answers an unknown command with -ERR and goes on (RFC 1939 §3), up to a limit', async function () {
    const account = await createAccount(deps);
    await storeMessages(deps, pgp, account.user.id, 1);
    const client = await login(account);
    // fetchmail's default poll sends LAST (RFC 1460, obsolete) and falls back to UIDL on -ERR.
    expect(await client.command('LAST')).to.equal('-ERR unknown command');
    expect(await client.command('STAT')).to.match(/^\+OK 1 \d+$/);
    for (let i = 2; i < 10; i++)
      expect(await client.command('XTND XMIT')).to.equal('-ERR unknown command');
    // The tenth unknown command ends the session: a client that speaks nothing else is cut off.
    expect(await client.command('NONSENSE')).to.equal('-ERR unknown command');
    const after = await client.command('STAT').then(
      (reply) => reply,
      (error: Error) => error.message,
    );
    expect(after).to.equal('POP3 connection closed');
  });

  it('deletes nothing when the connection drops before QUIT; RETR left fetchedAt', async function () {
    const account = await createAccount(deps);
    const stored = await storeMessages(deps, pgp, account.user.id, 2);
    const from = deps.logLines.length;
    const client = await login(account);
    await client.multi('RETR 1');
    await client.command('DELE 1');
    client.destroy();
    await waitForLog(
      deps.logLines,
      'pop3.session_closed',
      (r) => r.quit === false && r.received === 1,
      { from },
    );
    expect(await remainingUids(account)).to.deep.equal(stored.map((m) => m.uid));
    expect(
      (await deps.store.messages.byUid(account.user.id, stored[0]!.uid))?.fetchedAt,
    ).to.be.instanceOf(Date);
  });

  it('AUTH PLAIN with an initial response and with a continuation; one text for every failure', async function () {
    const account = await createAccount(deps);
    const token = Buffer.from(`\0${account.user.username}\0${account.password}`).toString('base64');
    const { client: first } = await RawPop3.connect({ port: servers.plain.port });
    expect(await first.command(`AUTH PLAIN ${token}`)).to.match(/^\+OK maildrop has 0 messages/);
    await first.quit();
    const { client: second } = await RawPop3.connect({ port: servers.plain.port });
    expect(await second.command('AUTH PLAIN')).to.equal('+ ');
    expect(await second.command(token)).to.match(/^\+OK/);
    await second.quit();
    const replies = new Set<string>();
    for (const [user, password] of [
      [account.user.username, 'wrong'],
      ['nosuchuser', account.password],
    ]) {
      const { client } = await RawPop3.connect({ port: servers.plain.port });
      await client.command(`USER ${user}`);
      replies.add(await client.command(`PASS ${password}`));
      await client.quit();
    }
    expect([...replies]).to.deep.equal(['-ERR [AUTH] Authentication failed']);
  });

  it('refuses STLS after login (RFC 2595 §4: AUTHORIZATION state only) and goes on', async function () {
    const account = await createAccount(deps);
    const client = await login(account);
    expect(await client.command('STLS')).to.equal('-ERR STLS is only permitted before logging in');
    expect(await client.command('STAT')).to.equal('+OK 0 0');
    await client.quit();
  });

  it('STLS and implicit TLS; a non-loopback listener refuses USER before TLS', async function () {
    const account = await createAccount(deps);
    await storeMessages(deps, pgp, account.user.id, 1);
    const { client } = await RawPop3.connect({ port: servers.plain.port });
    expect(await client.command('STLS')).to.equal('+OK Begin TLS negotiation');
    await client.startTls();
    const capa = await client.multi('CAPA');
    expect(capa.data.toString()).not.to.contain('STLS');
    expect(await client.command(`USER ${account.user.username}`)).to.match(/^\+OK/);
    expect(await client.command(`PASS ${account.password}`)).to.match(
      /^\+OK maildrop has 1 message/,
    );
    await client.quit();
    const tls = await login(account, servers.tls.port, true);
    await tls.quit();

    const wide = await makeTestDeps({ pop3: { host: '0.0.0.0', port: 0, tlsPort: 0 } });
    const wideServers = await startPop3Servers(wide);
    try {
      const other = await createAccount(wide);
      const { client: plain } = await RawPop3.connect({ port: wideServers.plain.port });
      const wideCapa = await plain.multi('CAPA');
      expect(wideCapa.data.toString()).not.to.match(/USER|SASL/);
      expect(await plain.command(`USER ${other.user.username}`)).to.match(/^-ERR/);
      expect(await plain.command('STLS')).to.match(/^\+OK/);
      await plain.startTls();
      expect(await plain.command(`USER ${other.user.username}`)).to.match(/^\+OK/);
      expect(await plain.command(`PASS ${other.password}`)).to.match(/^\+OK/);
      await plain.quit();
    } finally {
      await wideServers.plain.close();
      await wideServers.tls.close();
      await wide.close();
    }
  });
});
