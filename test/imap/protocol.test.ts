/**
 * The IMAP4rev1 surface kzymy serves, command by command, over a line-level client: what real
 * clients send, and the refusals of a receive-only mailbox.
 */
import { expect } from 'chai';
import { startImapServers, type ImapServers } from '../../src/imap/server';
import { makeTestDeps, type TestDeps } from '../helpers/deps';
import {
  createAccount,
  PgpFixture,
  storeMessages,
  type TestAccount,
} from '../helpers/mail-fixtures';
import { RawImap } from '../helpers/raw-imap';

describe('IMAP protocol', function () {
  this.timeout(60_000);
  let deps: TestDeps;
  let servers: ImapServers;
  let pgp: PgpFixture;
  let account: TestAccount;
  let stored: Awaited<ReturnType<typeof storeMessages>>;

  before(async function () {
    deps = await makeTestDeps({ imap: { port: 0, tlsPort: 0 } });
    servers = await startImapServers(deps);
    pgp = await PgpFixture.create();
    account = await createAccount(deps);
    stored = await storeMessages(deps, pgp, account.user.id, 3);
  });

  after(async function () {
    await servers?.plain.close();
    await servers?.tls.close();
    await pgp?.dispose();
    await deps?.close();
  });

  async function loggedIn(): Promise<RawImap> {
    const client = await RawImap.connect({ port: servers.plain.port });
    await client.login(account.user.username, account.password);
    return client;
  }

  it('greets without the client address and offers only what it implements', async function () {
    const client = await RawImap.connect({ port: servers.plain.port });
    expect(client.greeting).to.match(/^\* OK kzymy ready/);
    expect(client.greeting).not.to.contain('127.0.0.1');
    const before = await client.command('CAPABILITY');
    // Loopback listener: LOGIN allowed before TLS, STARTTLS offered.
    expect(before.untagged[0]?.text).to.equal(
      '* CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN SASL-IR ID IDLE NAMESPACE UIDPLUS UNSELECT',
    );
    await client.login(account.user.username, account.password);
    const after = await client.command('CAPABILITY');
    // RFC 3501 §6.2.1: STARTTLS only before login, so no longer offered, and refused.
    expect(after.untagged[0]?.text).to.equal(
      '* CAPABILITY IMAP4rev1 ID IDLE NAMESPACE UIDPLUS UNSELECT',
    );
    const starttls = await client.command('STARTTLS');
    expect(starttls.status).to.equal('BAD');
    expect(starttls.tagged).to.contain('STARTTLS is only allowed before logging in');
    expect((await client.command('NOOP')).status).to.equal('OK');
    for (const absent of ['MOVE', 'QUOTA', 'CONDSTORE', 'COMPRESS', 'APPENDLIMIT', 'XLIST']) {
      expect(after.untagged[0]?.text).not.to.contain(absent);
    }
    await client.logout();
  });

  it('ID, NAMESPACE, LIST, LSUB, STATUS, NOOP', async function () {
    const client = await loggedIn();
    const id = await client.command('ID ("name" "test-client")');
    expect(id.untagged[0]?.text).to.equal('* ID ("name" "kzymy")');
    expect((await client.command('NAMESPACE')).untagged[0]?.text).to.equal(
      '* NAMESPACE (("" "/")) NIL NIL',
    );
    expect((await client.command('LIST "" "*"')).untagged.map((l) => l.text)).to.deep.equal([
      '* LIST (\\HasNoChildren) "/" "INBOX"',
    ]);
    expect((await client.command('LIST "" ""')).untagged[0]?.text).to.equal(
      '* LIST (\\Noselect) "/" "/"',
    );
    expect((await client.command('LSUB "" "*"')).untagged.map((l) => l.text)).to.deep.equal([
      '* LSUB (\\HasNoChildren) "/" "INBOX"',
    ]);
    const user = await deps.store.users.byId(account.user.id);
    const status = await client.command('STATUS INBOX (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)');
    expect(status.untagged[0]?.text).to.equal(
      `* STATUS INBOX (MESSAGES 3 UNSEEN 3 UIDNEXT ${user?.uidNext} UIDVALIDITY ${user?.uidValidity})`,
    );
    expect((await client.command('STATUS Trash (MESSAGES)')).tagged).to.match(/NO \[NONEXISTENT\]/);
    expect((await client.command('SELECT Sent')).tagged).to.match(/NO \[NONEXISTENT\]/);
    expect((await client.command('NOOP')).status).to.equal('OK');
    await client.logout();
  });

  it('SELECT reports the mailbox; FETCH serves metadata, structure and header fields from the ciphertext', async function () {
    const client = await loggedIn();
    const user = await deps.store.users.byId(account.user.id);
    const select = await client.command('SELECT inbox');
    const lines = select.untagged.map((l) => l.text);
    expect(lines).to.include('* 3 EXISTS');
    expect(lines).to.include(`* OK [UIDVALIDITY ${user?.uidValidity}] UIDs valid`);
    expect(lines).to.include(`* OK [UIDNEXT ${user?.uidNext}] Predicted next UID`);
    expect(select.tagged).to.contain('[READ-WRITE]');
    const message = stored[0]!;
    const fetch = await client.command(
      'FETCH 1 (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (Subject Content-Type)])',
    );
    const line = fetch.untagged[0]!;
    expect(line.text).to.match(
      new RegExp(
        `^\\* 1 FETCH \\(UID ${message.uid} FLAGS \\(\\) RFC822.SIZE ${message.ciphertext.length} INTERNALDATE "`,
      ),
    );
    // ENVELOPE: the outer stub only (Subject "...", kzymy's From).
    expect(line.text).to.contain('ENVELOPE ("');
    expect(line.text).to.contain('"..." (("kzymy" NIL "postmaster" "kzymy.test"))');
    expect(line.text).to.contain('BODYSTRUCTURE (("APPLICATION" "PGP-ENCRYPTED"');
    expect(line.text).to.contain('"ENCRYPTED" ("PROTOCOL" "application/pgp-encrypted"');
    expect(line.literals[0]?.toString()).to.match(
      /^Subject: \.\.\.\r\nContent-Type: multipart\/encrypted;/,
    );
    // A MIME part: RFC 3156 §4's version part.
    const part = await client.command('FETCH 1 (BODY.PEEK[1])');
    expect(part.untagged[0]?.literals[0]?.toString()).to.equal('Version: 1\r\n');
    expect((await client.command('FETCH 1 (FLAGS)')).untagged[0]?.text).to.equal(
      '* 1 FETCH (FLAGS ())',
    );
    // BODY[] without PEEK sets \Seen and says so (RFC 3501 §6.4.5).
    const seen = await client.command('FETCH 2 (BODY[HEADER])');
    expect(seen.untagged[0]?.text).to.contain('FLAGS (\\Seen)');
    // UID FETCH always includes the UID.
    const uid = await client.command(`UID FETCH ${stored[2]!.uid} (FLAGS)`);
    expect(uid.untagged[0]?.text).to.equal(`* 3 FETCH (FLAGS () UID ${stored[2]!.uid})`);
    // Nothing for UIDs that are not there.
    expect((await client.command('UID FETCH 9999 (FLAGS)')).untagged).to.deep.equal([]);
    await client.command('UNSELECT');
    expect((await client.command('FETCH 1 (FLAGS)')).status).to.equal('BAD');
    // Clean up \Seen for the other tests; LOGOUT received nothing whole.
    await client.command('SELECT INBOX');
    await client.command('STORE 2 -FLAGS.SILENT (\\Seen)');
    await client.logout();
    expect(await deps.store.messages.count(account.user.id)).to.equal(3);
  });

  it('STORE answers with the new flags; SEARCH finds by flag, UID and sequence set', async function () {
    const client = await loggedIn();
    await client.command('SELECT INBOX');
    const [a, b, c] = stored.map((m) => m.uid) as number[];
    const store = await client.command('STORE 1:2 +FLAGS (\\Seen $Label1)');
    expect(store.untagged.map((l) => l.text)).to.deep.equal([
      '* 1 FETCH (FLAGS (\\Seen $Label1))',
      '* 2 FETCH (FLAGS (\\Seen $Label1))',
    ]);
    const uidStore = await client.command(`UID STORE ${b} FLAGS (\\Deleted)`);
    expect(uidStore.untagged[0]?.text).to.equal(`* 2 FETCH (UID ${b} FLAGS (\\Deleted))`);
    const search = async (query: string): Promise<string | undefined> =>
      (await client.command(query)).untagged.find((l) => l.text.startsWith('* SEARCH'))?.text;
    expect(await search('SEARCH ALL')).to.equal('* SEARCH 1 2 3');
    expect(await search('SEARCH SEEN')).to.equal('* SEARCH 1');
    expect(await search('SEARCH UNSEEN')).to.equal('* SEARCH 2 3');
    expect(await search('SEARCH DELETED')).to.equal('* SEARCH 2');
    expect(await search('SEARCH UNDELETED UNSEEN')).to.equal('* SEARCH 3');
    expect(await search(`UID SEARCH UID ${b}:*`)).to.equal(`* SEARCH ${b} ${c}`);
    expect(await search(`UID SEARCH ${a},3`)).to.equal(`* SEARCH ${a} ${c}`);
    expect(await search('SEARCH KEYWORD $Label1')).to.equal('* SEARCH 1');
    expect(await search('SEARCH SUBJECT "..."')).to.equal('* SEARCH 1 2 3');
    await client.command('STORE 1:3 FLAGS.SILENT ()');
    expect((await deps.store.messages.list(account.user.id)).map((m) => m.flags)).to.deep.equal([
      [],
      [],
      [],
    ]);
    await client.logout();
  });

  it('refuses APPEND, CREATE, DELETE, RENAME, COPY and MOVE: kzymy is receive-only', async function () {
    const client = await loggedIn();
    await client.command('SELECT INBOX');
    const refusals = [
      'CREATE Archive',
      'DELETE INBOX',
      'RENAME INBOX Old',
      'COPY 1 Archive',
      `UID COPY ${stored[0]!.uid} INBOX`,
      'MOVE 1 Archive',
      `UID MOVE ${stored[0]!.uid} Trash`,
    ];
    for (const command of refusals) {
      const reply = await client.command(command);
      expect(reply.tagged, command).to.match(/^t\d+ NO \[CANNOT\] kzymy is receive-only: /);
    }
    // APPEND's literal is read (the client sends it after "+"), then refused.
    client.write('a1 APPEND INBOX {11}\r\n');
    await client.waitFor((l) => l.text.startsWith('+'));
    client.write('Subject: x\r\n\r\n');
    const append = await client.waitFor((l) => l.text.startsWith('a1 '));
    expect(append.text).to.equal(
      'a1 NO [CANNOT] kzymy is receive-only: mail arrives by SMTP only, APPEND is not available',
    );
    expect((await client.command('SUBSCRIBE INBOX')).status).to.equal('OK');
    expect((await client.command('SUBSCRIBE Archive')).status).to.equal('NO');
    expect((await client.command('GETQUOTAROOT INBOX')).status).to.equal('NO');
    expect((await client.command('COMPRESS DEFLATE')).status).to.equal('NO');
    await client.command('UNSELECT');
    // RFC 5161 ENABLE (Authenticated state): nothing to enable, so nothing changes output.
    expect((await client.command('ENABLE CONDSTORE')).untagged[0]?.text).to.equal('* ENABLED');
    await client.logout();
    expect(await deps.store.messages.count(account.user.id)).to.equal(3);
  });

  it('AUTHENTICATE PLAIN, with an initial response and with a continuation', async function () {
    const token = Buffer.from(`\0${account.user.username}\0${account.password}`).toString('base64');
    const first = await RawImap.connect({ port: servers.plain.port });
    expect((await first.command(`AUTHENTICATE PLAIN ${token}`)).status).to.equal('OK');
    await first.logout();
    const second = await RawImap.connect({ port: servers.plain.port });
    second.write('a1 AUTHENTICATE PLAIN\r\n');
    await second.waitFor((l) => l.text.startsWith('+'));
    second.write(token + '\r\n');
    expect((await second.waitFor((l) => l.text.startsWith('a1 '))).text).to.match(/^a1 OK/);
    await second.logout();
  });

  it('STARTTLS and implicit TLS', async function () {
    const upgraded = await RawImap.connect({ port: servers.plain.port });
    await upgraded.startTls();
    const caps = await upgraded.command('CAPABILITY');
    expect(caps.untagged[0]?.text).not.to.contain('STARTTLS');
    await upgraded.login(account.user.username, account.password);
    expect((await upgraded.command('SELECT INBOX')).status).to.equal('OK');
    await upgraded.logout();
    const implicit = await RawImap.connect({ port: servers.tls.port, tls: true });
    expect((await implicit.command('STARTTLS')).status).to.equal('NO');
    await implicit.login(account.user.username, account.password);
    await implicit.logout();
  });

  it('on a non-loopback listener, refuses LOGIN before TLS unless allowed', async function () {
    const wide = await makeTestDeps({ imap: { host: '0.0.0.0', port: 0, tlsPort: 0 } });
    const wideServers = await startImapServers(wide);
    try {
      const other = await createAccount(wide);
      const client = await RawImap.connect({ port: wideServers.plain.port });
      const caps = await client.command('CAPABILITY');
      expect(caps.untagged[0]?.text).to.equal(
        '* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED ID IDLE NAMESPACE UIDPLUS UNSELECT',
      );
      expect(
        (await client.command(`LOGIN ${other.user.username} "${other.password}"`)).status,
      ).to.equal('BAD');
      const token = Buffer.from(`\0${other.user.username}\0${other.password}`).toString('base64');
      expect((await client.command(`AUTHENTICATE PLAIN ${token}`)).status).to.equal('BAD');
      await client.startTls();
      await client.login(other.user.username, other.password);
      await client.logout();
    } finally {
      await wideServers.plain.close();
      await wideServers.tls.close();
      await wide.close();
    }
    const allowed = await makeTestDeps({
      imap: { host: '0.0.0.0', port: 0, tlsPort: 0, allowPlaintextAuth: true },
    });
    const allowedServers = await startImapServers(allowed);
    try {
      const other = await createAccount(allowed);
      const client = await RawImap.connect({ port: allowedServers.plain.port });
      await client.login(other.user.username, other.password);
      await client.logout();
    } finally {
      await allowedServers.plain.close();
      await allowedServers.tls.close();
      await allowed.close();
    }
  });

  it('answers an unknown user, a wrong password and a pending account alike', async function () {
    const pending = await deps.store.users.create({
      fingerprint: 'AA',
      publicKey: '',
      passwordHash: (await deps.store.users.byId(account.user.id))!.passwordHash,
      state: 'pending',
    });
    const attempts = [
      [account.user.username, 'wrong-password'],
      ['nosuchuser', account.password],
      [pending.username, account.password],
    ];
    const answers = new Set<string>();
    for (const [user, password] of attempts) {
      const client = await RawImap.connect({ port: servers.plain.port });
      const reply = await client.command(`LOGIN ${user} "${password}"`);
      answers.add(reply.tagged.replace(/^t\d+ /, ''));
      await client.logout();
    }
    expect([...answers]).to.deep.equal(['NO [AUTHENTICATIONFAILED] Invalid credentials']);
    // The address forms are accepted too.
    for (const name of [
      `${account.user.username}@kzymy.test`,
      `anything@${account.user.username}.kzymy.test`,
    ]) {
      const client = await RawImap.connect({ port: servers.plain.port });
      await client.login(name, account.password);
      await client.logout();
    }
  });

  it('turns a failing store into a tagged NO and a log line, and carries on', async function () {
    const client = await loggedIn();
    await client.command('SELECT INBOX');
    const from = deps.logLines.length;
    const messages = deps.store.messages;
    const list = messages.list.bind(messages);
    // Fault injection on the real store: the next listing throws, synchronously.
    messages.list = () => {
      throw new Error('store exploded with secret details');
    };
    try {
      const fetch = await client.command('FETCH 1:* (FLAGS)');
      expect(fetch.tagged).to.match(/^t\d+ NO \[TEMPFAIL\]/);
      const search = await client.command('SEARCH ALL');
      expect(search.tagged).to.match(/^t\d+ NO \[TEMPFAIL\]/);
    } finally {
      messages.list = list;
    }
    const errors = deps.logLines.slice(from).filter((line) => line.includes('"imap.error"'));
    expect(errors).to.have.length(2);
    expect(errors.join('\n')).not.to.contain('secret details');
    // The session and the server are still there.
    expect((await client.command('FETCH 1 (UID)')).status).to.equal('OK');
    await client.logout();
    const another = await loggedIn();
    await another.logout();
  });
});
