/**
 * `kzymy doctor`: checks an installation and says, for each part, ok / warn / fail and what to do.
 * It reads the configuration like the servers do, talks to MongoDB and Redis without starting
 * anything, inspects the TLS pair, asks `tor --verify-config` about a torrc, and with --online
 * looks up the MX a user's subdomain gets. Every problem is reported, not just the first (as
 * `mox config test` does). Nothing it prints carries a password: connection strings are shown by
 * host only.
 */
import { execFile } from 'node:child_process';
import { createPrivateKey, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { readFile, stat } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { Redis } from 'ioredis';
import { loadConfig } from '../config/load';
import type { KzymyConfig } from '../config/schema';
import { Store } from '../store/store';

export type Verdict = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** A short, stable name: config, listeners, mongodb, redis, tls, tor, mx. */
  check: string;
  verdict: Verdict;
  message: string;
  /** What to do about a warn or fail. */
  fix?: string;
}

export interface DoctorOptions {
  /** The configuration file (undefined: defaults plus environment). */
  configFile: string | undefined;
  env?: Record<string, string | undefined>;
  /** Look up DNS (the MX of a user's subdomain). */
  online: boolean;
  /** A torrc to verify with `tor --verify-config`. */
  torrc?: string;
}

/** What the checks reach the world through; tests pass their own DNS server and clock. */
export interface DoctorDeps {
  clock: () => Date;
  resolver: Pick<Resolver, 'resolveMx' | 'resolve4' | 'resolve6'>;
  /** Per check against a server. */
  timeoutMs: number;
  torBinary: string;
}

export function defaultDoctorDeps(dnsServer?: string): DoctorDeps {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (dnsServer) resolver.setServers([dnsServer]);
  return { clock: () => new Date(), resolver, timeoutMs: 3000, torBinary: 'tor' };
}

const DOC = 'docs/operations/deploy.md';
/** A certificate expiring within this many days is a warning (renewal is probably broken). */
const EXPIRY_WARN_DAYS = 14;

export async function runDoctor(options: DoctorOptions, deps: DoctorDeps): Promise<CheckResult[]> {
  const loaded = await loadConfig(options.configFile, options.env ?? process.env);
  if (!loaded.ok) {
    const skipped = ['listeners', 'mongodb', 'redis', 'tls', 'tor', 'mx'].map(
      (check): CheckResult => ({
        check,
        verdict: 'skip',
        message: 'needs a valid configuration',
      }),
    );
    return [
      {
        check: 'config',
        verdict: 'fail',
        message: `${options.configFile ?? '(defaults)'}: ${loaded.problems.join('; ')}`,
        fix: 'correct each setting named (config/kzymy.example.yaml documents them all)',
      },
      ...skipped,
    ];
  }
  const config = loaded.config;
  const results: CheckResult[] = [checkConfig(config, options.configFile), checkListeners(config)];
  results.push(
    ...(await Promise.all([
      checkMongo(config, deps),
      checkRedis(config, deps),
      checkTls(config, deps),
      checkTor(config, options.torrc, deps),
    ])),
  );
  results.push(
    options.online ? await checkMx(config, deps) : skip('mx', 'offline (--online looks up the MX)'),
  );
  return results;
}

export function exitCodeOf(results: readonly CheckResult[]): number {
  return results.some((result) => result.verdict === 'fail') ? 1 : 0;
}

export function formatResults(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((result) => result.check.length));
  const lines: string[] = [];
  for (const result of results) {
    lines.push(`${result.verdict.padEnd(4)}  ${result.check.padEnd(width)}  ${result.message}`);
    if (result.fix) lines.push(`${' '.repeat(6 + width)}  fix: ${result.fix}`);
  }
  const count = (verdict: Verdict): number => results.filter((r) => r.verdict === verdict).length;
  lines.push(
    `${count('ok')} ok, ${count('warn')} warn, ${count('fail')} fail, ${count('skip')} skipped`,
  );
  return lines.join('\n');
}

// ---- configuration ----------------------------------------------------------------------------

