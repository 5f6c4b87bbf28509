/**
 * The whole stack as `npm start` runs it (one process, role all): mail sent with swaks through
 * Haraka, encrypted, stored, and fetched by every real client the guides name — fetchmail and
 * getmail6 over IMAP and POP3, mbsync, imapflow — then decrypted with gpg to the original. The
 * server keeps nothing afterwards. Plus IDLE, the process's own output, and a clean stop.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { Store } from '../../src/store/store';
import { GpgHome } from '../helpers/gpg';
import {
  asSent,
  runFetchmail,
  runGetmail,
  runMbsync,
  type ClientTarget,
} from '../helpers/debian-clients';
import { filesContaining } from '../helpers/programs';
import type { TestDatabase } from '../helpers/engines';
import {
  decryptedForm,
  imapClient,
  imapFetchAll,
  deploymentDatabase,
  newDeployment,
  originalMessage,
  sendWithSwaks,
  StackProcess,
  type Deployment,
} from './helpers/stack';

const run = promisify(execFile);

describe('e2e: the whole stack, as npm start runs it', function () {
  this.timeout(180_000);
  const SENDER = 'alice@example.org';
  let deployment: Deployment;
  let stack: StackProcess;
  let gpg: GpgHome;
  let keyFile: string;
  let store: Store;
  let database: TestDatabase;

  before(async () => {
    deployment = newDeployment();
    stack = await StackProcess.start(deployment, 'all');
    gpg = await GpgHome.create();
    const key = await gpg.generateKey('curve25519', 'nym');
    keyFile = join(stack.dataDir, 'user.asc');
    writeFileSync(keyFile, await gpg.exportPublic(key.fingerprint));
    database = deploymentDatabase(deployment);
    store = await database.open();
  });
  after(async () => {
    await database?.close();
    await store?.close();
    await gpg?.dispose();
    await stack?.stop();
  });

  /** A user made by the admin CLI, with two messages sent to two of its addresses. */
  async function mailbox(label: string) {
    const account = await stack.addUser(keyFile);
    const sent: Buffer[] = [];
    for (const local of ['shop', 'newsletter']) {
      const to = `${local}@${account.domain}`;
      const original = originalMessage(label);
      const transcript = await sendWithSwaks(stack.ports.smtp as number, SENDER, to, original);
      expect(transcript).to.match(/<- {2}250 2\.0\.0 Message accepted/);
      sent.push(decryptedForm(SENDER, to, original));
    }
    return { account, sent };
  }

  async function expectDecryptsTo(delivered: Buffer[], sent: Buffer[]): Promise<void> {
    expect(delivered).to.have.length(sent.length);
    const plaintexts = await Promise.all(delivered.map((copy) => gpg.decrypt(copy)));
    const asText = (list: Buffer[]) => list.map((item) => item.toString('latin1')).sort();
    expect(asText(plaintexts)).to.deep.equal(asText(sent));
  }

  async function expectServerEmpty(username: string): Promise<void> {
    const user = await store.users.byName(username);
    expect(user, 'the account is still there').to.not.equal(null);
    expect(await store.messages.list(user?.id as string)).to.deep.equal([]);
    // No ciphertext left anywhere: each test's accounts are emptied before the next one's.
    expect((await database.counts()).chunks).to.equal(0);
  }

  const target = (account: { username: string; password: string }, port: number): ClientTarget => ({
    port,
    username: account.username,
    password: account.password,
  });

  const clients: Array<
    [string, (account: { username: string; password: string }) => Promise<Buffer[]>]
  > = [
    [
      'fetchmail over IMAP',
      async (a) =>
        (await runFetchmail('IMAP', target(a, stack.ports.imap as number))).delivered.map((c) =>
          asSent('fetchmail', c),
        ),
    ],
    [
      'fetchmail over POP3',
      async (a) =>
        (await runFetchmail('POP3', target(a, stack.ports.pop3 as number))).delivered.map((c) =>
          asSent('fetchmail', c),
        ),
    ],
    [
      'getmail6 over IMAP',
      async (a) =>
        (await runGetmail('IMAP', target(a, stack.ports.imap as number))).delivered.map((c) =>
          asSent('getmail', c),
        ),
    ],
    [
      'getmail6 over POP3',
      async (a) =>
        (await runGetmail('POP3', target(a, stack.ports.pop3 as number))).delivered.map((c) =>
          asSent('getmail', c),
        ),
    ],
    [
      'mbsync',
      async (a) =>
        (await runMbsync(target(a, stack.ports.imap as number))).delivered.map((c) =>
          asSent('mbsync', c),
        ),
    ],
    ['imapflow', (a) => imapFetchAll(stack.ports.imap as number, a)],
  ];

  for (const [name, fetchAll] of clients) {
    it(`${name} fetches mail sent through Haraka; gpg decrypts it to the original; the server keeps nothing`, async () => {
      const { account, sent } = await mailbox(name.replace(/\W+/g, '-'));
      const delivered = await fetchAll(account);
      await expectDecryptsTo(delivered, sent);
      await expectServerEmpty(account.username);
    });
  }

  it('tells an idling IMAP client about mail accepted by Haraka within 2 seconds', async () => {
    const account = await stack.addUser(keyFile);
    const client = imapClient(stack.ports.imap as number, account);
    await client.connect();
    await client.mailboxOpen('INBOX');
    // imapflow would enter IDLE by itself only after 15 s without a command; start it now. The
    // promise settles when IDLE ends (at logout), so it is not awaited here.
    const idling = client.idle().catch(() => undefined);
    try {
      const seen = new Promise<number>((resolve) => client.on('exists', () => resolve(Date.now())));
      const sentAt = Date.now();
      await sendWithSwaks(
        stack.ports.smtp as number,
        SENDER,
        `idle@${account.domain}`,
        originalMessage('idle'),
      );
      const elapsed = (await seen) - sentAt;
      expect(elapsed).to.be.below(2000);
    } finally {
      await client.logout().catch(() => undefined);
      await idling;
    }
  });

  it('writes no subject, body, address or password into its output or its files', async () => {
    const account = await stack.addUser(keyFile);
    const original = originalMessage('canary');
    const token = /Subject: e2e (\S+)/.exec(original.toString())?.[1] as string;
    await sendWithSwaks(stack.ports.smtp as number, SENDER, `canary@${account.domain}`, original);
    await runFetchmail('POP3', target(account, stack.ports.pop3 as number));
    const output = stack.output.join('\n');
    for (const secret of [
      token,
      SENDER,
      `canary@${account.domain}`,
      account.password,
      '127.0.0.1:',
    ]) {
      expect(output, secret).not.to.include(secret);
    }
    expect(filesContaining(stack.dataDir, token)).to.deep.equal([]);
  });

  it('stops cleanly on SIGTERM, Haraka included', async () => {
    const { stdout } = await run('pgrep', ['-P', String(stack.child.pid)]);
    const children = stdout.trim().split('\n').map(Number);
    expect(children, 'Haraka runs as a child process').to.have.length.at.least(1);
    expect(await stack.stop()).to.equal(0);
    for (const pid of children) expect(() => process.kill(pid, 0), `child ${pid}`).to.throw();
  });
});
