/**
 * `kzymy doctor` against real things: the run's FerretDB and Redis, certificates made by openssl
 * (a test CA, an expired one, a mismatched key), the real `tor --verify-config`, and MX lookups
 * answered by a small DNS server on loopback (test/helpers/dns-server.ts) that node:dns queries
 * over UDP like any resolver.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { runDoctor, type CheckResult, type DoctorDeps } from '../../src/cli/doctor';
import { loadTls } from '../../src/tls/material';
import { RELAY_PASSWORD, RELAY_USER, startRelay, type Relay } from '../submission/helpers/harness';
import { sqliteStoreFile } from '../../src/embedded/paths';
import { TestDnsServer } from '../helpers/dns-server';
import { freePort } from '../../src/util/ports';
import { openStore } from '../../src/store/open';
import {
  createTestUser,
  testDataDir,
  testMongoUrl,
  testRedisUrl,
  uniqueDatabaseName,
} from '../helpers/services';

const CLI = join(__dirname, '..', '..', 'src', 'cli', 'kzymy.js');

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function kzymy(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      // Empty values mean "not set" to the config loader, so the run's own URLs cannot leak in.
      { env: { ...process.env, KZYMY_CONFIG: '', MONGODB_URL: '', REDIS_URL: '', ...env } },
      (error, stdout, stderr) => {
        const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function byCheck(results: CheckResult[], check: string): CheckResult {
  const found = results.find((result) => result.check === check);
  if (!found) throw new Error(`no ${check} check in ${JSON.stringify(results)}`);
  return found;
}

function parseJson(stdout: string): CheckResult[] {
  return (JSON.parse(stdout) as { results: CheckResult[] }).results;
}

/** Certificates made by openssl: a test CA and what it signs, and an `openssl ca` database. */
class Pki {
  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'newcerts'));
    writeFileSync(join(dir, 'index.txt'), '');
    writeFileSync(join(dir, 'serial'), '01\n');
    writeFileSync(
      join(dir, 'ca.cnf'),
      [
        '[ ca ]',
        'default_ca = test_ca',
        '[ test_ca ]',
        `database = ${join(dir, 'index.txt')}`,
        `new_certs_dir = ${join(dir, 'newcerts')}`,
        `serial = ${join(dir, 'serial')}`,
        'default_md = sha256',
        'policy = policy_any',
        'copy_extensions = copy',
        'unique_subject = no',
        '[ policy_any ]',
        'commonName = supplied',
        '',
      ].join('\n'),
    );
    this.openssl([
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...['-days', '3650', '-subj', '/CN=kzymy test CA'],
      ...['-keyout', this.path('ca.key'), '-out', this.path('ca.crt')],
    ]);
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** A key and a certificate for `names`; `dates` makes it self-signed with those dates. */
  issue(
    name: string,
    names: string[],
    dates?: { start: string; end: string },
  ): { key: string; cert: string } {
    const key = this.path(`${name}.key`);
    const csr = this.path(`${name}.csr`);
    const cert = this.path(`${name}.crt`);
    this.openssl([
      ...['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'],
      ...[
        '-subj',
        `/CN=${names[0]}`,
        '-addext',
        `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`,
      ],
      ...['-keyout', key, '-out', csr],
    ]);
    const signer = dates
      ? ['-selfsign', '-keyfile', key, '-startdate', dates.start, '-enddate', dates.end]
      : ['-cert', this.path('ca.crt'), '-keyfile', this.path('ca.key'), '-days', '90'];
    this.openssl([
      'ca',
      '-batch',
      '-notext',
      '-config',
      this.path('ca.cnf'),
      ...signer,
      '-in',
      csr,
      '-out',
      cert,
    ]);
    chmodSync(key, 0o600);
    return { key, cert };
  }

  private openssl(args: string[]): void {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }
}

// ---- the tests ----------------------------------------------------------------------------------