function checkConfig(config: Readonly<KzymyConfig>, file: string | undefined): CheckResult {
  const where = file ?? '(defaults, no file)';
  if (config.domain === 'kzymy.test') {
    return {
      check: 'config',
      verdict: 'warn',
      message: `${where}: valid, but the domain is the example kzymy.test`,
      fix: 'set domain (or KZYMY_DOMAIN) to the mail domain you publish the MX for',
    };
  }
  return { check: 'config', verdict: 'ok', message: `${where}: valid, domain ${config.domain}` };
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/i;

function checkListeners(config: Readonly<KzymyConfig>): CheckResult {
  const exposed: string[] = [];
  const user = [
    ['IMAP', config.imap],
    ['POP3', config.pop3],
    ['web', config.web],
  ] as const;
  for (const [name, listener] of user) {
    if (listener.enabled && !LOOPBACK.test(listener.host))
      exposed.push(`${name} on ${listener.host}`);
  }
  if (config.admin.enabled && !LOOPBACK.test(config.admin.host)) {
    exposed.push(`admin (/metrics) on ${config.admin.host}`);
  }
  const notes: string[] = [];
  if (config.smtp.enabled && LOOPBACK.test(config.smtp.host)) {
    notes.push(`SMTP listens on loopback only (${config.smtp.host}:${config.smtp.port})`);
  }
  if (exposed.length > 0) {
    return {
      check: 'listeners',
      verdict: 'warn',
      message: `not on loopback: ${exposed.join(', ')}${notes.length ? `; ${notes.join('; ')}` : ''}`,
      fix: 'user listeners belong on loopback, published as onion services (docs/operations/tor.md); a clearnet listener is opt-in; the admin listener only on a network the scraper alone reaches',
    };
  }
  if (notes.length > 0) {
    return {
      check: 'listeners',
      verdict: 'warn',
      message: `user listeners on loopback; ${notes.join('; ')}`,
      fix: 'the public MX listens on 0.0.0.0:25 (smtp.host, smtp.port), or a proxy forwards port 25 to it',
    };
  }
  return {
    check: 'listeners',
    verdict: 'ok',
    message: `user listeners on loopback; SMTP on ${config.smtp.host}:${config.smtp.port}`,
  };
}

// ---- MongoDB ----------------------------------------------------------------------------------

async function checkMongo(config: Readonly<KzymyConfig>, deps: DoctorDeps): Promise<CheckResult> {
  let url = config.mongodb.url;
  let embedded = false;
  if (!url) {
    const port = config.mongodb.embeddedPort;
    if (port === 0 || !(await answers('127.0.0.1', port, deps.timeoutMs))) {
      return {
        check: 'mongodb',
        verdict: 'warn',
        message: `no mongodb.url, and the embedded FerretDB is not running${port ? ` on 127.0.0.1:${port}` : ''}`,
        fix: `npm start runs the embedded FerretDB; production sets mongodb.url (or MONGODB_URL) to a replica set (${DOC})`,
      };
    }
    url = `mongodb://127.0.0.1:${port}/`;
    embedded = true;
  }
  const where = hostsOf(url);
  let store: Store | undefined;
  try {
    store = await Store.open({
      url,
      database: config.mongodb.database,
      serverSelectionTimeoutMs: deps.timeoutMs,
    });
    await store.ping();
  } catch (error) {
    return { check: 'mongodb', verdict: 'fail', ...explainMongoError(error, where) };
  } finally {
    await store?.close().catch(() => undefined);
  }
  if (embedded) {
    return {
      check: 'mongodb',
      verdict: 'ok',
      message: `embedded FerretDB answers at ${where}, database ${config.mongodb.database}`,
    };
  }
  if (!/^mongodb\+srv:/i.test(url) && !/[?&]replicaSet=/i.test(url)) {
    return {
      check: 'mongodb',
      verdict: 'warn',
      message: `reachable at ${where}, database ${config.mongodb.database}, but the URL names no replica set`,
      fix: `production runs a replica set: add ?replicaSet=NAME to mongodb.url (${DOC}, "MongoDB")`,
    };
  }
  return {
    check: 'mongodb',
    verdict: 'ok',
    message: `reachable at ${where}, database ${config.mongodb.database}`,
  };
}

function explainMongoError(error: unknown, where: string): Pick<CheckResult, 'message' | 'fix'> {
  const name = error instanceof Error ? error.name : 'Error';
  const code = (error as { code?: unknown }).code;
  if (name === 'MongoParseError' || name === 'MongoInvalidArgumentError') {
    return {
      message: 'mongodb.url is not a valid connection string',
      fix: 'use mongodb://USER:PASSWORD@HOST1,HOST2,HOST3/?replicaSet=NAME (percent-encode the password)',
    };
  }
  if (code === 18 || name === 'MongoAuthError' || /auth/i.test(String((error as Error).message))) {
    return {
      message: `authentication failed at ${where}`,
      fix: 'check the user and password in mongodb.url, and its authSource',
    };
  }
  if (name === 'MongoServerSelectionError' || name === 'MongoNetworkError') {
    return {
      message: `no MongoDB server answered at ${where}`,
      fix: 'start MongoDB, or correct the hosts in mongodb.url / MONGODB_URL; check firewalls between this node and the database',
    };
  }
  return {
    message: `MongoDB at ${where} failed: ${name}${code !== undefined ? ` (${String(code)})` : ''}`,
    fix: `see the MongoDB server log; ${DOC} describes the expected setup`,
  };
}

// ---- Redis ------------------------------------------------------------------------------------

async function checkRedis(config: Readonly<KzymyConfig>, deps: DoctorDeps): Promise<CheckResult> {
  let url = config.redis.url;
  if (!url) {
    const port = config.redis.embeddedPort;
    if (port === 0 || !(await answers('127.0.0.1', port, deps.timeoutMs))) {
      return {
        check: 'redis',
        verdict: 'warn',
        message: `no redis.url, and the embedded redis-server is not running${port ? ` on 127.0.0.1:${port}` : ''}`,
        fix: `npm start runs the embedded redis-server; production sets redis.url (or REDIS_URL) (${DOC}, "Redis")`,
      };
    }
    url = `redis://127.0.0.1:${port}/0`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
    if (!/^rediss?:$/.test(parsed.protocol)) throw new Error('scheme');
  } catch {
    return {
      check: 'redis',
      verdict: 'fail',
      message: 'redis.url is not a redis:// or rediss:// URL',
      fix: 'use redis://:PASSWORD@HOST:6379/0',
    };
  }
  const where = `${parsed.hostname}:${parsed.port || '6379'}`;
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: deps.timeoutMs,
    commandTimeout: deps.timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // Without a listener ioredis prints each connection error, with the host in it. The socket's
  // own error (ECONNREFUSED, ...) arrives here; connect() then rejects with a generic one.
  let socketError: unknown;
  redis.on('error', (error: unknown) => {
    socketError ??= error;
  });
  try {
    await redis.connect();
    const pong = await redis.ping();
    if (pong !== 'PONG') throw new Error('unexpected PING reply');
  } catch (error) {
    return { check: 'redis', verdict: 'fail', ...explainRedisError(socketError ?? error, where) };
  } finally {
    redis.disconnect();
  }
  if (!parsed.password && !LOOPBACK.test(parsed.hostname)) {
    return {
      check: 'redis',
      verdict: 'warn',
      message: `PING answered at ${where}, without a password on a non-loopback host`,
      fix: 'set requirepass on the Redis server and put it in redis.url (redis://:PASSWORD@HOST:6379/0)',
    };
  }
  return { check: 'redis', verdict: 'ok', message: `PING answered at ${where}` };
}

function explainRedisError(error: unknown, where: string): Pick<CheckResult, 'message' | 'fix'> {
  const code = String((error as { code?: unknown }).code ?? '');
  const text = error instanceof Error ? error.message : '';
  if (/^(WRONGPASS|NOAUTH)/.test(text) || /invalid password|AUTH/i.test(text)) {
    return {
      message: `Redis at ${where} refused the credentials (${text.split(' ')[0]})`,
      fix: 'put the server requirepass (or ACL user and password) into redis.url',
    };
  }
  if (code === 'ECONNREFUSED') {
    return {
      message: `nothing accepts connections at ${where}`,
      fix: 'start Redis, or correct redis.url / REDIS_URL',
    };
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return {
      message: `the Redis host in redis.url does not resolve (${code})`,
      fix: 'correct the host in redis.url / REDIS_URL',
    };
  }
  return {
    message: `Redis at ${where} did not answer PING (${code || (error instanceof Error ? error.name : 'error')})`,
    fix: 'check that Redis runs and that nothing between this node and it drops the connection',
  };
}

// ---- TLS --------------------------------------------------------------------------------------

async function checkTls(config: Readonly<KzymyConfig>, deps: DoctorDeps): Promise<CheckResult> {
  const { key: keyFile, cert: certFile } = config.tls;
  if (!keyFile && !certFile) {
    return {
      check: 'tls',
      verdict: 'warn',
      message: 'no certificate configured: a self-signed pair is generated under dataDir',
      fix: `fine for loopback and onion listeners; for the public MX set tls.key and tls.cert to a certificate for the MX host names or *.${config.domain} (${DOC}, "STARTTLS certificates")`,
    };
  }
  if (!keyFile || !certFile) {
    return {
      check: 'tls',
      verdict: 'fail',
      message: `only tls.${keyFile ? 'key' : 'cert'} is set`,
      fix: 'set both tls.key and tls.cert, or neither',
    };
  }
  const read = async (file: string, what: string): Promise<Buffer | CheckResult> =>
    readFile(file).catch(
      (error: NodeJS.ErrnoException): CheckResult => ({
        check: 'tls',
        verdict: 'fail',
        message: `cannot read the ${what} ${file} (${error.code ?? 'error'})`,
        fix: `make it readable by the user kzymy runs as (${what === 'key' ? 'mode 0640, group kzymy' : 'mode 0644'})`,
      }),
    );
  const keyPem = await read(keyFile, 'key');
  if (!Buffer.isBuffer(keyPem)) return keyPem;
  const certPem = await read(certFile, 'certificate');
  if (!Buffer.isBuffer(certPem)) return certPem;

  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return {
      check: 'tls',
      verdict: 'fail',
      message: `${certFile} holds no PEM certificate`,
      fix: 'point tls.cert at the PEM certificate chain (leaf first), e.g. fullchain.pem',
    };
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return {
      check: 'tls',
      verdict: 'fail',
      message: `${keyFile} holds no usable private key (not PEM, or protected by a passphrase)`,
      fix: 'point tls.key at the unencrypted PEM private key, e.g. privkey.pem',
    };
  }
  if (!cert.checkPrivateKey(key)) {
    return {
      check: 'tls',
      verdict: 'fail',
      message: 'the private key does not belong to the certificate',
      fix: 'install the key and certificate of the same issuance together',
    };
  }
  const now = deps.clock();
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (notAfter.getTime() <= now.getTime()) {
    return {
      check: 'tls',
      verdict: 'fail',
      message: `the certificate expired on ${notAfter.toISOString()}`,
      fix: 'renew it (an ACME client with DNS-01 for a wildcard), then restart kzymy-smtp and kzymy-daemon',
    };
  }
  if (notBefore.getTime() > now.getTime()) {
    return {
      check: 'tls',
      verdict: 'fail',
      message: `the certificate is not valid before ${notBefore.toISOString()}`,
      fix: "check this machine's clock, or install the previous certificate until then",
    };
  }
  const warnings: string[] = [];
  const fixes: string[] = [];
  const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000);
  if (daysLeft < EXPIRY_WARN_DAYS) {
    warnings.push(`expires in ${daysLeft} days`);
    fixes.push('check that automatic renewal runs');
  }
  const probe = `${randomLabel()}.${config.domain}`;
  const covers = [config.domain, probe].filter((name) => cert.checkHost(name) !== undefined);
  if (covers.length === 0) {
    warnings.push(
      `names (${cert.subjectAltName ?? cert.subject}) cover neither ${config.domain} nor *.${config.domain}`,
    );
    fixes.push(`get a certificate for the MX host names, or *.${config.domain}`);
  }
  if (cert.issuer === cert.subject && cert.verify(cert.publicKey)) {
    warnings.push('self-signed');
    fixes.push('MTAs that verify (DANE, MTA-STS) need a CA-issued certificate on the public MX');
  }
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType === 'rsa' && bits !== undefined && bits < 2048) {
    warnings.push(`RSA key of ${bits} bits`);
    fixes.push('use RSA-2048 or larger, or an ECDSA P-256 key');
  }
  const mode = (await stat(keyFile)).mode;
  if (mode & 0o004) {
    warnings.push('the key file is readable by every user');
    fixes.push(`chmod o-r ${keyFile}`);
  }
  const summary = `certificate valid until ${notAfter.toISOString().slice(0, 10)}${
    covers.length
      ? `, covers ${covers.map((n) => (n === probe ? `*.${config.domain}` : n)).join(' and ')}`
      : ''
  }`;
  if (warnings.length > 0) {
    return {
      check: 'tls',
      verdict: 'warn',
      message: `${summary}; ${warnings.join('; ')}`,
      fix: fixes.join('; '),
    };
  }
  return { check: 'tls', verdict: 'ok', message: `${summary}, key matches` };
}

