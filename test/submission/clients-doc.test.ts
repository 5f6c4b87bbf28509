/**
 * docs/clients/sending.md run as written: a key made as the signup guide says gets the signing
 * subkey the guide adds, and neomutt with the documented neomuttrc, under torsocks, composes,
 * signs (GPGME) and submits through a stand-in for Tor's onion resolution. The relay receives it
 * From the nym, signed (sign-as-nym is on), with nothing of the machine in it.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { hashPassword } from '../../src/auth/password';
import { checkPublicKey } from '../../src/pgp/key-check';
import { fieldsNamed, readEntity } from '../../src/submission/headers';
import { readSigned } from '../../src/submission/signed-parts';
import { docSnippet, fillIn } from '../kzymy-fetch/helpers/doc-snippets';
import {
  startMicrosocks,
  startOnionProxy,
  type Microsocks,
  type OnionProxy,
} from '../kzymy-fetch/helpers/proxies';
import { GpgHome } from '../helpers/gpg';
import { startSubmission, type SubmissionHarness } from './helpers/harness';
import { drive } from './helpers/pty';

const ONION = 'kzymysendtestonionxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion';
const PASSPHRASE = 'c0rrect-h0rse!battery';

describe('submission: docs/clients/sending.md', function () {
  this.timeout(120_000);
  let harness: SubmissionHarness;
  let socks: Microsocks;
  let onion: OnionProxy;
  let own: GpgHome;
  let home: string;

  before(async () => {
    harness = await startSubmission();
    socks = await startMicrosocks();
    onion = await startOnionProxy(socks.port, { [ONION]: { 587: harness.servers.plain.port } });
    own = await GpgHome.create();
    home = mkdtempSync(join(tmpdir(), 'kzymy-neomutt-'));
  });

  after(async () => {
    await onion?.close();
    await socks?.stop();
    await own?.dispose();
    await harness?.close();
    await rm(home, { recursive: true, force: true });
  });

  it('neomutt under torsocks signs and sends with the documented neomuttrc', async () => {
    // The key as docs/signup.md makes it: certify-only primary, encryption subkey.
    await own.run(['--quick-gen-key', 'nym', 'ed25519', 'cert', 'never']);
    const fingerprint = await own.fingerprintOf('nym');
    await own.run(['--quick-add-key', fingerprint, 'cv25519', 'encr', 'never']);
    const first = await checkPublicKey((await own.exportPublic(fingerprint)).toString());
    if (!first.ok) throw new Error(first.message);
    const password = 'neomutt-test-password';
    const user = await harness.deps.store.users.create({
      fingerprint: first.key.fingerprint,
      publicKey: first.key.armored,
      passwordHash: await hashPassword(password),
      state: 'active',
    });
    await harness.deps.store.users.setSending(user.id, { enabled: true, signAsNym: true });
    const mailDomain = `${user.username}.kzymy.test`;

    // "Your key must be able to sign": the two commands, then what Replace the key stores.
    const addKey = fillIn(docSnippet('clients/sending.md', 'add-sign-key'), {
      FINGERPRINT: fingerprint,
    });
    // In a terminal, as a person runs them: gpg's pinentry asks for a passphrase for the new
    // subkey, twice.
    const [addLine, exportLine] = addKey.trim().split('\n') as [string, string];
    const gpgEnv = { ...process.env, GNUPGHOME: own.dir };
    const added = await drive(
      `cd ${home} && ${addLine}`,
      gpgEnv,
      [
        { wait: /protect your new key/, send: `${PASSPHRASE}\r` },
        { wait: /re-enter/, send: `${PASSPHRASE}\r` },
      ],
      30_000,
    );
    expect(added.code, added.screen).to.equal(0);
    const exported = await drive(`cd ${home} && ${exportLine}`, gpgEnv, [], 30_000);
    expect(exported.code, exported.screen).to.equal(0);
    const signing = await checkPublicKey(readFileSync(join(home, 'nym.asc'), 'utf8'));
    if (!signing.ok) throw new Error(signing.message);
    await harness.deps.store.users.setKey(user.id, signing.key.fingerprint, signing.key.armored);

    const rc = fillIn(docSnippet('clients/sending.md', 'neomuttrc'), {
      'USERNAME.DOMAIN': mailDomain,
      USERNAME: user.username,
      'YOUR-SERVER.onion': ONION,
      FINGERPRINT: fingerprint,
    });
    mkdirSync(join(home, '.config', 'kzymy'), { recursive: true });
    writeFileSync(join(home, '.config', 'kzymy', 'neomuttrc'), rc);
    // A home as a neomutt user has it, and an "editor" that writes the text and quits.
    mkdirSync(join(home, 'Mail'));
    const editor = join(home, 'editor.sh');
    writeFileSync(editor, '#!/bin/sh\nprintf "Hello from neomutt over Tor.\\n" > "$1"\n');
    chmodSync(editor, 0o755);
    const command = fillIn(docSnippet('clients/sending.md', 'neomutt-command'), {
      SUBJECT: 'hello from neomutt',
      ADDRESS: 'friend@example.org',
    }).trim();
    const relayed = harness.relay.received.length;

    const result = await drive(
      command,
      {
        ...process.env,
        HOME: home,
        GNUPGHOME: own.dir,
        EDITOR: editor,
        VISUAL: editor,
        // torsocks reads these instead of the 9050 of /etc/tor/torsocks.conf.
        TORSOCKS_TOR_ADDRESS: '127.0.0.1',
        TORSOCKS_TOR_PORT: String(onion.port),
      },
      [
        { wait: /To:\s+friend@example\.org/, send: '\r' },
        { wait: /Subject:\s+hello from neomutt/, send: '\r' },
        { wait: /Security:\s+Sign \(PGP\/MIME\)/, send: 'y' },
        // GnuPG's pinentry, for the signing subkey.
        { wait: /Passphrase:/, send: `${PASSPHRASE}\r` },
        { wait: /[Pp]assword/, send: `${password}\r` },
      ],
      60_000,
    );

    expect(harness.relay.received.length, result.screen).to.equal(relayed + 1);
    const message = harness.relay.received[relayed]!;
    expect(message.from).to.equal(`nym@${mailDomain}`);
    expect(message.to).to.deep.equal(['friend@example.org']);
    const entity = readEntity(message.raw.toString('latin1'))!;
    expect(fieldsNamed(entity, 'from')[0]?.value).to.match(new RegExp(`nym@${mailDomain}`));
    expect(fieldsNamed(entity, 'user-agent')).to.deep.equal([]);
    expect(fieldsNamed(entity, 'message-id')[0]?.value).to.match(/@kzymy\.test>$/);
    const signed = readSigned(entity);
    expect(signed.ok, 'sign-as-nym keeps the multipart/signed structure').to.equal(true);
    if (signed.ok) expect(signed.parts.signed).to.include('Hello from neomutt over Tor.');
    // The onion name went to the (stand-in) Tor as a name, never to DNS.
    expect(onion.requests.some((r) => r.host === ONION && r.addressType === 3)).to.equal(true);
  });
});
