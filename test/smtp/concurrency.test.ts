/**
 * Many senders at once to one mailbox, while its owner fetches and deletes over IMAP, on the
 * sqlite engine: deliveries to one user wait for each other's write transaction instead of being
 * refused, so every message gets 250 (none 451), every one is fetched, and none is left. (On the
 * mongodb engine deliveries queue for the per-user UID lock instead:
 * test/smtp/concurrent-deliveries.test.ts.)
 */
import { expect } from 'chai';
import { startImapServers, type ImapServers } from '../../src/imap/server';
import { createAccount, type TestAccount } from '../helpers/mail-fixtures';
import { imapFetchAll } from '../e2e/helpers/stack';
import { SmtpHarness } from './helpers/harness';
import { SmtpClient } from './helpers/smtp-client';

const SENDERS = 50;
const EACH = 4;
const READERS = 5;

describe('smtp: concurrent deliveries to one mailbox queue, never refused (sqlite)', function () {
  this.timeout(240_000);
  let h: SmtpHarness;
  let imap: ImapServers;
  let account: TestAccount;

  before(async () => {
    h = await SmtpHarness.start({
      settings: {
        store: { engine: 'sqlite' },
        imap: { port: 0, tlsPort: 0 },
        // Every sender here is 127.0.0.1: the per-host connection cap would refuse most of them.
        limits: { smtp: { maxConnectionsPerHost: 0 } },
      },
    });
    imap = await startImapServers(h.deps);
    const key = await h.gpg.generateKey('curve25519');
    account = await createAccount(h.deps, {
      fingerprint: key.fingerprint,
      publicKey: (await h.gpg.exportPublic(key.fingerprint)).toString('utf8'),
    });
  });
  after(async () => {
    await imap?.plain.close();
    await imap?.tls.close();
    await h?.close();
  });

  it(`${SENDERS} senders × ${EACH} messages to one user while ${READERS} IMAP sessions fetch and delete: all 250, every one fetched`, async () => {
    const to = `inbox@${account.user.username}.${h.domain}`;
    const login = { username: account.user.username, password: account.password };
    const replies: number[] = [];
    let sending = true;
    const fetched: Buffer[] = [];
    const readers = Array.from({ length: READERS }, async () => {
      while (sending) {
        fetched.push(...(await imapFetchAll(imap.plain.port, login)));
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
    await Promise.all(
      Array.from({ length: SENDERS }, async (_, sender) => {
        const client = await SmtpClient.ready(h.port);
        try {
          for (let i = 0; i < EACH; i++) {
            const body = `Subject: load ${sender}-${i}\r\nMessage-ID: <${sender}-${i}@example.net>\r\n\r\nbody ${sender}-${i}\r\n`;
            replies.push((await client.send('x@example.net', [to], body)).code);
          }
        } finally {
          await client.quit();
        }
      }),
    ).finally(() => (sending = false));
    await Promise.all(readers);
    fetched.push(...(await imapFetchAll(imap.plain.port, login)));

    const counts = replies.reduce<Record<number, number>>(
      (all, code) => ({ ...all, [code]: (all[code] ?? 0) + 1 }),
      {},
    );
    expect(counts).to.deep.equal({ 250: SENDERS * EACH });
    // Every stored message reached a client (its outer Message-ID is kzymy's own, random).
    // Sessions that overlap may each receive one before either logs out and deletes it.
    const ids = fetched.map((message) => /^Message-ID: (.*)$/im.exec(message.toString())?.[1]);
    expect(new Set(ids).size).to.equal(SENDERS * EACH);
    expect(await h.deps.store.messages.count(account.user.id)).to.equal(0);
  });
});
