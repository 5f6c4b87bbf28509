/**
 * One user can never list, read, flag or delete another's messages, by any UID or sequence
 * number, over IMAP or POP3: UIDs are per user, and every store call carries the session's user.
 */
import { expect } from 'chai';
import { startImapServers, type ImapServers } from '../../src/imap/server';
import { startPop3Servers, type Pop3Servers } from '../../src/pop3/server';
import { makeTestDeps, type TestDeps } from '../helpers/deps';
import {
  createAccount,
  PgpFixture,
  storeMessages,
  type TestAccount,
} from '../helpers/mail-fixtures';
import { RawImap } from '../helpers/raw-imap';
import { RawPop3 } from '../helpers/raw-pop3';

describe('mailbox isolation between users', function () {
  this.timeout(60_000);
  let deps: TestDeps;
  let imap: ImapServers;
  let pop3: Pop3Servers;
  let pgp: PgpFixture;
  let alice: TestAccount;
  let bob: TestAccount;
  let bobs: Awaited<ReturnType<typeof storeMessages>>;

  before(async function () {
    deps = await makeTestDeps({ imap: { port: 0, tlsPort: 0 }, pop3: { port: 0, tlsPort: 0 } });
    imap = await startImapServers(deps);
    pop3 = await startPop3Servers(deps);
    pgp = await PgpFixture.create();
    alice = await createAccount(deps);
    bob = await createAccount(deps);
    bobs = await storeMessages(deps, pgp, bob.user.id, 4, 'bob');
  });

  after(async function () {
    for (const servers of [imap, pop3]) {
      await servers?.plain.close();
      await servers?.tls.close();
    }
    await pgp?.dispose();
    await deps?.close();
  });

  async function bobUntouched(): Promise<void> {
    const messages = await deps.store.messages.list(bob.user.id);
    expect(messages.map((m) => m.uid)).to.deep.equal(bobs.map((m) => m.uid));
    for (const message of messages) {
      expect(message.flags).to.deep.equal([]);
      expect(message.fetchedAt).to.equal(null);
    }
  }

  it('over IMAP, by UID and by sequence number', async function () {
    // Alice has one message; its UID (1) is one of Bob's UIDs too.
    const [own] = await storeMessages(deps, pgp, alice.user.id, 1, 'alice');
    const client = await RawImap.connect({ port: imap.plain.port });
    await client.login(alice.user.username, alice.password);
    expect((await client.command('SELECT INBOX')).untagged.map((l) => l.text)).to.include(
      '* 1 EXISTS',
    );
    expect((await client.command('STATUS INBOX (MESSAGES)')).untagged[0]?.text).to.equal(
      '* STATUS INBOX (MESSAGES 1)',
    );
    const bobUids = bobs.map((m) => m.uid).join(',');
    for (const command of [
      `UID FETCH ${bobUids} (BODY[] FLAGS)`,
      'UID FETCH 1:* (BODY.PEEK[])',
      `UID STORE ${bobUids} +FLAGS (\\Deleted \\Seen)`,
      `UID EXPUNGE ${bobUids}`,
      'FETCH 1:* (RFC822)',
      'STORE 1:* +FLAGS (\\Deleted)',
      'EXPUNGE',
    ]) {
      const reply = await client.command(command);
      for (const line of reply.untagged) {
        // Only Alice's own message (seq 1) ever shows up.
        expect(line.text, command).to.match(/^\* 1 (FETCH|EXPUNGE)/);
        for (const literal of line.literals) expect(literal).to.deep.equal(own!.ciphertext);
      }
    }
    for (const command of [
      'FETCH 2 (BODY[])',
      'FETCH 4 (FLAGS)',
      'STORE 3 +FLAGS (\\Deleted)',
      'COPY 2 INBOX',
    ]) {
      expect((await client.command(command)).untagged, command).to.deep.equal([]);
    }
    const search = await client.command(`UID SEARCH UID ${bobUids}`);
    expect(search.untagged[0]?.text).to.equal('* SEARCH');
    await client.logout();
    await bobUntouched();
  });

  it('over POP3, by message number', async function () {
    await storeMessages(deps, pgp, alice.user.id, 1, 'alice2');
    const { client } = await RawPop3.connect({ port: pop3.plain.port });
    await client.command(`USER ${alice.user.username}`);
    expect(await client.command(`PASS ${alice.password}`)).to.match(
      /^\+OK maildrop has 1 message /,
    );
    expect((await client.multi('LIST')).data.toString().trim().split('\r\n')).to.have.length(1);
    for (const n of [2, 3, 4, 5]) {
      expect(await client.command(`RETR ${n}`)).to.match(/^-ERR/);
      expect(await client.command(`DELE ${n}`)).to.match(/^-ERR/);
      expect(await client.command(`TOP ${n} 0`)).to.match(/^-ERR/);
    }
    await client.quit().catch(() => undefined);
    await bobUntouched();
  });
});