// ---- Tor --------------------------------------------------------------------------------------

async function checkTor(
  config: Readonly<KzymyConfig>,
  torrc: string | undefined,
  deps: DoctorDeps,
): Promise<CheckResult> {
  if (!torrc) return skip('tor', 'no torrc given (--torrc /etc/tor/torrc checks it)');
  let text: string;
  try {
    text = await readFile(torrc, 'utf8');
  } catch (error) {
    return {
      check: 'tor',
      verdict: 'fail',
      message: `cannot read ${torrc} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      fix: 'give the path of the torrc that publishes the onion services',
    };
  }
  const verified = await runTor(deps.torBinary, ['--verify-config', '-f', torrc], 30_000);
  if (verified.kind === 'missing') {
    return {
      check: 'tor',
      verdict: 'fail',
      message: 'tor is not installed here',
      fix: 'apt-get install tor (scripts/setup.sh --runtime installs it)',
    };
  }
  if (verified.kind === 'failed') {
    return {
      check: 'tor',
      verdict: 'fail',
      message: `tor --verify-config rejects ${torrc}: ${verified.reason}`,
      fix: 'correct the torrc (docs/operations/tor.md shows one that works)',
    };
  }
  const targets = onionTargets(text);
  const listeners: Array<[string, boolean, number]> = [
    ['IMAP', config.imap.enabled, config.imap.port],
    ['IMAPS', config.imap.enabled, config.imap.tlsPort],
    ['POP3', config.pop3.enabled, config.pop3.port],
    ['POP3S', config.pop3.enabled, config.pop3.tlsPort],
    ['web', config.web.enabled, config.web.port],
  ];
  const missing = listeners
    .filter(([, enabled, port]) => enabled && port !== 0 && !targets.loopbackPorts.has(port))
    .map(([name, , port]) => `${name} ${port}`);
  const problems: string[] = [];
  if (missing.length) problems.push(`not published as an onion service: ${missing.join(', ')}`);
  if (targets.nonLoopback.length) {
    problems.push(`onion ports forwarded off this host: ${targets.nonLoopback.join(', ')}`);
  }
  if (problems.length > 0) {
    return {
      check: 'tor',
      verdict: 'warn',
      message: `tor accepts ${torrc}, but ${problems.join('; ')}`,
      fix: 'add HiddenServicePort lines pointing at 127.0.0.1 and the configured ports (docs/operations/tor.md)',
    };
  }
  return {
    check: 'tor',
    verdict: 'ok',
    message: `tor accepts ${torrc}; ${targets.loopbackPorts.size} onion port(s) reach kzymy's loopback listeners`,
  };
}

/** HiddenServicePort VIRTPORT [TARGET]: TARGET is PORT, ADDR:PORT or unix:PATH (tor(1)). */
function onionTargets(torrc: string): { loopbackPorts: Set<number>; nonLoopback: string[] } {
  const loopbackPorts = new Set<number>();
  const nonLoopback: string[] = [];
  for (const raw of torrc.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const match = /^HiddenServicePort\s+(\d+)(?:\s+(\S+))?$/i.exec(line);
    if (!match) continue;
    const target = match[2] ?? match[1] ?? '';
    if (target.startsWith('unix:')) continue;
    const hostPort = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(target);
    const host = hostPort ? (hostPort[1] ?? hostPort[2] ?? '') : '127.0.0.1';
    const port = Number(hostPort ? hostPort[3] : target);
    if (LOOPBACK.test(host)) loopbackPorts.add(port);
    else nonLoopback.push(target);
  }
  return { loopbackPorts, nonLoopback };
}

type TorRun = { kind: 'ok' } | { kind: 'missing' } | { kind: 'failed'; reason: string };

function runTor(binary: string, args: string[], timeoutMs: number): Promise<TorRun> {
  return new Promise((resolve) => {
    execFile(binary, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      if (!error) return resolve({ kind: 'ok' });
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return resolve({ kind: 'missing' });
      const lines = `${stdout}\n${stderr}`
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => /\[(err|warn)\]/.test(line) && !/running Tor as root/.test(line));
      // tor names the cause in its first warning and ends with a generic "[err] Reading config
      // failed--see warnings above."
      const first = lines[0];
      resolve({
        kind: 'failed',
        reason: first ? first.replace(/^.*?\[(err|warn)\]\s*/, '') : `exit ${String(error.code)}`,
      });
    });
  });
}

