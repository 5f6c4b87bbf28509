/**
 * Sending as the nym as an operator runs it: `node dist/src/main.js --role daemon` with sending
 * enabled and a relay configured, a user added and switched on with the `kzymy` CLI, and a
 * GnuPG-signed message submitted with swaks reaching the relay From the nym, with a valid DKIM
 * signature and none of the submitting machine's headers.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { projectRoot } from '../../src/util/project-root';
import { loadTls } from '../../src/tls/material';
import type { User } from '../../src/store/types';
import { GpgHome } from '../helpers/gpg';
import { testDataDir } from '../helpers/services';
import {
  MACHINE_HEADERS,
  RELAY_PASSWORD,
  RELAY_USER,
  signedMessage,
  startRelay,
  swaksSubmit,
  type Relay,
} from '../submission/helpers/harness';
import { newDeployment, StackProcess } from './helpers/stack';

const run = promisify(execFile);
const CLI = join(projectRoot(), 'dist', 'src', 'cli', 'kzymy.js');

describe('e2e: sending as the nym through the daemon role', function () {
  this.timeout(120_000);
  let relay: Relay;
  let stack: StackProcess;
  let gpg: GpgHome;
  let dkimRecord: string;

  before(async () => {
    const dir = mkdtempSync(join(testDataDir(), 'e2e-send-'));
    const tls = await loadTls({ key: '', cert: '', dataDir: testDataDir(), domain: 'kzymy.test' });
    relay = await startRelay(tls);
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyFile = join(dir, 'dkim.pem');
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    dkimRecord = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
    stack = await StackProcess.start(newDeployment(), 'daemon', {
      send: {
        enabled: true,
        port: 0,
        tlsPort: 0,
        relay: {
          url: `smtp://${RELAY_USER}:${RELAY_PASSWORD}@127.0.0.1:${relay.port}`,
          caFile: tls.certFile,
        },
        dkim: { keyFile },
      },
    });
    gpg = await GpgHome.create();
  });

  after(async () => {
    await stack?.stop();
    await relay?.close();
    await gpg?.dispose();
  });

  it('sends a signed message to the relay: From the nym, DKIM-valid, nothing of the machine', async () => {
    expect(stack.ports.submission).to.be.a('number');
    expect(stack.ports.submissions).to.be.a('number');
    const key = await gpg.generateKey('curve25519', 'nym');
    const keyFile = join(mkdtempSync(join(testDataDir(), 'e2e-key-')), 'nym.asc');
    writeFileSync(keyFile, await gpg.exportPublic(key.fingerprint));
    const added = await stack.addUser(keyFile);
    await run(process.execPath, [
      CLI,
      'user',
      'set',
      added.username,
      '--send',
      'on',
      '--config',
      stack.configFile,
    ]);

    const canary = `canary-${randomBytes(6).toString('hex')}`;
    const sender = {
      user: { username: added.username } as User,
      password: added.password,
      fingerprint: key.fingerprint,
      mailDomain: added.domain,
    };
    const from = `nym@${added.domain}`;
    const data = await signedMessage(sender, gpg, {
      from,
      to: ['friend@example.org'],
      subject: `e2e ${canary}`,
      body: `Sent through the daemon: ${canary}`,
    });
    const result = await swaksSubmit(stack.ports.submission as number, {
      user: added.username,
      password: added.password,
      from,
      to: ['friend@example.org'],
      data,
    });

    expect(result.last, result.transcript).to.equal('250 2.0.0 Sent');
    expect(relay.received).to.have.length(1);
    const message = relay.received[0]!;
    expect(message.from).to.equal(from);
    const text = message.raw.toString('latin1');
    expect(text).to.include(`From: Nym <${from}>`);
    expect(text).to.include(canary);
    for (const line of MACHINE_HEADERS) expect(text).not.to.include(line);
    const dkim = await dkimVerify(message.raw, {
      resolver: async (name: string, type: string) => {
        if (type === 'TXT' && name === 'kzymy._domainkey.kzymy.test') return [[dkimRecord]];
        throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      },
    });
    expect(dkim.results[0]?.status.result).to.equal('pass');
    // The daemon's own output holds nothing of it.
    const output = stack.output.join('\n');
    expect(output).to.include('submission.login');
    expect(output).not.to.include(canary);
    expect(output).not.to.include('friend@example.org');
  });
});
