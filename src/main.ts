/**
 * `npm start`: the kzymy stack in the foreground.
 *   node dist/src/main.js [--config FILE] [--role all|smtp|daemon]
 * `smtp` runs Haraka only, `daemon` the IMAP, POP3, web, sweeper and admin listeners, `all`
 * (the default) both — on the configured store engine (sqlite by default: a file under the data
 * directory), with a private Redis when no REDIS_URL is configured and, on the mongodb engine
 * without a MONGODB_URL, the embedded FerretDB.
 */
import { parseArgs } from 'node:util';
import { configPath } from './cli/args';
import { loadConfig } from './config/load';
import { ensureBackingServices, type BackingServices } from './embedded/backing-services';
import { startComponents, type Role } from './roles/start-roles';
import { createLogger, errorKind, type Logger } from './log/logger';

const ROLES: readonly Role[] = ['all', 'smtp', 'daemon'];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: 'string' }, role: { type: 'string', default: 'all' } },
  });
  const role = values.role as Role;
  if (!ROLES.includes(role)) throw new StartupError(`--role must be one of ${ROLES.join(', ')}`);

  const file = configPath(values.config);
  const loaded = await loadConfig(file);
  if (!loaded.ok) {
    throw new StartupError(
      ['configuration problems:', ...loaded.problems.map((problem) => `  - ${problem}`)].join('\n'),
    );
  }
  const config = loaded.config;
  const logger = createLogger({ component: 'kzymy', level: config.log.level });

  // Filled in as things start: a signal may arrive at any point of startup.
  const running: { services?: BackingServices; stopComponents?: () => Promise<void> } = {};
  const shutdown = async (signal: string): Promise<void> => {
    logger.info('shutdown', { signal });
    await running
      .stopComponents?.()
      .catch((error: unknown) => logger.error('shutdown', { error: errorKind(error) }));
    await running.services?.stop();
    process.exit(process.exitCode ?? 0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));

  // An embedded service that dies is restarted; one that cannot be kept up stops the process,
  // non-zero, so its supervisor (systemd, the container runtime) starts it all again.
  const services = await ensureBackingServices(config, undefined, {
    logger,
    onGiveUp: () => {
      process.exitCode = 1;
      void shutdown('service.gave_up');
    },
  });
  running.services = services;
  logger.info('startup', {
    role,
    domain: config.domain,
    store: config.store.engine,
    embeddedStore: config.store.engine === 'mongodb' && !config.mongodb.url,
    embeddedRedis: !config.redis.url,
  });
  try {
    running.stopComponents = await startComponents(role, config, services, logger);
  } catch (error) {
    await services.stop();
    throw error;
  }
}

class StartupError extends Error {}

function fail(logger: Logger | undefined, error: unknown): never {
  if (error instanceof StartupError || (error as Error)?.name === 'MissingToolError') {
    process.stderr.write(`kzymy: ${(error as Error).message}\n`);
  } else {
    logger?.error('startup', { error: errorKind(error) });
    process.stderr.write(
      `kzymy: startup failed: ${errorKind(error)}: ${(error as Error)?.message ?? ''}\n`,
    );
  }
  process.exit(1);
}

main().catch((error: unknown) => fail(undefined, error));
