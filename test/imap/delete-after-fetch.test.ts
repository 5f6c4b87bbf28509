/**
 * Delete-after-fetch over IMAP, as docs/fetching.md states it: what a session received whole —
 * BODY[] or RFC822, peek or not, or pieces that together cover the message — gets fetchedAt at
 * once and is deleted at LOGOUT; a session that ends any other way deletes nothing.
 */
import { expect } from 'chai';
import type { TestDeps } from '../helpers/deps';
import {
  createAccount,
  PgpFixture,
  plaintextMessage,
  storeMessages,
  type TestAccount,
} from '../helpers/mail-fixtures';
import { RawImap } from '../helpers/raw-imap';
import { waitForLog } from '../helpers/deps';
import { useMailboxServers, type MailboxServers } from '../helpers/mailbox-servers';

describe('IMAP delete-after-fetch', function () {
  this.timeout(60_000);
  const fixture = useMailboxServers('imap');
  let deps: TestDeps;
  let servers: MailboxServers['servers'];
  let pgp: PgpFixture;
  before(() => ({ deps, servers, pgp } = fixture));

  async function session(account: TestAccount): Promise<RawImap> {
    const client = await RawImap.connect({ port: servers.plain.port });
    await client.login(account.user.username, account.password);
    expect((await client.command('SELECT INBOX')).status).to.equal('OK');
    return client;
  }

  async function remainingUids(account: TestAccount): Promise<number[]> {
    return (await deps.store.messages.list(account.user.id)).map((message) => message.uid);
  }

  async function fetchedAt(account: TestAccount, uid: number): Promise<Date | null | undefined> {
    return (await deps.store.messages.byUid(account.user.id, uid))?.fetchedAt;
  }

  it('deletes at LOGOUT exactly the messages received whole, however they were asked for', async function () {
    const account = await createAccount(deps);
    const stored = await storeMessages(deps, pgp, account.user.id, 6);
    const [peek, body, rfc822, headerOnly, partialOnly, untouched] = stored.map(
      (m) => m.uid,
    ) as number[];
    const client = await session(account);
    const whole = await client.command(`UID FETCH ${peek} (BODY.PEEK[])`);
    expect(whole.untagged[0]?.literals[0]).to.deep.equal(stored[0]!.ciphertext);
    await client.command(`UID FETCH ${body} (BODY[])`);
    await client.command(`UID FETCH ${rfc822} (RFC822)`);
    await client.command(
      `UID FETCH ${headerOnly} (ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER] BODY.PEEK[1] BODY.PEEK[2.MIME])`,
    );
    await client.command(`UID FETCH ${partialOnly} (BODY.PEEK[]<0.100>)`);
    await client.command(`UID FETCH ${untouched} (UID FLAGS RFC822.SIZE INTERNALDATE)`);
    // fetchedAt marks receipt at once, before the commit point.
    for (const uid of [peek, body, rfc822])
      expect(await fetchedAt(account, uid!)).to.be.instanceOf(Date);
    for (const uid of [headerOnly, partialOnly, untouched])
      expect(await fetchedAt(account, uid!)).to.equal(null);
    expect(await remainingUids(account)).to.have.length(6);
    await client.logout();
    expect(await remainingUids(account)).to.deep.equal([headerOnly, partialOnly, untouched]);
    expect(await deps.store.messages.usedBytes(account.user.id)).to.equal(
      stored.slice(3).reduce((sum, m) => sum + m.ciphertext.length, 0),
    );
  });

  it('counts pieces that together cover a message: HEADER + TEXT, RFC822.HEADER + RFC822.TEXT, partials', async function () {
    const account = await createAccount(deps);
    const stored = await storeMessages(deps, pgp, account.user.id, 4);
    const [a, b, c, d] = stored.map((m) => m.uid) as number[];
    const size = stored[2]!.ciphertext.length;
    const client = await session(account);
    // fetchmail's way: the header, then the body.
    const header = await client.command(`UID FETCH ${a} (BODY.PEEK[HEADER])`);
    const text = await client.command(`UID FETCH ${a} (BODY.PEEK[TEXT])`);
    const joined = Buffer.concat([
      header.untagged[0]!.literals[0]!,
      text.untagged[0]!.literals[0]!,
    ]);
    expect(joined).to.deep.equal(stored[0]!.ciphertext);
    await client.command(`UID FETCH ${b} (RFC822.HEADER)`);
    await client.command(`UID FETCH ${b} (RFC822.TEXT)`);
    // Overlapping partial ranges, out of order, with the last one running past the end.
    const third = Math.floor(size / 3);
    const pieces: Buffer[] = [];
    for (const [start, length] of [
      [third, third + 10],
      [0, third + 1],
      [2 * third, size],
    ] as const) {
      const reply = await client.command(`UID FETCH ${c} (BODY.PEEK[]<${start}.${length}>)`);
      expect(reply.untagged[0]!.text).to.contain(`BODY[]<${start}>`);
      pieces[start] = reply.untagged[0]!.literals[0]!;
    }
    expect(pieces[2 * third]!).to.deep.equal(stored[2]!.ciphertext.subarray(2 * third));
    // A partial fetch past the end is empty (RFC 3501 §6.4.5), and covers nothing.
    const past = await client.command(`UID FETCH ${d} (BODY.PEEK[]<${size + 5}.10>)`);
    expect(past.untagged[0]!.literals[0]!.length).to.equal(0);
    await client.command(`UID FETCH ${d} (BODY.PEEK[]<0.${size - 1}>)`);
    await client.logout();
    expect(await remainingUids(account)).to.deep.equal([d]);
  });

  it('deletes nothing when the connection drops instead of LOGOUT, but keeps fetchedAt', async function () {
    const account = await createAccount(deps);
    const stored = await storeMessages(deps, pgp, account.user.id, 2);
    const from = deps.logLines.length;
    const client = await session(account);
    await client.command('FETCH 1:* (BODY.PEEK[])');
    client.destroy();
    await waitForLog(deps.logLines, 'imap.session_closed', (r) => r.received === 2, { from });
    expect(await remainingUids(account)).to.deep.equal(stored.map((m) => m.uid));
    for (const m of stored) expect(await fetchedAt(account, m.uid)).to.be.instanceOf(Date);
  });

  it('a client killed in the middle of a 12 MB literal leaves the message in place, not marked received', async function () {
    const account = await createAccount(deps);
    const big = await pgp.encrypt(plaintextMessage('big', 12 * 1024 * 1024));
    const stored = await deps.store.messages.add(account.user.id, big, new Date());
    const from = deps.logLines.length;
    const client = await session(account);
    client.write('t9 UID FETCH ' + stored.uid + ' (BODY.PEEK[])\r\n');
    // The literal has begun: stop reading (the TCP window closes), then kill the connection.
    const started = new Promise<void>((resolve) => {
      const check = (): void => {
        if (client.received > 64 * 1024) {
          client.socket.pause();
          client.socket.off('data', check);
          resolve();
        }
      };
      client.socket.on('data', check);
    });
    await started;
    client.destroy();
    const closed = await waitForLog(deps.logLines, 'imap.session_closed', () => true, { from });
    expect(closed).to.include({ logout: false, received: 0 });
    const after = await deps.store.messages.byUid(account.user.id, stored.uid);
    expect(after?.fetchedAt).to.equal(null);
    expect(await deps.store.messages.read(account.user.id, stored)).to.deep.equal(big);
    await deps.store.messages.remove(account.user.id, [stored.id]);
  });

  it('EXPUNGE and CLOSE remove \\Deleted messages at once; UID EXPUNGE only the UIDs given', async function () {
    const account = await createAccount(deps);
    const stored = await storeMessages(deps, pgp, account.user.id, 5);
    const uids = stored.map((m) => m.uid);
    const client = await session(account);
    expect((await client.command('STORE 1,2 +FLAGS.SILENT (\\Deleted)')).status).to.equal('OK');
    const expunge = await client.command('EXPUNGE');
    // RFC 3501 §7.4.1: each EXPUNGE renumbers the rest, so both read "1".
    expect(expunge.untagged.map((l) => l.text)).to.deep.equal(['* 1 EXPUNGE', '* 1 EXPUNGE']);
    expect(await remainingUids(account)).to.deep.equal(uids.slice(2));
    await client.command(`UID STORE ${uids[2]}:${uids[3]} +FLAGS (\\Deleted)`);
    const uidExpunge = await client.command(`UID EXPUNGE ${uids[3]}`);
    expect(uidExpunge.untagged.map((l) => l.text)).to.deep.equal(['* 2 EXPUNGE']);
    expect(await remainingUids(account)).to.deep.equal([uids[2], uids[4]]);
    // CLOSE expunges silently and deselects (RFC 3501 §6.4.2).
    const close = await client.command('CLOSE');
    expect(close.status).to.equal('OK');
    expect(close.untagged).to.deep.equal([]);
    expect(await remainingUids(account)).to.deep.equal([uids[4]]);
    await client.logout();
    expect(await remainingUids(account)).to.deep.equal([uids[4]]);
  });

  it('CLOSE removes \\Deleted messages only: what was received waits for LOGOUT (neomutt never sends it)', async function () {
    const account = await createAccount(deps);
    const stored = await storeMessages(deps, pgp, account.user.id, 2);
    const [read, deleted] = stored.map((m) => m.uid) as [number, number];
    const client = await session(account);
    await client.command(`UID FETCH ${read}:${deleted} (BODY.PEEK[])`);
    await client.command(`UID STORE ${deleted} +FLAGS.SILENT (\\Deleted)`);
    expect((await client.command('CLOSE')).status).to.equal('OK');
    // RFC 3501 §6.4.2: CLOSE removes the \Deleted message; the one only read stays, marked
    // received, for a LOGOUT or the grace period (docs/fetching.md, "CLOSE is not a commit").
    expect(await remainingUids(account)).to.deep.equal([read]);
    expect(await fetchedAt(account, read)).to.be.instanceOf(Date);
    const from = deps.logLines.length;
    client.destroy();
    await waitForLog(deps.logLines, 'imap.session_closed', (r) => r.logout === false, { from });
    expect(await remainingUids(account)).to.deep.equal([read]);
  });

  it('EXAMINE: still received means deleted at LOGOUT, but STORE and EXPUNGE change nothing', async function () {
    const account = await createAccount(deps);
    const stored = await storeMessages(deps, pgp, account.user.id, 2);
    const client = await RawImap.connect({ port: servers.plain.port });
    await client.login(account.user.username, account.password);
    expect((await client.command('EXAMINE INBOX')).tagged).to.contain('[READ-ONLY]');
    await client.command(`UID STORE ${stored[1]!.uid} +FLAGS (\\Deleted)`);
    await client.command('EXPUNGE');
    await client.command(`UID FETCH ${stored[0]!.uid} (BODY[])`);
    const flags = await deps.store.messages.byUid(account.user.id, stored[0]!.uid);
    // BODY[] on a read-only mailbox does not set \Seen (RFC 3501 §6.3.2).
    expect(flags?.flags).to.deep.equal([]);
    expect((await deps.store.messages.byUid(account.user.id, stored[1]!.uid))?.flags).to.deep.equal(
      [],
    );
    await client.logout();
    expect(await remainingUids(account)).to.deep.equal([stored[1]!.uid]);
  });
});
