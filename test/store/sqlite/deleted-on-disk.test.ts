/**
 * sqlite engine: deleted means deleted on disk. A message goes the whole way — SMTP through
 * Haraka (its own process on the file), fetched and deleted over IMAP — and then no byte sequence
 * of its ciphertext or of its metadata (its id, its arrival and fetch times as SQLite stores
 * them) is left in any file under the data directory: not in the database file (secure_delete
 * overwrote the rows and pages), not in the log (-wal, checkpointed and truncated on the store's
 * schedule), not in -shm. The same search finds them before the delete, so it does read those
 * files.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { startImapServers, type ImapServers } from '../../../src/imap/server';
import { createAccount, type TestAccount } from '../../helpers/mail-fixtures';
import { imapClient } from '../../e2e/helpers/stack';
import { SmtpHarness } from '../../smtp/helpers/harness';

/** Every file under `dir` holding any of the needles, with which one. */
async function filesHolding(dir: string, needles: Map<string, Buffer>): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    const bytes = await readFile(path).catch(() => null);
    if (!bytes) continue;
    for (const [name, needle] of needles)
      if (bytes.includes(needle)) found.push(`${path}: ${name}`);
  }
  return found;
}

/** An integer as SQLite's record format stores it when it needs six bytes (big-endian). */
function sqliteInt48(value: number): Buffer {
  const bytes = Buffer.alloc(6);
  bytes.writeUIntBE(value, 0, 6);
  return bytes;
}

describe('store [sqlite]: deleted means deleted on disk', function () {
  this.timeout(120_000);
  let h: SmtpHarness;
  let imap: ImapServers;
  let account: TestAccount;

  before(async () => {
    h = await SmtpHarness.start({
      settings: {
        store: { engine: 'sqlite', sqlite: { maintenanceSeconds: 1 } },
        imap: { port: 0, tlsPort: 0 },
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

  it('leaves no byte of a fetched and deleted message, or of its metadata, in any file', async () => {
    const to = `shop@${account.user.username}.${h.domain}`;
    const { code, transcript } = await h.swaks([
      '--to',
      to,
      '--from',
      'x@example.net',
      '--body',
      'x'.repeat(40_000),
    ]);
    expect(code, transcript).to.equal(0);
    const [stored] = await h.deps.store.messages.list(account.user.id);
    if (!stored) throw new Error('nothing stored');
    const ciphertext = await h.deps.store.messages.read(account.user.id, stored);

    // Fetched: received whole by a client, deleted only at its LOGOUT (docs/fetching.md).
    const client = imapClient(imap.plain.port, {
      username: account.user.username,
      password: account.password,
    });
    await client.connect();
    await client.mailboxOpen('INBOX');
    const delivered: Buffer[] = [];
    for await (const message of client.fetch('1:*', { source: true }))
      delivered.push(message.source as Buffer);
    expect(delivered).to.have.length(1);
    const fetchedAt = (await h.deps.store.messages.byUid(account.user.id, stored.uid))?.fetchedAt;
    if (!fetchedAt) throw new Error('the fetch was not recorded');

    const needles = new Map<string, Buffer>([
      ['message id', Buffer.from(stored.id, 'hex')],
      ['message id (hex)', Buffer.from(stored.id)],
      ['arrival time', sqliteInt48(stored.arrivedAt.getTime())],
      ['fetch time', sqliteInt48(fetchedAt.getTime())],
    ]);
    // Slices of the armored ciphertext (the outer MIME headers are alike in every message).
    for (const at of [0.2, 0.4, 0.6, 0.8]) {
      const start = Math.floor(ciphertext.length * at);
      needles.set(`ciphertext at ${at}`, ciphertext.subarray(start, start + 48));
    }
    const dataDir = h.deps.config.dataDir;
    // Until LOGOUT commits the fetch, the message is there, and the search finds every needle.
    const before = await filesHolding(dataDir, needles);
    // (The id is stored as its 12 bytes; its hex form is searched for after the delete only.)
    for (const name of [...needles.keys()].filter((name) => !name.includes('hex')))
      expect(
        before.some((line) => line.endsWith(`: ${name}`)),
        `${name} not found before the delete`,
      ).to.equal(true);

    await client.logout();
    expect(await h.deps.store.messages.count(account.user.id)).to.equal(0);
    // Within a few maintenance periods of both processes, nothing is left.
    let left = await filesHolding(dataDir, needles);
    for (let waited = 0; left.length > 0 && waited < 20_000; waited += 250) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      left = await filesHolding(dataDir, needles);
    }
    expect(left).to.deep.equal([]);
  });
});
