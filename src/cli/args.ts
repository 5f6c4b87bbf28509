/** Small helpers shared by the CLI commands. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../config/load';
import type { KzymyConfig } from '../config/schema';
import { projectRoot } from '../util/project-root';

/** A failure the user can act on: printed without a stack trace, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** --config FILE, else $KZYMY_CONFIG, else config/kzymy.yaml when present, else the defaults. */
export function configPath(explicit: string | undefined): string | undefined {
  if (explicit) return explicit;
  if (process.env.KZYMY_CONFIG) return process.env.KZYMY_CONFIG;
  const local = join(projectRoot(), 'config', 'kzymy.yaml');
  return existsSync(local) ? local : undefined;
}

export async function loadConfigOrFail(
  explicit: string | undefined,
): Promise<Readonly<KzymyConfig>> {
  const result = await loadConfig(configPath(explicit));
  if (!result.ok) {
    throw new CliError(
      ['configuration problems:', ...result.problems.map((problem) => `  - ${problem}`)].join('\n'),
      78,
    );
  }
  return result.config;
}