describe('kzymy doctor', function () {
  this.timeout(60_000);
  let dir: string;
  let pki: Pki;
  let good: { key: string; cert: string };
  let expired: { key: string; cert: string };
  let otherName: { key: string; cert: string };
  let dns: TestDnsServer;
  let dkim: { file: string; record: string };
  let otherDkim: { file: string; record: string };
  const database = uniqueDatabaseName('doctor');

  /** An RSA key in a PEM file, and the TXT record that publishes it. */
  function makeDkimKey(name: string): { file: string; record: string } {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const file = join(dir, `${name}.pem`);
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    return { file, record: `v=DKIM1; k=rsa; p=${p}` };
  }

  function writeConfig(name: string, lines: string[]): string {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, lines.join('\n') + '\n');
    return file;
  }

  function baseConfig(
    tls: { key: string; cert: string } | undefined,
    extra: string[] = [],
  ): string[] {
    return [
      'domain: kzymy.example',
      `dataDir: ${dir}`,
      'mongodb:',
      `  url: '${testMongoUrl()}'`,
      `  database: ${database}`,
      'redis:',
      `  url: '${testRedisUrl()}'`,
      ...(tls ? ['tls:', `  key: ${tls.key}`, `  cert: ${tls.cert}`] : []),
      ...extra,
    ];
  }

  function deps(overrides: Partial<DoctorDeps> = {}): DoctorDeps {
    const resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([dns.address]);
    return { clock: () => new Date(), resolver, timeoutMs: 3000, torBinary: 'tor', ...overrides };
  }

  before(async () => {
    dir = mkdtempSync(join(testDataDir(), 'doctor-'));
    pki = new Pki(mkdtempSync(join(dir, 'pki-')));
    good = pki.issue('good', ['mx.kzymy.example', 'kzymy.example', '*.kzymy.example']);
    expired = pki.issue('expired', ['mx.kzymy.example', '*.kzymy.example'], {
      start: '20200101000000Z',
      end: '20200201000000Z',
    });
    otherName = pki.issue('other', ['mail.unrelated.example']);
    dkim = makeDkimKey('dkim');
    otherDkim = makeDkimKey('other-dkim');
    dns = await TestDnsServer.start({
      'kzymy._domainkey.kzymy.example': { TXT: [dkim.record] },
      'kzymy._domainkey.wrongkey.example': { TXT: ['v=spf1 -all', otherDkim.record] },
      'kzymy._domainkey.nokey.example': { TXT: ['v=DKIM1; k=rsa; n=no key here'] },
      '*.kzymy.example': { MX: [{ preference: 10, exchange: 'mx.kzymy.example' }] },
      'mx.kzymy.example': { A: ['127.0.0.1'] },
      '*.elsewhere.example': { MX: [{ preference: 10, exchange: 'mx.provider.example' }] },
      'mx.provider.example': { A: ['127.0.0.2'] },
      '*.noaddr.example': { MX: [{ preference: 10, exchange: 'mx.noaddr.example' }] },
    });
  });
  after(async () => {
    await dns?.close();
  });

  describe('the command', () => {
    it('passes a working installation: store and Redis answer, the certificate fits', async () => {
      const config = writeConfig('good', baseConfig(good));
      const result = await kzymy(['doctor', '--config', config, '--json']);
      expect(result.code, result.stderr).to.equal(0);
      const results = parseJson(result.stdout);
      expect(byCheck(results, 'config').verdict).to.equal('ok');
      expect(byCheck(results, 'redis')).to.include({ verdict: 'ok' });
      // FerretDB is reachable; the test URL names no replica set, which production should.
      expect(byCheck(results, 'mongodb').verdict).to.equal('warn');
      expect(byCheck(results, 'mongodb').message).to.match(/^reachable at 127\.0\.0\.1:\d+/);
      expect(byCheck(results, 'mongodb').fix).to.include('replicaSet');
      expect(byCheck(results, 'tls').verdict, byCheck(results, 'tls').message).to.equal('ok');
      expect(byCheck(results, 'tls').message).to.include(
        'covers kzymy.example and *.kzymy.example',
      );
      expect(byCheck(results, 'tor').verdict).to.equal('skip');
      expect(byCheck(results, 'mx').verdict).to.equal('skip');
    });

    it('prints one line per check with its verdict, and a fix under each problem', async () => {
      const config = writeConfig('text', baseConfig(undefined));
      const result = await kzymy(['doctor', '--config', config]);
      expect(result.code).to.equal(0);
      const lines = result.stdout.trim().split('\n');
      expect(lines[0]).to.match(/^ok {4}config {5}/);
      expect(lines.find((line) => line.startsWith('warn  tls'))).to.include('self-signed pair');
      const tlsIndex = lines.findIndex((line) => line.startsWith('warn  tls'));
      expect(lines[tlsIndex + 1]).to.match(/^\s+fix: .*tls\.key and tls\.cert/);
      expect(lines[lines.length - 1]).to.match(/^\d+ ok, \d+ warn, 0 fail, 3 skipped$/);
    });

    it('fails on a wrong REDIS_URL, exits 1, and never prints the password', async () => {
      const closed = await freePort();
      const config = writeConfig('redis-wrong', baseConfig(good));
      const result = await kzymy(['doctor', '--config', config, '--json'], {
        REDIS_URL: `redis://:hunter2-redis-secret@127.0.0.1:${closed}/0`,
      });
      expect(result.code).to.equal(1);
      expect(result.stderr).to.include('doctor: 1 check(s) failed');
      const redis = byCheck(parseJson(result.stdout), 'redis');
      expect(redis).to.include({ verdict: 'fail' });
      expect(redis.message).to.equal(`nothing accepts connections at 127.0.0.1:${closed}`);
      expect(redis.fix).to.include('REDIS_URL');
      expect(result.stdout + result.stderr).not.to.include('hunter2');
    });

    it('fails on an unreachable MongoDB and shows its hosts without the credentials', async () => {
      const closed = await freePort();
      const config = writeConfig('mongo-wrong', baseConfig(good));
      const result = await kzymy(['doctor', '--config', config, '--json'], {
        MONGODB_URL: `mongodb://kzymy:hunter2-mongo-secret@127.0.0.1:${closed}/?replicaSet=rs0`,
      });
      expect(result.code).to.equal(1);
      const mongodb = byCheck(parseJson(result.stdout), 'mongodb');
      expect(mongodb).to.include({
        verdict: 'fail',
        message: `no MongoDB server answered at 127.0.0.1:${closed}`,
      });
      expect(result.stdout + result.stderr).not.to.include('hunter2');
    });

    it('fails on an expired certificate and says when it expired', async () => {
      const config = writeConfig('expired', baseConfig(expired));
      const result = await kzymy(['doctor', '--config', config, '--json']);
      expect(result.code).to.equal(1);
      const tls = byCheck(parseJson(result.stdout), 'tls');
      expect(tls).to.include({
        verdict: 'fail',
        message: 'the certificate expired on 2020-02-01T00:00:00.000Z',
      });
      expect(tls.fix).to.include('renew');
    });

    it('reports every configuration problem and skips the checks that need a configuration', async () => {
      const config = writeConfig('invalid', ['domain: Not A Domain', 'smtp:', '  prot: 25']);
      const result = await kzymy(['doctor', '--config', config, '--json']);
      expect(result.code).to.equal(1);
      const results = parseJson(result.stdout);
      expect(byCheck(results, 'config').verdict).to.equal('fail');
      expect(byCheck(results, 'config').message)
        .to.include('domain:')
        .and.include('smtp.prot: unknown setting');
      expect(
        results.filter((r) => r.check !== 'config').every((r) => r.verdict === 'skip'),
      ).to.equal(true);
    });
  });

  describe('the sqlite store', () => {
    it('warns before the file exists, then says it is sound with what it holds', async () => {
      const own = mkdtempSync(join(dir, 'sqlite-'));
      const config = writeConfig('sqlite', [
        'domain: kzymy.example',
        `dataDir: ${own}`,
        'redis:',
        `  url: '${testRedisUrl()}'`,
      ]);
      const before = byCheck(
        await runDoctor({ configFile: config, online: false, env: {} }, deps()),
        'store',
      );
      expect(before.verdict).to.equal('warn');
      expect(before.message).to.include(sqliteStoreFile(own)).and.include('does not exist yet');
      const store = await openStore({ engine: 'sqlite', file: sqliteStoreFile(own) });
      try {
        await createTestUser(store);
        const after = byCheck(
          await runDoctor({ configFile: config, online: false, env: {} }, deps()),
          'store',
        );
        expect(after).to.deep.include({ verdict: 'ok' });
        expect(after.message).to.match(/: 1 users, 0 messages, integrity ok$/);
      } finally {
        await store.close();
      }
    });
  });

  describe('TLS', () => {
    it('fails when the key belongs to another certificate', async () => {
      const config = writeConfig('mismatch', baseConfig({ key: otherName.key, cert: good.cert }));
      const results = await runDoctor({ configFile: config, online: false, env: {} }, deps());
      expect(byCheck(results, 'tls')).to.include({
        verdict: 'fail',
        message: 'the private key does not belong to the certificate',
      });
    });

    it('warns when the names cover neither the domain nor its subdomains', async () => {
      const config = writeConfig('names', baseConfig(otherName));
      const tls = byCheck(
        await runDoctor({ configFile: config, online: false, env: {} }, deps()),
        'tls',
      );
      expect(tls.verdict).to.equal('warn');
      expect(tls.message).to.include('cover neither kzymy.example nor *.kzymy.example');
    });

    it('warns ahead of expiry', async () => {
      const config = writeConfig('soon', baseConfig(good));
      const inEightyFiveDays = new Date(Date.now() + 85 * 86_400_000);
      const tls = byCheck(
        await runDoctor(
          { configFile: config, online: false, env: {} },
          deps({ clock: () => inEightyFiveDays }),
        ),
        'tls',
      );
      expect(tls.verdict).to.equal('warn');
      expect(tls.message).to.match(/expires in [45] days/);
    });

    it('fails when a file cannot be read, naming it', async () => {
      const config = writeConfig(
        'missing',
        baseConfig({ key: join(dir, 'nope.key'), cert: good.cert }),
      );
      const tls = byCheck(
        await runDoctor({ configFile: config, online: false, env: {} }, deps()),
        'tls',
      );
      expect(tls).to.include({
        verdict: 'fail',
        message: `cannot read the key ${join(dir, 'nope.key')} (ENOENT)`,
      });
    });
  });

  describe('Tor', () => {
    function torrc(name: string, ports: Array<[number, string]>): string {
      const home = mkdtempSync(join(dir, `tor-${name}-`));
      mkdirSync(join(home, 'data'), { mode: 0o700 });
      mkdirSync(join(home, 'hs'), { mode: 0o700 });
      const file = join(home, 'torrc');
      writeFileSync(
        file,
        [
          'SocksPort 0',
          `DataDirectory ${join(home, 'data')}`,
          `HiddenServiceDir ${join(home, 'hs')}`,
          ...ports.map(([virtual, target]) => `HiddenServicePort ${virtual} ${target}`),
          '',
        ].join('\n'),
      );
      return file;
    }
    const ALL: Array<[number, string]> = [
      [143, '127.0.0.1:1143'],
      [993, '127.0.0.1:1993'],
      [110, '127.0.0.1:1110'],
      [995, '127.0.0.1:1995'],
      [80, '127.0.0.1:8080'],
    ];

    before(function () {
      try {
        execFileSync('tor', ['--version'], { stdio: 'ignore' });
      } catch {
        // scripts/setup.sh installs tor; without it only the "not installed" case can run.
        this.skip();
      }
    });

    it('accepts a torrc that publishes every user listener', async () => {
      const config = writeConfig('tor', baseConfig(good));
      const file = torrc('ok', ALL);
      const tor = byCheck(
        await runDoctor({ configFile: config, online: false, torrc: file, env: {} }, deps()),
        'tor',
      );
      expect(tor.verdict, tor.message).to.equal('ok');
      expect(tor.message).to.include('5 onion port(s)');
    });

    it('warns about a listener no onion service reaches', async () => {
      const config = writeConfig('tor-missing', baseConfig(good));
      const file = torrc(
        'partial',
        ALL.filter(([virtual]) => virtual !== 993),
      );
      const tor = byCheck(
        await runDoctor({ configFile: config, online: false, torrc: file, env: {} }, deps()),
        'tor',
      );
      expect(tor.verdict).to.equal('warn');
      expect(tor.message).to.include('not published as an onion service: IMAPS 1993');
    });

    it("fails a torrc tor rejects, with tor's own reason", async () => {
      const config = writeConfig('tor-bad', baseConfig(good));
      const file = torrc('bad', [[143, 'not-a-port:x']]);
      const tor = byCheck(
        await runDoctor({ configFile: config, online: false, torrc: file, env: {} }, deps()),
        'tor',
      );
      expect(tor.verdict).to.equal('fail');
      expect(tor.message).to.match(/tor --verify-config rejects .*: .*port/i);
    });
  });

  it('fails the Tor check when tor is not installed', async () => {
    const config = writeConfig('no-tor', baseConfig(good));
    const file = join(dir, 'any-torrc');
    writeFileSync(file, 'SocksPort 0\n');
    const tor = byCheck(
      await runDoctor(
        { configFile: config, online: false, torrc: file, env: {} },
        deps({ torBinary: join(dir, 'no-such-tor') }),
      ),
      'tor',
    );
    expect(tor).to.include({ verdict: 'fail', message: 'tor is not installed here' });
  });

  describe('MX (--online)', () => {
    async function mx(domain: string, tls = good): Promise<CheckResult> {
      const config = writeConfig(
        `mx-${domain}`,
        baseConfig(tls).map((l) => l.replace('kzymy.example', domain)),
      );
      return byCheck(await runDoctor({ configFile: config, online: true, env: {} }, deps()), 'mx');
    }

    it("finds the wildcard MX of a random user's subdomain, with an address, covered by the certificate", async () => {
      const result = await mx('kzymy.example');
      expect(result.verdict, result.message).to.equal('ok');
      expect(result.message).to.match(
        /^MX for doctor-[0-9a-f]{10}\.kzymy\.example: 10 mx\.kzymy\.example$/,
      );
    });

    it('fails without a wildcard MX, and says which record to publish', async () => {
      const result = await mx('nomx.example');
      expect(result.verdict).to.equal('fail');
      expect(result.message).to.include('(ENOTFOUND)');
      expect(result.fix).to.include('*.nomx.example. IN MX 10');
    });

    it('fails when the MX host has no address', async () => {
      const result = await mx('noaddr.example');
      expect(result.verdict).to.equal('fail');
      expect(result.message).to.include('without an address: mx.noaddr.example');
    });

    it('warns when the certificate does not cover the MX host', async () => {
      const result = await mx('elsewhere.example');
      expect(result.verdict).to.equal('warn');
      expect(result.message).to.include('does not cover mx.provider.example');
    });
  });

  describe('sender authentication (--online)', () => {
    async function senderAuth(extra: string[]): Promise<CheckResult> {
      const config = writeConfig(`sender-auth-${extra.length}`, baseConfig(good, extra));
      return byCheck(
        await runDoctor({ configFile: config, online: true, env: {} }, deps()),
        'sender-auth',
      );
    }

    it('asks the resolver SPF, DKIM and DMARC will use, and says that it answered', async () => {
      // No dnsServers configured: doctor's own resolver (here the test's DNS server).
      const result = await senderAuth([]);
      expect(result.verdict, result.message).to.equal('ok');
      expect(result.message).to.match(
        /^the system resolver answered TXT _dmarc\.kzymy\.example in \d+ ms$/,
      );
    });

    it('warns when the configured resolver does not answer: every delivery would wait', async () => {
      // A UDP port nothing listens on: the query is refused or times out.
      const silent = createSocket('udp4');
      await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()));
      const port = silent.address().port;
      silent.close();
      const result = await senderAuth([
        'smtp:',
        '  senderAuth:',
        `    dnsServers: ['127.0.0.1:${port}']`,
        '    queryTimeoutMs: 500',
      ]);
      expect(result.verdict, result.message).to.equal('warn');
      expect(result.message).to.include(
        `127.0.0.1:${port} did not answer TXT _dmarc.kzymy.example`,
      );
      expect(result.message).to.include('up to 20 s on every delivery');
      expect(result.fix).to.include('smtp.senderAuth.dnsServers');
    });

    it('is ok when sender authentication is off', async () => {
      const result = await senderAuth(['smtp:', '  senderAuth:', '    enabled: false']);
      expect(result).to.include({ verdict: 'ok', message: 'off (smtp.senderAuth.enabled: false)' });
    });
  });

  describe('sending (when send.enabled)', () => {
    let relay: Relay;
    let relayCa: string;

    before(async () => {
      const tls = await loadTls({
        key: '',
        cert: '',
        dataDir: testDataDir(),
        domain: 'kzymy.test',
      });
      relay = await startRelay(tls);
      relayCa = tls.certFile;
    });
    after(async () => {
      await relay?.close();
    });

    async function sending(
      domain: string,
      keyFile: string,
      password = RELAY_PASSWORD,
      online = true,
    ): Promise<CheckResult[]> {
      const config = writeConfig(`send-${domain}-${online}`, [
        ...baseConfig(good).map((l) => l.replace('kzymy.example', domain)),
        'send:',
        '  enabled: true',
        `  relay: { url: 'smtp://${RELAY_USER}:${password}@127.0.0.1:${relay.port}', caFile: ${relayCa} }`,
        `  dkim: { keyFile: ${keyFile} }`,
      ]);
      return runDoctor({ configFile: config, online, env: {} }, deps());
    }

    it('passes when DNS publishes the DKIM key and the relay takes the login over TLS', async () => {
      const results = await sending('kzymy.example', dkim.file);
      expect(byCheck(results, 'dkim')).to.deep.equal({
        check: 'dkim',
        verdict: 'ok',
        message: 'kzymy._domainkey.kzymy.example publishes the configured key',
      });
      const relayCheck = byCheck(results, 'relay');
      expect(relayCheck.verdict, relayCheck.message).to.equal('ok');
      expect(relayCheck.message).to.equal(
        `127.0.0.1:${relay.port} (STARTTLS, with a login) takes kzymy's login over TLS`,
      );
      expect(relay.received).to.deep.equal([]);
    });

    it('fails without a DKIM record, or with another key in it, naming the record to publish', async () => {
      const missing = byCheck(await sending('nodkim.example', dkim.file), 'dkim');
      expect(missing.verdict).to.equal('fail');
      expect(missing.message).to.include('no DKIM record at kzymy._domainkey.nodkim.example');
      expect(missing.fix).to.equal(
        `publish kzymy._domainkey.nodkim.example. IN TXT "${dkim.record}"`,
      );
      const wrong = byCheck(await sending('wrongkey.example', dkim.file), 'dkim');
      expect(wrong.verdict).to.equal('fail');
      expect(wrong.message).to.include('publishes another key than send.dkim.keyFile');
      const none = byCheck(await sending('nokey.example', dkim.file), 'dkim');
      expect(none.message).to.include('has TXT records but no DKIM key');
    });

    it('fails on an unreadable key offline, and on a wrong relay password without showing it', async () => {
      const unreadable = byCheck(
        await sending('kzymy.example', join(dir, 'missing.pem'), RELAY_PASSWORD, false),
        'dkim',
      );
      expect(unreadable.verdict).to.equal('fail');
      expect(unreadable.message).to.include('cannot read it (ENOENT)');
      const results = await sending('kzymy.example', dkim.file, 'hunter2-relay-secret');
      const relayCheck = byCheck(results, 'relay');
      expect(relayCheck.verdict).to.equal('fail');
      expect(relayCheck.message).to.include('failed at login');
      expect(JSON.stringify(results)).not.to.include('hunter2');
    });
  });
});
