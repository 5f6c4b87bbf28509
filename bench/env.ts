/**
 * The backing services of a benchmark, for one store engine, exactly as `npm start` runs them
 * when no MONGODB_URL / REDIS_URL is given: a private redis-server in a temporary data directory,
 * and either the sqlite store's one file there or (mongodb) a private FerretDB. With a config
 * for each component, users with real GnuPG keys, and one cleanup for all of it.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from '../src/redis/connection';
import { connectRedis } from '../src/redis/connection';
import { hashPassword } from '../src/auth/password';
import { validateConfig } from '../src/config/load';
import type { KzymyConfig } from '../src/config/schema';
import { createLogger, type Logger } from '../src/log/logger';
import { startFerretDb, startRedis, type RunningService } from '../src/embedded/services';
import { openConfiguredStore } from '../src/open-store';
import { loadTls, type TlsMaterial } from '../src/tls/material';
import type { Store, StoreEngine } from '../src/store/store';
import type { User } from '../src/store/types';
import { TestDnsServer } from '../test/helpers/dns-server';
import { GpgHome } from '../test/helpers/gpg';
import { findPids } from './proc';

export const BENCH_DOMAIN = 'kzymy.test';
/** The envelope sender's domain in the SMTP scenarios (bench/inbound.ts, bench/memory.ts). */
export const BENCH_SENDER_DOMAIN = 'example.org';
const BENCH_REDIS_PREFIX = 'kzymy-bench:';

export interface BenchUser {
  user: User;
  password: string;
  /** An address that reaches this user. */
  address: string;
}

export interface BenchEnv {
  engine: StoreEngine;
  dataDir: string;
  /** The embedded FerretDB's URL on mongodb; '' on sqlite. */
  mongoUrl: string;
  redisUrl: string;
  tls: TlsMaterial;
  logger: Logger;
  /** The benchmark's own connection to the store (fills mailboxes, empties them, counts). */
  store: Store;
  gpg: GpgHome;
  /**
   * A validated config for a component of its own (Haraka, a daemon), with its own data
   * directory but the env's store: the same database on mongodb, the same file on sqlite.
   */
  config(name: string, settings?: Record<string, unknown>): Readonly<KzymyConfig>;
  /** The backing processes as [name, pid]: 'redis', and 'ferretdb' on mongodb. */
  services(): [string, number][];
  /** `count` active users sharing one Curve25519 key (keys are per user in production). */
  createUsers(count: number): Promise<BenchUser[]>;
  close(): Promise<void>;
}

