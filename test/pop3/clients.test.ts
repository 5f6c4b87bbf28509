/**
 * Real POP3 clients from Debian against real kzymy POP3 servers: fetchmail (STLS and POP3S) and
 * getmail6. Each fetches everything; what it wrote is the stored PGP/MIME message (after its
 * own documented local changes), gpg decrypts it to the original, and the server keeps nothing.
 */
import { expect } from 'chai';
import type { TestDeps } from '../helpers/deps';
import { asSent, runFetchmail, runGetmail, type ClientTarget } from '../helpers/debian-clients';
import {
  expectedPlaintext,
  expectMailboxEmpty,
  PgpFixture,
  storeMessages,
  type TestAccount,
  mailboxWithMail,
} from '../helpers/mail-fixtures';
import { toLf } from '../helpers/programs';
import { useMailboxServers, type MailboxServers } from '../helpers/mailbox-servers';
import { expectBytes } from '../helpers/bytes';

type Stored = Awaited<ReturnType<typeof storeMessages>>;

describe('POP3 with real clients', function () {
  this.timeout(120_000);
  const fixture = useMailboxServers('pop3');
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
    };
  }

  async function expectDelivered(stored: Stored, sent: Buffer[]): Promise<void> {
    expect(sent).to.have.length(stored.length);
    for (const message of stored) {
      const copies = sent.filter((copy) => copy.equals(toLf(message.ciphertext)));
      expect(copies, `message ${message.uid} delivered byte-exact`).to.have.length(1);
      const plaintext = await pgp.decrypt(copies[0] as Buffer);
      expectBytes(plaintext, expectedPlaintext(message.plaintext));
    }
  }

  it('fetchmail over POP3 (STLS on the plain port)', async function () {
    const { account, stored } = await mailbox(3);
    const { result, delivered } = await runFetchmail('POP3', target(account));
    expect(result.code, result.stderr).to.equal(0);
    await expectDelivered(
      stored,
      delivered.map((copy) => asSent('fetchmail', copy)),
    );
    await expectMailboxEmpty(deps, account.user.id);
  });

  it("fetchmail's default poll (no fetchall: LAST first, then UIDL)", async function () {
    const { account, stored } = await mailbox(2);
    const { result, delivered } = await runFetchmail('POP3', target(account), { fetchall: false });
    expect(result.code, result.stderr).to.equal(0);
    await expectDelivered(
      stored,
      delivered.map((copy) => asSent('fetchmail', copy)),
    );
    await expectMailboxEmpty(deps, account.user.id);
  });

  it('fetchmail over POP3S (implicit TLS)', async function () {
    const { account, stored } = await mailbox(2);
    const { result, delivered } = await runFetchmail('POP3', target(account, true));
    expect(result.code, result.stderr).to.equal(0);
    await expectDelivered(
      stored,
      delivered.map((copy) => asSent('fetchmail', copy)),
    );
    await expectMailboxEmpty(deps, account.user.id);
  });

  it('getmail6 over POP3', async function () {
    const { account, stored } = await mailbox(3);
    const { result, delivered } = await runGetmail('POP3', target(account));
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    await expectDelivered(
      stored,
      delivered.map((copy) => asSent('getmail', copy)),
    );
    await expectMailboxEmpty(deps, account.user.id);
  });

  it('getmail6 over POP3S', async function () {
    const { account, stored } = await mailbox(1);
    const { result, delivered } = await runGetmail('POP3', target(account, true));
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    await expectDelivered(
      stored,
      delivered.map((copy) => asSent('getmail', copy)),
    );
    await expectMailboxEmpty(deps, account.user.id);
  });
});