// ---- DNS --------------------------------------------------------------------------------------

async function checkMx(config: Readonly<KzymyConfig>, deps: DoctorDeps): Promise<CheckResult> {
  // Every user is a subdomain, so the MX that matters is the one a random label gets: only a
  // wildcard (RFC 4592) answers for all of them.
  const name = `${randomLabel()}.${config.domain}`;
  let records: Array<{ exchange: string; priority: number }>;
  try {
    records = await deps.resolver.resolveMx(name);
  } catch (error) {
    const code = String((error as { code?: unknown }).code ?? 'error');
    if (code === 'ENOTFOUND' || code === 'ENODATA') {
      return {
        check: 'mx',
        verdict: 'fail',
        message: `no MX for ${name} (${code}): mail to users' subdomains cannot arrive`,
        fix: `publish a wildcard MX: *.${config.domain}. IN MX 10 mx1.${config.domain}. (${DOC}, "DNS")`,
      };
    }
    return {
      check: 'mx',
      verdict: 'warn',
      message: `the MX lookup for ${name} failed (${code})`,
      fix: 'check this machine can reach a DNS resolver (or pass --dns-server HOST:PORT)',
    };
  }
  records.sort((a, b) => a.priority - b.priority);
  // RFC 7505: a single MX with an empty exchange ('.') says the domain takes no mail.
  if (
    records.length === 0 ||
    records.every((record) => record.exchange === '' || record.exchange === '.')
  ) {
    return {
      check: 'mx',
      verdict: 'fail',
      message: `${name} has a null MX (RFC 7505): it says it accepts no mail`,
      fix: `replace it with *.${config.domain}. IN MX 10 mx1.${config.domain}.`,
    };
  }
  const unresolved: string[] = [];
  for (const { exchange } of records) {
    const [v4, v6] = await Promise.all([
      deps.resolver.resolve4(exchange).catch(() => []),
      deps.resolver.resolve6(exchange).catch(() => []),
    ]);
    if (v4.length + v6.length === 0) unresolved.push(exchange);
  }
  const list = records.map((record) => `${record.priority} ${record.exchange}`).join(', ');
  if (unresolved.length > 0) {
    return {
      check: 'mx',
      verdict: 'fail',
      message: `MX for ${name}: ${list}; without an address: ${unresolved.join(', ')}`,
      fix: 'give each MX host an A (and AAAA) record; an MX must not point at a CNAME (RFC 2181 §10.3)',
    };
  }
  const uncovered = await mxNamesNotInCertificate(
    config,
    records.map((record) => record.exchange),
  );
  if (uncovered.length > 0) {
    return {
      check: 'mx',
      verdict: 'warn',
      message: `MX for ${name}: ${list}; the TLS certificate does not cover ${uncovered.join(', ')}`,
      fix:
        'add the MX host names to the certificate (or use *.' +
        config.domain +
        ' with MX hosts under it)',
    };
  }
  return { check: 'mx', verdict: 'ok', message: `MX for ${name}: ${list}` };
}

async function mxNamesNotInCertificate(
  config: Readonly<KzymyConfig>,
  hosts: string[],
): Promise<string[]> {
  if (!config.tls.cert) return [];
  try {
    const cert = new X509Certificate(await readFile(config.tls.cert));
    return hosts.filter((host) => cert.checkHost(host) === undefined);
  } catch {
    return []; // the tls check reports an unreadable certificate
  }
}

// ---- helpers ----------------------------------------------------------------------------------

function skip(check: string, message: string): CheckResult {
  return { check, verdict: 'skip', message };
}

function randomLabel(): string {
  return `doctor-${randomBytes(5).toString('hex')}`;
}

/** The host list of a mongodb:// URL, without credentials, path or options. */
export function hostsOf(url: string): string {
  const rest = url.replace(/^[a-z+]+:\/\//i, '');
  // '@' cannot occur in a host, path or database name, so everything up to the last one is
  // credentials, however badly encoded.
  const hosts = rest.slice(rest.lastIndexOf('@') + 1).split(/[/?]/)[0];
  return hosts || '(no host)';
}

function answers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