export async function startBenchEnv(engine: StoreEngine, database = 'bench'): Promise<BenchEnv> {
  const dataDir = mkdtempSync(join(tmpdir(), `kzymy-bench-${engine}-`));
  const services: RunningService[] = [];
  const redisClients: Redis[] = [];
  let gpg: GpgHome | undefined;
  let store: Store | undefined;
  let dns: TestDnsServer | undefined;
  try {
    // The sender authentication at arrival (SPF, DKIM, DMARC: src/smtp/sender-auth.ts) asks DNS
    // for the sender's domain. This machine's resolver cannot reach the internet, so every query
    // would wait out its timeout and the benchmark would measure that; a resolver on loopback
    // answers as a real domain's would (SPF passes for loopback, DMARC p=none), every other
    // name NXDOMAIN at once.
    dns = await TestDnsServer.start({
      [BENCH_SENDER_DOMAIN]: { TXT: ['v=spf1 ip4:127.0.0.0/8 -all'] },
      [`_dmarc.${BENCH_SENDER_DOMAIN}`]: { TXT: ['v=DMARC1; p=none'] },
    });
    const dnsServers = [dns.address];
    const mongoUrl = engine === 'mongodb' ? await startService(startFerretDb) : '';
    const redisUrl = await startService(startRedis);
    const tls = await loadTls({ key: '', cert: '', dataDir, domain: BENCH_DOMAIN });
    const configFor = (componentDir: string, settings: Record<string, unknown> = {}) => {
      const result = validateConfig({
        domain: BENCH_DOMAIN,
        dataDir: componentDir,
        log: { level: 'warn' },
        smtp: { senderAuth: { dnsServers } },
        ...settings,
        store: { engine },
        mongodb: { url: mongoUrl, database },
        redis: { url: redisUrl, prefix: BENCH_REDIS_PREFIX },
        tls: { key: tls.keyFile, cert: tls.certFile },
      });
      if (!result.ok) throw new Error(`bench config invalid: ${result.problems.join('; ')}`);
      return result.config;
    };
    // Like every kzymy process that stores mail (the fetch scenario fills mailboxes), the
    // benchmark's own store takes the engine's Redis parts on mongodb: the UID lock and the
    // quota's cached totals. On sqlite it opens <dataDir>/store/kzymy.sqlite.
    const redisClient = await connectRedis(redisUrl);
    redisClients.push(redisClient);
    store = await openConfiguredStore(configFor(dataDir), {
      mongoUrl,
      redis: redisClient,
      stores: true,
    });
    gpg = await GpgHome.create();
    const key = await gpg.generateKey('curve25519');
    const armored = (await gpg.exportPublic(key.fingerprint)).toString('utf8');
    const logger = createLogger({ component: 'bench', level: 'warn' });
    const openStore = store;
    const home = gpg;
    let users = 0;
    return {
      engine,
      dataDir,
      mongoUrl,
      redisUrl,
      tls,
      logger,
      store: openStore,
      gpg: home,
      config(name, settings = {}) {
        const componentDir = join(dataDir, name);
        // A component keeps its Haraka directory and logs apart, but on one machine every
        // kzymy process opens the one store file (<dataDir>/store/kzymy.sqlite): its store/
        // is the env's.
        const storeDir = join(componentDir, 'store');
        if (engine === 'sqlite' && !existsSync(storeDir)) {
          mkdirSync(componentDir, { recursive: true, mode: 0o700 });
          symlinkSync(join('..', 'store'), storeDir);
        }
        return configFor(componentDir, settings);
      },
      services() {
        const pids: [string, number][] = [];
        const ferret = findPids('ferretdb', dataDir)[0];
        if (ferret) pids.push(['ferretdb', ferret]);
        // redis-server rewrites its command line to "redis-server 127.0.0.1:PORT".
        const redis = findPids('redis-server', `:${new URL(redisUrl).port}`)[0];
        if (redis) pids.push(['redis', redis]);
        return pids;
      },
      async createUsers(count) {
        const created: BenchUser[] = [];
        for (let i = 0; i < count; i++) {
          const password = `bench-password-${users}`;
          const user = await openStore.users.create({
            fingerprint: key.fingerprint.toLowerCase(),
            publicKey: armored,
            passwordHash: await hashPassword(password),
            state: 'active',
            username: `bench${users}`,
          });
          users++;
          created.push({ user, password, address: `inbox@${user.username}.${BENCH_DOMAIN}` });
        }
        return created;
      },
      async close() {
        await openStore.close().catch(() => undefined);
        await dns?.close().catch(() => undefined);
        for (const client of redisClients) client.disconnect();
        await home.dispose().catch(() => undefined);
        await Promise.all(services.map((s) => s.stop()));
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await store?.close().catch(() => undefined);
    await dns?.close().catch(() => undefined);
    for (const client of redisClients) client.disconnect();
    await gpg?.dispose().catch(() => undefined);
    await Promise.all(services.map((s) => s.stop()));
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }

  async function startService(
    start: (options: { dataDir: string; port: number }) => Promise<RunningService>,
  ): Promise<string> {
    const service = await start({ dataDir, port: 0 });
    services.push(service);
    return service.url;
  }
}

/** Starts one env per engine, in order; closes those started if one fails. */
export async function startBenchEnvs(
  engines: readonly StoreEngine[],
  database?: string,
): Promise<BenchEnv[]> {
  const envs: BenchEnv[] = [];
  try {
    for (const engine of engines) envs.push(await startBenchEnv(engine, database));
    return envs;
  } catch (error) {
    await Promise.all(envs.map((env) => env.close()));
    throw error;
  }
}
