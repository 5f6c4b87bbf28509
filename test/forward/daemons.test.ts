/**
 * Forwarding as deployed: `node dist/src/main.js` processes — one SMTP node and two daemons with
 * `forward.enabled`, through microsocks standing in for Tor — sharing one store (the run's
 * engine: one sqlite file, or a database on the run's FerretDB with KZYMY_TEST_STORE=mongodb)
 * and the run's Redis. The operator sets the destination with `kzymy user set`, the code comes back from the
 * destination, and every message swaks sends arrives there once, whichever daemon sent it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { projectRoot } from '../../src/util/project-root';
import type { Store } from '../../src/store/store';
import type { TestDatabase } from '../helpers/engines';
import { GpgHome } from '../helpers/gpg';
import { testEngine } from '../helpers/services';
import {
  deploymentDatabase,
  newDeployment,
  originalMessage,
  sendWithSwaks,
  StackProcess,
  type Deployment,
} from '../e2e/helpers/stack';
import { PROXY_EXIT, startMicrosocks, type Microsocks } from '../kzymy-fetch/helpers/proxies';
import { startDestination, type TestDestination } from './helpers/destination';
import { waitFor } from './helpers/fixture';

const run = promisify(execFile);
const CLI = join(projectRoot(), 'dist', 'src', 'cli', 'kzymy.js');

describe('forward: deployed processes, two daemons, one destination', function () {
  this.timeout(240_000);
  let deployment: Deployment;
  let socks: Microsocks;
  let destination: TestDestination;
  let smtp: StackProcess;
  let daemons: StackProcess[];
  let gpg: GpgHome;
  let database: TestDatabase;
  let store: Store;

  before(async () => {
    deployment = newDeployment(testEngine());
    socks = await startMicrosocks();
    destination = await startDestination();
    const forward = {
      enabled: true,
      proxy: `socks5h://127.0.0.1:${socks.port}`,
      retryMinSeconds: 1,
      retryMaxSeconds: 2,
      scanIntervalSeconds: 2,
      timeoutSeconds: 20,
      // The destination is on loopback: a literal private address, refused by default.
      allowPrivateHosts: true,
    };
    smtp = await StackProcess.start(deployment, 'smtp', { forward });
    daemons = await Promise.all([
      StackProcess.start(deployment, 'daemon', { forward }),
      StackProcess.start(deployment, 'daemon', { forward }),
    ]);
    gpg = await GpgHome.create();
    database = deploymentDatabase(deployment);
    store = await database.open();
  });
  after(async () => {
    await store?.close();
    await database?.close();
    await gpg?.dispose();
    await Promise.all([smtp, ...(daemons ?? [])].filter(Boolean).map((node) => node.stop()));
    await destination?.close();
    await socks?.stop();
  });

  const daemon = (i: number): StackProcess => daemons[i] as StackProcess;

  async function forwardedBy(node: StackProcess): Promise<number> {
    const line = (await node.metrics())
      .split('\n')
      .find((l) => l.startsWith('kzymy_forwards_total{result="delivered"}'));
    return Number(line?.split(' ')[1] ?? 0);
  }

  it('forwards each message once, through the proxy, after the operator set the destination up', async () => {
    const key = await gpg.generateKey('curve25519', 'nym');
    const keyFile = join(daemon(0).dataDir, 'user.asc');
    writeFileSync(keyFile, await gpg.exportPublic(key.fingerprint));
    const account = await daemon(0).addUser(keyFile);
    const config = daemon(0).configFile;

    await run(process.execPath, [
      CLI,
      'user',
      'set',
      account.username,
      '--forward',
      'nym@example.org',
      '--forward-host',
      `127.0.0.1:${destination.port}`,
      '--config',
      config,
    ]);
    const codeMail = destination.received.at(-1);
    expect(codeMail?.remote).to.equal(PROXY_EXIT);
    const code = /^Forwarding code:\s+(\S+)\r?$/m.exec(
      (await gpg.decrypt(codeMail?.data ?? '')).toString('utf8'),
    )?.[1];
    await run(process.execPath, [
      CLI,
      'user',
      'set',
      account.username,
      '--forward-code',
      code ?? '',
      '--config',
      config,
    ]);

    const before = destination.received.length;
    const sent: string[] = [];
    for (let i = 0; i < 12; i++) {
      const original = originalMessage(`fwd${i}`);
      sent.push(original.toString('latin1'));
      expect(
        await sendWithSwaks(
          smtp.ports.smtp as number,
          'alice@example.org',
          `fwd${i}@${account.domain}`,
          original,
        ),
      ).to.match(/250 2\.0\.0/);
    }
    const user = await store.users.byName(account.username);
    await waitFor(
      'every message forwarded and gone',
      async () =>
        destination.received.length - before >= 12 &&
        (await store.messages.count(user?.id ?? '')) === 0,
      60_000,
    );
    // A moment more: a second copy, if either daemon were to send one, would arrive now.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const got = destination.received.slice(before);
    expect(got).to.have.length(12);
    const digests = got.map((r) => createHash('sha256').update(r.data).digest('hex'));
    expect(new Set(digests).size).to.equal(12);
    for (const r of got) expect(r.remote).to.equal(PROXY_EXIT);
    // Every original is in exactly one forwarded ciphertext.
    const opened = await Promise.all(
      got.map(async (r) => (await gpg.decrypt(r.data)).toString('latin1')),
    );
    for (const original of sent) {
      expect(opened.filter((text) => text.endsWith(original))).to.have.length(1);
    }
    const counts = await Promise.all([forwardedBy(daemon(0)), forwardedBy(daemon(1))]);
    expect(counts[0] + counts[1]).to.equal(12);
  });
});
