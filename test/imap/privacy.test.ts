/**
 * Privacy canary (docs/architecture.md, invariants: "no client IP address in the database, logs or error output; no
 * reverse DNS of clients"). Clients connect from a distinctive loopback address, 127.77.88.99,
 * and do everything — log in, fail to log in, send garbage, fetch, get refused, break a TLS
 * handshake, log out — over IMAP and POP3, plain, STARTTLS and TLS. Afterwards the address is
 * nowhere: not in the database files, not in Redis, not in any log line or stdout/stderr
 * output, and no reverse lookup was asked for it.
 */
import dns from 'node:dns';
import { connect } from 'node:net';
import { expect } from 'chai';
import { ImapFlow } from 'imapflow';
import { startImapServers, type ImapServers } from '../../src/imap/server';
import { startPop3Servers, type Pop3Servers } from '../../src/pop3/server';
import { makeTestDeps, type TestDeps } from '../helpers/deps';
import { testDataDir } from '../helpers/services';
import { createAccount, PgpFixture, storeMessages } from '../helpers/mail-fixtures';
import { filesContaining } from '../helpers/programs';
import { RawImap } from '../helpers/raw-imap';
import { RawPop3 } from '../helpers/raw-pop3';
import { waitForLog } from '../helpers/deps';

const CANARY = '127.77.88.99';

describe('privacy canary: the client address is kept nowhere', function () {
  this.timeout(60_000);
  let deps: TestDeps;
  let imap: ImapServers;
  let pop3: Pop3Servers;
  let pgp: PgpFixture;
  const output: string[] = [];
  const reverseLookups: string[] = [];
  const restore: Array<() => void> = [];

  before(async function () {
    deps = await makeTestDeps({ imap: { port: 0, tlsPort: 0 }, pop3: { port: 0, tlsPort: 0 } });
    imap = await startImapServers(deps);
    pop3 = await startPop3Servers(deps);
    pgp = await PgpFixture.create();
    // Observe (and pass through) everything the process prints and every reverse lookup.
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        output.push(String(chunk));
        return write(chunk, ...rest);
      }) as typeof stream.write;
      restore.push(() => (stream.write = write as typeof stream.write));
    }
    const reverse = dns.reverse;
    dns.reverse = ((ip: string, callback: Parameters<typeof dns.reverse>[1]) => {
      reverseLookups.push(ip);
      return reverse(ip, callback);
    }) as typeof dns.reverse;
    restore.push(() => (dns.reverse = reverse));
  });

  after(async function () {
    for (const undo of restore.reverse()) undo();
    for (const servers of [imap, pop3]) {
      await servers?.plain.close();
      await servers?.tls.close();
    }
    await pgp?.dispose();
    await deps?.close();
  });

  it('after IMAP and POP3 sessions of every kind from 127.77.88.99', async function () {
    const account = await createAccount(deps);
    await storeMessages(deps, pgp, account.user.id, 4);
    const from = { localAddress: CANARY };

    // IMAP: a failed login, garbage, refusals, STARTTLS, fetch, logout.
    const plain = await RawImap.connect({ port: imap.plain.port, ...from });
    expect(plain.greeting).not.to.contain(CANARY);
    await plain.command('LOGIN nobody "wrong"');
    await plain.command('FROBNICATE');
    plain.write('no tag at all\r\n');
    await plain.startTls();
    await plain.login(account.user.username, account.password);
    await plain.command('SELECT INBOX');
    plain.write('a1 APPEND INBOX {3}\r\n');
    await plain.waitFor((line) => line.text.startsWith('+'));
    plain.write('abc\r\n');
    await plain.waitFor((line) => line.text.startsWith('a1 NO'));
    await plain.command('FETCH 1 (BODY.PEEK[] ENVELOPE)');
    await plain.logout();

    const implicit = await RawImap.connect({ port: imap.tls.port, tls: true, ...from });
    await implicit.login(account.user.username, account.password);
    await implicit.logout();

    const flow = new ImapFlow({
      host: '127.0.0.1',
      port: imap.plain.port,
      secure: false,
      auth: { user: account.user.username, pass: account.password },
      tls: { rejectUnauthorized: false, localAddress: CANARY } as object,
      logger: false,
    });
    await flow.connect();
    const lock = await flow.getMailboxLock('INBOX');
    for await (const message of flow.fetch('1:*', { source: true }))
      expect(message.source).to.be.instanceOf(Buffer);
    lock.release();
    await flow.logout();

    // A broken TLS handshake on the implicit-TLS ports, and a dropped connection.
    for (const port of [imap.tls.port, pop3.tls.port]) {
      await new Promise<void>((resolve) => {
        const socket = connect({ port, host: '127.0.0.1', localAddress: CANARY }, () =>
          socket.end('GARBAGE\r\n\r\n'),
        );
        socket.on('close', () => resolve());
        socket.on('error', () => undefined);
      });
    }
    const dropped = await RawImap.connect({ port: imap.plain.port, ...from });
    dropped.destroy();

    // POP3: a failed login, STLS, RETR, QUIT.
    await storeMessages(deps, pgp, account.user.id, 2);
    const { client: pop, greeting } = await RawPop3.connect({ port: pop3.plain.port, ...from });
    expect(greeting).not.to.contain(CANARY);
    await pop.command('USER nobody');
    await pop.command('PASS wrong');
    await pop.command('STLS');
    await pop.startTls();
    await pop.command(`USER ${account.user.username}`);
    await pop.command(`PASS ${account.password}`);
    await pop.multi('RETR 1');
    await pop.quit();
    const poplog = deps.logLines.length;
    const { client: bad } = await RawPop3.connect({ port: pop3.plain.port, ...from });
    await bad.command('XYZZY').catch(() => undefined);
    await waitForLog(deps.logLines, 'pop3.session_closed', () => true, { from: poplog });

    // Nothing anywhere.
    expect(reverseLookups.filter((ip) => ip.includes(CANARY))).to.deep.equal([]);
    expect(deps.logLines.filter((line) => line.includes(CANARY))).to.deep.equal([]);
    expect(output.filter((text) => text.includes(CANARY))).to.deep.equal([]);
    const keys = await deps.redis.keys(`${deps.config.redis.prefix}*`);
    for (const key of keys) {
      const dump = await deps.redis.dumpBuffer(key);
      expect(dump?.includes(CANARY), key).to.not.equal(true);
    }
    expect(filesContaining(testDataDir(), CANARY)).to.deep.equal([]);
    // The sessions did happen (so the absence means something).
    expect(deps.logLines.some((line) => line.includes('"imap.login"'))).to.equal(true);
    expect(deps.logLines.some((line) => line.includes('"pop3.committed"'))).to.equal(true);
  });
});
