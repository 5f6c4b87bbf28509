/**
 * Scale-out on one machine, on the mongodb engine (stateless nodes on MongoDB and Redis): two
 * SMTP nodes and two daemons, separate processes started with --role, sharing one FerretDB
 * database and one Redis. Mail accepted by either SMTP node is fetched through either daemon; IDLE fires across
 * nodes; two clients fetching one mailbox at once through different daemons lose nothing, and
 * each message is deleted exactly once.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Store } from '../../src/store/store';
import { GpgHome } from '../helpers/gpg';
import { asSent, runFetchmail } from '../helpers/debian-clients';
import {
  decryptedForm,
  deploymentDatabase,
  imapClient,
  imapFetchAll,
  newDeployment,
  originalMessage,
  sendWithSwaks,
  StackProcess,
  type Deployment,
} from './helpers/stack';
import { expectBytes } from '../helpers/bytes';

describe('e2e: scale-out, two SMTP nodes and two daemons on one store', function () {
  this.timeout(240_000);
  const SENDER = 'alice@example.org';
  let deployment: Deployment;
  let smtp: StackProcess[];
  let daemons: StackProcess[];
  let gpg: GpgHome;
  let keyFile: string;
  let store: Store;

  before(async () => {
    deployment = newDeployment('mongodb');
    smtp = await Promise.all([
      StackProcess.start(deployment, 'smtp'),
      StackProcess.start(deployment, 'smtp'),
    ]);
    daemons = await Promise.all([
      StackProcess.start(deployment, 'daemon'),
      StackProcess.start(deployment, 'daemon'),
    ]);
    gpg = await GpgHome.create();
    const key = await gpg.generateKey('curve25519', 'nym');
    keyFile = join(daemons[0]!.dataDir, 'user.asc');
    writeFileSync(keyFile, await gpg.exportPublic(key.fingerprint));
    store = await deploymentDatabase(deployment).open();
  });
  after(async () => {
    await store?.close();
    await gpg?.dispose();
    await Promise.all([...(smtp ?? []), ...(daemons ?? [])].map((node) => node.stop()));
  });

  const node = (list: StackProcess[], i: number): StackProcess => list[i] as StackProcess;

  async function deletedFetched(daemon: StackProcess): Promise<number> {
    const line = (await daemon.metrics())
      .split('\n')
      .find((l) => l.startsWith('kzymy_messages_deleted_total{reason="fetched"}'));
    return Number(line?.split(' ')[1] ?? 0);
  }

  const sortedText = (list: Buffer[]) => list.map((item) => item.toString('latin1')).sort();

  it('fetches through either daemon what either SMTP node accepted', async () => {
    const account = await node(daemons, 0).addUser(keyFile);
    const sent: Buffer[] = [];
    for (const [i, local] of [
      [0, 'via-a'],
      [1, 'via-b'],
    ] as const) {
      const to = `${local}@${account.domain}`;
      const original = originalMessage(local);
      expect(
        await sendWithSwaks(node(smtp, i).ports.smtp as number, SENDER, to, original),
      ).to.match(/250 2\.0\.0/);
      sent.push(decryptedForm(SENDER, to, original));
    }
    // Both messages through daemon B over POP3, then a second round through daemon A over IMAP.
    const viaB = (
      await runFetchmail('POP3', {
        port: node(daemons, 1).ports.pop3 as number,
        username: account.username,
        password: account.password,
      })
    ).delivered.map((c) => asSent('fetchmail', c));
    expect(sortedText(await Promise.all(viaB.map((copy) => gpg.decrypt(copy))))).to.deep.equal(
      sortedText(sent),
    );

    const again = originalMessage('again');
    await sendWithSwaks(
      node(smtp, 1).ports.smtp as number,
      SENDER,
      `again@${account.domain}`,
      again,
    );
    const viaA = await imapFetchAll(node(daemons, 0).ports.imap as number, account);
    expect(viaA).to.have.length(1);
    expectBytes(
      await gpg.decrypt(viaA[0] as Buffer),
      decryptedForm(SENDER, `again@${account.domain}`, again),
    );
    const user = await store.users.byName(account.username);
    expect(await store.messages.count(user?.id as string)).to.equal(0);
  });

  it('wakes an idling client on one daemon for mail accepted by the other SMTP node', async () => {
    const account = await node(daemons, 0).addUser(keyFile);
    for (const [daemon, front] of [
      [0, 1],
      [1, 0],
    ] as const) {
      const client = imapClient(node(daemons, daemon).ports.imap as number, account);
      await client.connect();
      await client.mailboxOpen('INBOX');
      const idling = client.idle().catch(() => undefined);
      try {
        const seen = new Promise<number>((resolve) =>
          client.on('exists', () => resolve(Date.now())),
        );
        const sentAt = Date.now();
        await sendWithSwaks(
          node(smtp, front).ports.smtp as number,
          SENDER,
          `idle@${account.domain}`,
          originalMessage('idle'),
        );
        expect((await seen) - sentAt, `daemon ${daemon}, smtp ${front}`).to.be.below(2000);
      } finally {
        await client.logout().catch(() => undefined);
        await idling;
      }
    }
  });

  it('lets two clients on two daemons fetch one mailbox at once: nothing lost, each message deleted once', async () => {
    const account = await node(daemons, 0).addUser(keyFile);
    const user = await store.users.byName(account.username);
    const before =
      (await deletedFetched(node(daemons, 0))) + (await deletedFetched(node(daemons, 1)));
    const sent: Buffer[] = [];
    for (let i = 0; i < 12; i++) {
      const to = `race${i}@${account.domain}`;
      const original = originalMessage(`race${i}`);
      await sendWithSwaks(node(smtp, i % 2).ports.smtp as number, SENDER, to, original);
      sent.push(decryptedForm(SENDER, to, original));
    }
    const [imap, pop3] = await Promise.all([
      imapFetchAll(node(daemons, 0).ports.imap as number, account),
      runFetchmail('POP3', {
        port: node(daemons, 1).ports.pop3 as number,
        username: account.username,
        password: account.password,
      }),
    ]);
    const delivered = [...imap, ...pop3.delivered.map((c) => asSent('fetchmail', c))];
    // Both may deliver a message (a duplicate is harmless); none may be missing.
    const plaintexts = new Set(
      (await Promise.all(delivered.map((copy) => gpg.decrypt(copy)))).map((p) =>
        p.toString('latin1'),
      ),
    );
    for (const message of sent) expect(plaintexts.has(message.toString('latin1'))).to.equal(true);
    expect(await store.messages.count(user?.id as string)).to.equal(0);
    const after =
      (await deletedFetched(node(daemons, 0))) + (await deletedFetched(node(daemons, 1)));
    expect(after - before, 'deletions counted across both daemons').to.equal(sent.length);
  });
});
