/**
 * The IMAP part of the kzymy daemon in a process of its own, so that the fetch and memory
 * scenarios measure its CPU and memory apart from the benchmark's. Built from the same parts as
 * `npm start --role daemon` (createDaemonDeps, startImapServers); used until src/main.ts wires
 * IMAP into the daemon role.
 *
 *   KZYMY_BENCH_CONFIG='{"mongodb":…}' node dist/bench/imap-daemon.js
 *
 * Prints one JSON line, {"imapPort": N}, when listening; SIGTERM stops it.
 */
import { validateConfig } from '../src/config/load';
import { createDaemonDeps } from '../src/roles/create-deps';
import { startImapServers } from '../src/imap/server';
import { createLogger } from '../src/log/logger';

async function main(): Promise<void> {
  const result = validateConfig(JSON.parse(process.env.KZYMY_BENCH_CONFIG ?? '{}'));
  if (!result.ok) throw new Error(`config: ${result.problems.join('; ')}`);
  const config = result.config;
  const logger = createLogger({ component: 'bench-daemon', level: config.log.level });
  const deps = await createDaemonDeps(
    config,
    { mongoUrl: config.mongodb.url, redisUrl: config.redis.url },
    logger,
  );
  const imap = await startImapServers(deps);
  process.once('SIGTERM', () => {
    void (async () => {
      await imap.plain.close();
      await imap.tls.close();
      await deps.close();
      process.exit(0);
    })();
  });
  process.stdout.write(JSON.stringify({ imapPort: imap.plain.port }) + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`imap-daemon: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
