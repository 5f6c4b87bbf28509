/**
 * Key validation through the signup endpoint, against real keys GnuPG makes in the test: the
 * right page and the right, actionable message for each kind; a secret key is refused and its
 * material reaches neither the database, nor the logs, nor the response.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { GpgHome, type TestKey, type TestKeyKind } from '../helpers/gpg';
import { testDataDir } from '../helpers/services';
import { startWeb, type WebHarness } from './helpers/harness';
import { problemText, unescapeHtml, WebClient } from './helpers/http';
import { submitKey } from './helpers/signup';

describe('web signup: key validation', function () {
  this.timeout(120_000);
  let gpg: GpgHome;
  let web: WebHarness;
  const keys = new Map<TestKeyKind, TestKey>();
  const exported = new Map<TestKeyKind, string>();

  before(async () => {
    gpg = await GpgHome.create();
    const kinds: TestKeyKind[] = [
      'rsa2048',
      'rsa4096',
      'curve25519',
      'expired',
      'revoked',
      'sign-only',
      'rsa1024',
      'expiring-soon',
    ];
    for (const kind of kinds) {
      const key = await gpg.generateKey(kind);
      keys.set(kind, key);
      exported.set(kind, (await gpg.exportPublic(key.fingerprint)).toString('utf8'));
    }
    web = await startWeb();
  });

  after(async () => {
    await web?.close();
    await gpg?.dispose();
  });

  const accepted: Array<[TestKeyKind, string]> = [
    ['rsa2048', 'rsa2048'],
    ['rsa4096', 'rsa4096'],
    ['curve25519', 'ed25519+cv25519'],
  ];
  for (const [kind, algorithm] of accepted) {
    it(`accepts ${kind} and shows its user ID, the visibility warning and the proof of work`, async () => {
      const key = keys.get(kind) as TestKey;
      const res = await submitKey(new WebClient(web.base), exported.get(kind) as string);
      expect(res.status).to.equal(200);
      const page = unescapeHtml(res.body);
      expect(page).to.include(key.userId);
      expect(page).to.include(algorithm);
      expect(page).to.include('The server stores this key, so it can read these user IDs');
      expect(page).to.include('data-pow-challenge="k1.10.');
      expect(page).to.include('python3 -c');
      expect(problemText(res.body)).to.equal(null);
    });
  }

  it('accepts a binary key uploaded as a file', async () => {
    const binary = await gpg.exportPublic((keys.get('curve25519') as TestKey).fingerprint, false);
    const res = await submitKey(new WebClient(web.base), binary, true);
    expect(res.status).to.equal(200);
    expect(unescapeHtml(res.body)).to.include((keys.get('curve25519') as TestKey).userId);
  });

  it('warns about a key that expires within 30 days', async () => {
    const res = await submitKey(new WebClient(web.base), exported.get('expiring-soon') as string);
    expect(res.status).to.equal(200);
    expect(unescapeHtml(res.body)).to.match(/This key expires on \d{4}-\d\d-\d\d \(in \d days\)/);
  });

  const refused: Array<[string, () => string | Buffer, RegExp]> = [
    ['an expired key', () => exported.get('expired') as string, /This key has expired\./],
    ['a revoked key', () => exported.get('revoked') as string, /has been revoked/],
    [
      'a sign-only key',
      () => exported.get('sign-only') as string,
      /no usable encryption subkey[\s\S]*quick-add-key/,
    ],
    ['RSA-1024', () => exported.get('rsa1024') as string, /RSA shorter than 2048 bits/],
    [
      'two keys in one paste',
      () => (exported.get('rsa2048') as string) + (exported.get('curve25519') as string),
      /more than one key/,
    ],
    [
      'garbage',
      () => 'hello, this is not a key\n',
      /OpenPGP public key[\s\S]*gpg --armor --export/,
    ],
    ['an empty paste', () => '   ', /Paste your public key/],
  ];
  for (const [name, input, message] of refused) {
    it(`refuses ${name} with a specific message and no proof of work`, async () => {
      const res = await submitKey(new WebClient(web.base), input());
      expect(res.status).to.equal(422);
      expect(problemText(res.body)).to.match(message);
      expect(res.body).not.to.include('data-pow-challenge');
    });
  }

  it('refuses both keys exported in one binary file', async () => {
    const fprs = [keys.get('rsa2048'), keys.get('curve25519')].map(
      (k) => (k as TestKey).fingerprint,
    );
    const res = await submitKey(new WebClient(web.base), await gpg.exportPublic(fprs, false), true);
    expect(res.status).to.equal(422);
    expect(problemText(res.body)).to.match(/more than one key/);
  });

  it('refuses a secret key, says it is exposed, and keeps no trace of it anywhere', async () => {
    const fingerprint = (keys.get('curve25519') as TestKey).fingerprint;
    const secret = (await gpg.exportSecret(fingerprint)).toString('utf8');
    const secretBinary = (await gpg.run(['--export-secret-keys', fingerprint])).stdout;
    const publicArmor = exported.get('curve25519') as string;
    // Lines of the secret export that the public export does not contain: secret material.
    const needles = armorLines(secret).filter((line) => !publicArmor.includes(line));
    expect(needles.length).to.be.greaterThan(2);

    const client = new WebClient(web.base);
    const pasted = await submitKey(client, secret);
    const uploaded = await submitKey(client, secretBinary, true);
    for (const res of [pasted, uploaded]) {
      expect(res.status).to.equal(422);
      const text = problemText(res.body) as string;
      expect(text).to.match(/This is a PRIVATE key\..*not stored/);
      expect(text).to.match(/treat it as exposed/);
      expect(res.body).not.to.include('PRIVATE KEY BLOCK');
    }

    const database = await web.deps.store.users.list();
    expect(database).to.have.length(0);
    const logs = web.deps.logLines.join('\n');
    expect(logs).to.include('"problem":"private-key"');
    const stored = filesUnder(testDataDir()).map((file) => readFileSync(file).toString('latin1'));
    const binaryNeedle = secretBinary.subarray(secretBinary.length - 48).toString('latin1');
    for (const needle of needles) {
      expect(pasted.body + uploaded.body).not.to.include(needle);
      expect(logs).not.to.include(needle);
      for (const content of stored) expect(content.includes(needle)).to.equal(false);
    }
    for (const content of stored) expect(content.includes(binaryNeedle)).to.equal(false);
  });
});

function armorLines(armored: string): string[] {
  return armored.split(/\r?\n/).filter((line) => /^[A-Za-z0-9+/]{40,}={0,2}$/.test(line));
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) continue;
    if (stat.isDirectory()) out.push(...filesUnder(path));
    else if (stat.isFile()) out.push(path);
  }
  return out;
}
