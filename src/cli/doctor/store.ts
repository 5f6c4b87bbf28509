/**
 * The store and Redis: the sqlite engine's file sound, or MongoDB reachable, authenticated and
 * answering; Redis answering — servers shown by host only, never a password.
 */
import { probeRedis } from '../../redis/connection';
import type { KzymyConfig } from '../../config/schema';
import { sqliteStoreFile } from '../../embedded/paths';
import { MongoStore } from '../../store/mongodb/store';
import { inspectSqliteStore } from '../../store/sqlite/inspect';
import { answers, DOC, hostsOf, LOOPBACK, type CheckResult, type DoctorDeps } from './common';

/** The configured engine's check: `store` for sqlite, `mongodb` for MongoDB. */
export async function checkStore(
  config: Readonly<KzymyConfig>,
  deps: DoctorDeps,
): Promise<CheckResult> {
  return config.store.engine === 'sqlite' ? checkSqlite(config) : checkMongo(config, deps);
}

function checkSqlite(config: Readonly<KzymyConfig>): CheckResult {
  const file = sqliteStoreFile(config.dataDir);
  let found;
  try {
    found = inspectSqliteStore(file);
  } catch (error) {
    return {
      check: 'store',
      verdict: 'fail',
      message: `the sqlite store ${file} cannot be read: ${(error as Error).message}`,
      fix: "check the file's owner and mode (the kzymy user, 0600) and the disk",
    };
  }
  if (!found) {
    return {
      check: 'store',
      verdict: 'warn',
      message: `the sqlite store ${file} does not exist yet`,
      fix: 'kzymy creates it at its first start (npm start, or the kzymy-smtp / kzymy-daemon units)',
    };
  }
  if (found.integrity !== 'ok') {
    return {
      check: 'store',
      verdict: 'fail',
      message: `the sqlite store ${file} is damaged: ${found.integrity}`,
      fix: `stop kzymy and restore the file from a backup (${DOC}, "Backups")`,
    };
  }
  if (found.journalMode !== 'wal' || found.autoVacuum !== 2) {
    return {
      check: 'store',
      verdict: 'warn',
      message: `the sqlite store ${file} runs journal_mode=${found.journalMode}, auto_vacuum=${found.autoVacuum} (kzymy sets wal and 2)`,
      fix: 'a file not created by kzymy: let kzymy create a new one and copy users over',
    };
  }
  return {
    check: 'store',
    verdict: 'ok',
    message: `sqlite store ${file}: ${found.users} users, ${found.messages} messages, integrity ok`,
  };
}

export async function checkMongo(
  config: Readonly<KzymyConfig>,
  deps: DoctorDeps,
): Promise<CheckResult> {
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
  let store: MongoStore | undefined;
  try {
    store = await MongoStore.open({
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

export async function checkRedis(
  config: Readonly<KzymyConfig>,
  deps: DoctorDeps,
): Promise<CheckResult> {
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
  try {
    await probeRedis(url, deps.timeoutMs);
  } catch (error) {
    return { check: 'redis', verdict: 'fail', ...explainRedisError(error, where) };
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
