/**
 * Real IMAP clients against real kzymy IMAP servers (FerretDB + Redis from the root hooks):
 * fetchmail, getmail6 and mbsync from Debian, and imapflow. Each fetches everything; what it
 * wrote is the stored PGP/MIME message (after the client's own documented local changes: LF line
 * ends, one header it adds), gpg decrypts it to the original message, and the server holds
 * nothing for the user afterwards.
 */
import { expect } from 'chai';
import { ImapFlow } from 'imapflow';
import type { TestDeps } from '../helpers/deps';
import {
  asSent,
  runFetchmail,
  runGetmail,
  runMbsync,
  type ClientTarget,
} from '../helpers/debian-clients';
import {
  expectMailboxEmpty,
  expectedPlaintext,
  PgpFixture,
  plaintextMessage,
  storeMessages,
  type TestAccount,
  mailboxWithMail,
} from '../helpers/mail-fixtures';
import { toLf } from '../helpers/programs';
import { useMailboxServers, type MailboxServers } from '../helpers/mailbox-servers';
import { expectBytes } from '../helpers/bytes';

type Stored = Awaited<ReturnType<typeof storeMessages>>;

describe('IMAP with real clients', function () {
  this.timeout(120_000);
  const fixture = useMailboxServers('imap');
  let deps: TestDeps;
  let servers: MailboxServers['servers'];
  let pgp: PgpFixture;
  before(() => ({ deps, servers, pgp } = fixture));

  const mailbox = (count: number) => mailboxWithMail(fixture, count);

  function target(account: TestAccount, tls = false): ClientTarget {
    return {
      port: tls ? servers.tls.port : servers.plain.port,
      username: account.user.username,
      password: account.password,
      tls,
      certFile: deps.tls.certFile,
    };
  }

  /** Each stored message arrived exactly once, as sent, and decrypts to its original. */
  async function expectDelivered(
    stored: Stored,
    sent: Buffer[],
    lineEnds: 'crlf' | 'lf',
  ): Promise<void> {
    expect(sent).to.have.length(stored.length);
    for (const message of stored) {
      const wire = lineEnds === 'lf' ? toLf(message.ciphertext) : message.ciphertext;
      const copies = sent.filter((copy) => copy.equals(wire));
      expect(copies, `message ${message.uid} delivered byte-exact`).to.have.length(1);
      const plaintext = await pgp.decrypt(copies[0] as Buffer);
      expectBytes(plaintext, expectedPlaintext(message.plaintext));
    }
  }

  async function expectNothingLeft(account: TestAccount): Promise<void> {
    await expectMailboxEmpty(deps, account.user.id);
  }

  it('fetchmail over IMAP (STARTTLS on the plain port)', async function () {
    const { account, stored } = await mailbox(3);
    const { result, delivered } = await runFetchmail('IMAP', target(account));
    expect(result.code, result.stderr).to.equal(0);
    await expectDelivered(
      stored,
      delivered.map((copy) => asSent('fetchmail', copy)),
      'lf',
    );
    await expectNothingLeft(account);
  });

  it('fetchmail over IMAPS (implicit TLS)', async function () {
    const { account, stored } = await mailbox(2);
    const { result, delivered } = await runFetchmail('IMAP', target(account, true));
    expect(result.code, result.stderr).to.equal(0);
    await expectDelivered(
      stored,
      delivered.map((copy) => asSent('fetchmail', copy)),
      'lf',
    );
    await expectNothingLeft(account);
  });

  it('getmail6 over IMAP', async function () {
    const { account, stored } = await mailbox(3);
    const { result, delivered } = await runGetmail('IMAP', target(account));
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    await expectDelivered(
      stored,
      delivered.map((copy) => asSent('getmail', copy)),
      'lf',
    );
    await expectNothingLeft(account);
  });

  it('mbsync (which never deletes on the server itself: the server does)', async function () {
    const { account, stored } = await mailbox(3);
    const { result, delivered } = await runMbsync(target(account));
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    await expectDelivered(
      stored,
      delivered.map((copy) => asSent('mbsync', copy)),
      'lf',
    );
    await expectNothingLeft(account);
  });

  it('mbsync over IMAPS', async function () {
    const { account, stored } = await mailbox(1);
    const { result, delivered } = await runMbsync(target(account, true));
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    await expectDelivered(
      stored,
      delivered.map((copy) => asSent('mbsync', copy)),
      'lf',
    );
    await expectNothingLeft(account);
  });

  it('imapflow: whole messages with fetch, and a 3 MB one downloaded in 256 KB partial chunks', async function () {
    const { account, stored } = await mailbox(2);
    const big = plaintextMessage('big', 3 * 1024 * 1024);
    const bigCiphertext = await pgp.encrypt(big);
    const bigStored = await deps.store.messages.add(account.user.id, bigCiphertext, new Date());
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: servers.plain.port,
      secure: false,
      auth: { user: account.user.username, pass: account.password },
      tls: { rejectUnauthorized: false },
      logger: false,
    });
    await client.connect();
    const sent: Buffer[] = [];
    const lock = await client.getMailboxLock('INBOX');
    try {
      for await (const message of client.fetch(
        `${stored[0]?.uid}:${stored[1]?.uid}`,
        { source: true },
        { uid: true },
      )) {
        sent.push(message.source as Buffer);
      }
      const download = await client.download(String(bigStored.uid), undefined, {
        uid: true,
        chunkSize: 256 * 1024,
      });
      const chunks: Buffer[] = [];
      for await (const chunk of download.content) chunks.push(chunk as Buffer);
      expectBytes(Buffer.concat(chunks), bigCiphertext);
      // Received in full by partial fetches alone: fetchedAt is set already, before LOGOUT.
      expect(
        (await deps.store.messages.byUid(account.user.id, bigStored.uid))?.fetchedAt,
      ).to.be.instanceOf(Date);
    } finally {
      lock.release();
    }
    await client.logout();
    await expectDelivered(stored, sent, 'crlf');
    expectBytes(await pgp.decrypt(bigCiphertext), expectedPlaintext(big));
    await expectNothingLeft(account);
  });
});
