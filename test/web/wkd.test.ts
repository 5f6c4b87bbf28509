/**
 * The Web Key Directory against real GnuPG: hashes as `gpg-wks-client` computes them, the key
 * bytes read back by `gpg --import`, and `gpg --locate-keys` fetching the key through its own
 * dirmngr over TLS (the direct method, the advanced one, and the wildcard pitfall that
 * docs/operations/wkd.md warns about).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { checkPublicKey } from '../../src/pgp/key-check';
import { wkdHash } from '../../src/pgp/wkd';
import type { User } from '../../src/store/types';
import { docSnippet, fillIn } from '../kzymy-fetch/helpers/doc-snippets';
import { GpgHome } from '../helpers/gpg';
import { startWeb, type WebHarness } from './helpers/harness';
import {
  canUnshareMounts,
  createTestCa,
  gpgInNamespace,
  startTlsFront,
  type TestCa,
} from './helpers/tls-front';

const run = promisify(execFile);
/** Debian puts it outside PATH (package gpg-wks-client). */
const WKS_CLIENT = '/usr/lib/gnupg/gpg-wks-client';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A request with the Host header a WKD client would send (fetch() does not let us set it). */
function ask(port: number, host: string, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

async function wksClient(command: string, address: string): Promise<string> {
  const { stdout } = await run(WKS_CLIENT, [command, address]);
  return stdout.trim();
}

/** The user IDs of `gpg --import`ed bytes, as a fresh GnuPG home lists them. */
async function importedUserIds(bytes: Buffer): Promise<{ fingerprint: string; uids: string[] }> {
  const home = await GpgHome.create();
  try {
    await home.importKeys(bytes);
    const { stdout } = await home.run(['--with-colons', '--list-keys']);
    const lines = stdout.toString('utf8').split('\n');
    const fingerprint = lines.find((l) => l.startsWith('fpr:'))?.split(':')[9] ?? '';
    const uids = lines.filter((l) => l.startsWith('uid:')).map((l) => l.split(':')[9] ?? '');
    return { fingerprint, uids };
  } finally {
    await home.dispose();
  }
}

/** The check command of docs/wkd.md for `address`, as an argument list. */
function locateCommand(address: string): string[] {
  return fillIn(docSnippet('wkd.md', 'locate'), { 'nym@USERNAME.DOMAIN': address })
    .trim()
    .split(/\s+/);
}

describe('web: Web Key Directory', function () {
  this.timeout(120_000);
  let gpg: GpgHome;
  let web: WebHarness;
  let fingerprint: string;
  let user: User;
  const name = `w${randomBytes(5).toString('hex')}`;
  const mailDomain = `${name}.kzymy.test`;
  const nym = `nym@${mailDomain}`;
  const other = `Other.Name@${mailDomain}`;

  before(async () => {
    gpg = await GpgHome.create();
    const key = await gpg.generateKey('curve25519', nym);
    fingerprint = key.fingerprint;
    for (const uid of [
      `Other Name <${other}>`,
      'someone@elsewhere.example',
      'a name and no address',
      `killed@${mailDomain}`,
      `Elsewhere <also@${name}.other.test>`,
    ]) {
      await gpg.run(['--quick-add-uid', fingerprint, uid]);
    }
    const checked = await checkPublicKey(await gpg.exportPublic(fingerprint).then(String));
    if (!checked.ok) throw new Error(checked.message);
    web = await startWeb();
    user = await web.deps.store.users.create({
      username: name,
      fingerprint: checked.key.fingerprint,
      publicKey: checked.key.armored,
      passwordHash: 'unused',
      state: 'active',
    });
    await web.deps.store.users.disableAddress(user.id, 'killed');
  });

  after(async () => {
    await web?.close();
    await gpg?.dispose();
  });

  it('hashes local parts exactly as gpg-wks-client --print-wkd-hash', async () => {
    const addresses = [
      'Joe.Doe@Example.ORG',
      nym,
      other,
      'a+tag@x.test',
      'UPPER_case-99@x.test',
      "o'brien@x.test",
      'Ünï@x.test',
    ];
    for (const address of addresses) {
      const [hash, printed] = (await wksClient('--print-wkd-hash', address)).split(' ');
      const local = address.slice(0, address.lastIndexOf('@'));
      expect(wkdHash(local), address).to.equal(hash);
      expect(printed).to.equal(address.replace(/[A-Z]/g, (c) => c.toLowerCase()));
    }
  });

  it('serves the key with only the asked user ID at the direct-method URL', async () => {
    const hash = wkdHash('nym');
    const answer = await ask(
      web.server.port,
      mailDomain,
      `/.well-known/openpgpkey/hu/${hash}?l=nym`,
    );
    expect(answer.status).to.equal(200);
    expect(answer.headers['content-type']).to.equal('application/octet-stream');
    expect(answer.headers['access-control-allow-origin']).to.equal('*');
    // draft §3.1: binary, never armored.
    expect(answer.body.subarray(0, 5).toString('latin1')).not.to.equal('-----');
    const imported = await importedUserIds(answer.body);
    expect(imported.fingerprint).to.equal(fingerprint);
    expect(imported.uids).to.deep.equal([nym]);

    const second = await ask(
      web.server.port,
      `${mailDomain}.:443`,
      `/.well-known/openpgpkey/hu/${wkdHash('Other.Name')}?l=Other.Name`,
    );
    expect(second.status).to.equal(200);
    expect((await importedUserIds(second.body)).uids).to.deep.equal([`Other Name <${other}>`]);
  });

  it('answers HEAD as GET, without a body', async () => {
    const answer = await ask(
      web.server.port,
      mailDomain,
      `/.well-known/openpgpkey/hu/${wkdHash('nym')}`,
      'HEAD',
    );
    expect(answer.status).to.equal(200);
    expect(answer.headers['content-type']).to.equal('application/octet-stream');
    expect(answer.body.length).to.equal(0);
  });

  it('serves the advanced method at the URL gpg-wks-client prints, and only there', async () => {
    const url = new URL(await wksClient('--print-wkd-url', nym));
    expect(url.hostname).to.equal(`openpgpkey.${mailDomain}`);
    const path = url.pathname + url.search;
    const answer = await ask(web.server.port, url.hostname, path);
    expect(answer.status).to.equal(200);
    expect((await importedUserIds(answer.body)).uids).to.deep.equal([nym]);

    // The path must name this host's mail domain; the direct path is not served on this host,
    // nor the advanced one on the direct host.
    const hu = `hu/${wkdHash('nym')}`;
    const elsewhere = `/.well-known/openpgpkey/x${mailDomain}/${hu}`;
    expect((await ask(web.server.port, url.hostname, elsewhere)).status).to.equal(404);
    const direct = `/.well-known/openpgpkey/${hu}`;
    expect((await ask(web.server.port, url.hostname, direct)).status).to.equal(404);
    expect((await ask(web.server.port, mailDomain, url.pathname)).status).to.equal(404);
  });

  it('gives one and the same empty 404 for everything it does not publish', async () => {
    const pending = await web.deps.store.users.create({
      username: `p${randomBytes(5).toString('hex')}`,
      fingerprint: user.fingerprint,
      publicKey: user.publicKey,
      passwordHash: 'unused',
      state: 'pending',
    });
    const direct = (local: string): string => `/.well-known/openpgpkey/hu/${wkdHash(local)}`;
    const cases: Array<[string, string, string]> = [
      ['an address that is no user ID', mailDomain, direct('nobody')],
      ['a user ID outside the subdomain', mailDomain, direct('someone')],
      ['a user ID under another domain', mailDomain, direct('also')],
      ['a disabled address', mailDomain, direct('killed')],
      ['an unknown user', `zz${randomBytes(4).toString('hex')}.kzymy.test`, direct('nym')],
      ['a pending user', `${pending.username}.kzymy.test`, direct('nym')],
      ["the service's own host", 'kzymy.test', direct('nym')],
      ['a deeper host', `a.${mailDomain}`, direct('nym')],
      ['a malformed hash', mailDomain, '/.well-known/openpgpkey/hu/NOT-A-HASH'],
    ];
    const answers = await Promise.all(
      cases.map(([, host, path]) => ask(web.server.port, host, path)),
    );
    const shape = (a: Answer): string =>
      JSON.stringify({
        status: a.status,
        body: a.body.toString('base64'),
        type: a.headers['content-type'] ?? null,
        cache: a.headers['cache-control'],
      });
    for (const [index, answer] of answers.entries()) {
      expect(answer.status, cases[index]?.[0]).to.equal(404);
      expect(shape(answer), cases[index]?.[0]).to.equal(shape(answers[0] as Answer));
    }
    expect(answers[0]?.body.length).to.equal(0);
  });

  it('serves an empty policy file for every user-shaped host, known or not', async () => {
    const unknown = `zz${randomBytes(4).toString('hex')}.kzymy.test`;
    for (const host of [mailDomain, unknown]) {
      const direct = await ask(web.server.port, host, '/.well-known/openpgpkey/policy');
      expect(direct.status, host).to.equal(200);
      expect(direct.body.length).to.equal(0);
      const advanced = await ask(
        web.server.port,
        `openpgpkey.${host}`,
        `/.well-known/openpgpkey/${host}/policy`,
      );
      expect(advanced.status, host).to.equal(200);
    }
    const own = await ask(web.server.port, 'kzymy.test', '/.well-known/openpgpkey/policy');
    expect(own.status).to.equal(404);
  });

  describe('gpg --locate-keys through its dirmngr', function () {
    let ca: TestCa;
    let rootless = false;

    before(async function () {
      rootless = !(await canUnshareMounts());
      ca = await createTestCa();
    });

    after(async () => {
      await ca?.dispose();
    });

    beforeEach(function () {
      // GnuPG trusts only the system CA bundle for WKD; only root can swap it for the test CA
      // in a private mount namespace. Everything above runs regardless.
      if (rootless) this.skip();
    });

    /** A fresh GnuPG home (a dirmngr keeps its first namespace and caches WKD results). */
    async function locate(
      certNames: readonly string[],
      hosts: readonly string[] = [],
      command: readonly string[] = locateCommand(nym),
    ): Promise<{ code: number | null; out: string; connects: string[]; uids: string[] }> {
      const front = await startTlsFront(await ca.issue(certNames), web.server.port);
      const home = await GpgHome.create();
      try {
        const result = await gpgInNamespace({
          homedir: home.dir,
          command,
          proxyPort: front.port,
          caCert: ca.caCert,
          hosts,
        });
        const listed = await home
          .run(['--with-colons', '--list-keys'])
          .then((r) => r.stdout.toString('utf8'))
          .catch(() => '');
        const uids = listed
          .split('\n')
          .filter((l) => l.startsWith('uid:'))
          .map((l) => l.split(':')[9] ?? '');
        return {
          code: result.code,
          out: result.stdout + result.stderr,
          connects: front.connects,
          uids,
        };
      } finally {
        await home.dispose();
        await front.close();
      }
    }

    it('publishes and finds an address with exactly the commands of docs/wkd.md', async () => {
      // A key as docs/signup.md makes it: no address in its user ID, nothing published.
      const own = await GpgHome.create();
      const work = await mkdtemp(join(tmpdir(), 'kzymy-wkd-doc-'));
      try {
        const key = await own.generateKey('curve25519', 'nym');
        const username = `d${randomBytes(5).toString('hex')}`;
        const address = `nym@${username}.kzymy.test`;
        const checked = await checkPublicKey((await own.exportPublic(key.fingerprint)).toString());
        if (!checked.ok) throw new Error(checked.message);
        const account = await web.deps.store.users.create({
          username,
          fingerprint: checked.key.fingerprint,
          publicKey: checked.key.armored,
          passwordHash: 'unused',
          state: 'active',
        });
        const before = await locate(['*.kzymy.test'], [], locateCommand(address));
        expect(before.uids, before.out).to.deep.equal([]);

        const values = {
          FINGERPRINT: key.fingerprint,
          'USERNAME.DOMAIN': `${username}.kzymy.test`,
        };
        for (const line of fillIn(docSnippet('wkd.md', 'add-uid'), values).trim().split('\n')) {
          await run('sh', ['-c', line], { cwd: work, env: { ...process.env, GNUPGHOME: own.dir } });
        }
        // What "Replace the key" stores once its code came back (test/web/account.test.ts).
        const replaced = await checkPublicKey(await readFile(join(work, 'nym.asc'), 'utf8'));
        if (!replaced.ok) throw new Error(replaced.message);
        expect(replaced.key.fingerprint).to.equal(checked.key.fingerprint);
        await web.deps.store.users.setKey(
          account.id,
          replaced.key.fingerprint,
          replaced.key.armored,
        );

        const after = await locate(['*.kzymy.test'], [], locateCommand(address));
        expect(after.code, after.out).to.equal(0);
        expect(after.uids).to.deep.equal([address]);
      } finally {
        await own.dispose();
        await rm(work, { recursive: true, force: true });
      }
    });

    it('finds the key by the direct method under a wildcard certificate', async () => {
      const result = await locate([`*.kzymy.test`]);
      expect(result.code, result.out).to.equal(0);
      expect(result.connects).to.deep.equal([`${mailDomain}:443`]);
      expect(result.uids).to.deep.equal([nym]);
      expect(result.out).to.include(fingerprint);
    });

    it('finds it by the advanced method when openpgpkey.<user> resolves and is certified', async () => {
      const advanced = `openpgpkey.${mailDomain}`;
      const result = await locate(['*.kzymy.test', advanced], [`127.0.0.1 ${advanced}`]);
      expect(result.code, result.out).to.equal(0);
      expect(result.connects).to.deep.equal([`${advanced}:443`]);
      expect(result.uids).to.deep.equal([nym]);
    });

    it('finds nothing when openpgpkey.<user> resolves but only the wildcard certifies it', async () => {
      // What a wildcard DNS record does (docs/operations/wkd.md): GnuPG takes the advanced
      // method whenever that name resolves, and does not fall back to the direct one.
      const advanced = `openpgpkey.${mailDomain}`;
      const result = await locate(['*.kzymy.test'], [`127.0.0.1 ${advanced}`]);
      expect(result.connects).to.deep.equal([`${advanced}:443`]);
      expect(result.out).to.include(`error retrieving '${nym}' via WKD`);
      expect(result.uids).to.deep.equal([]);
    });
  });
});
