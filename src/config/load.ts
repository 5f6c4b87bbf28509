/**
 * Loads the configuration: one YAML file, then environment overrides, then the schema. Every
 * problem is collected and reported at once (mox's `config test`), and the result is frozen so no
 * component can change what another one sees.
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { configSchema, type KzymyConfig } from './schema';

export type ConfigResult =
  | { ok: true; config: Readonly<KzymyConfig> }
  | { ok: false; problems: string[] };

type Env = Record<string, string | undefined>;

/** Environment variables that override a file setting: name → path in the config. */
const ENV_OVERRIDES: ReadonlyArray<{ name: string; path: string[]; kind: 'string' | 'port' }> = [
  { name: 'MONGODB_URL', path: ['mongodb', 'url'], kind: 'string' },
  { name: 'REDIS_URL', path: ['redis', 'url'], kind: 'string' },
  { name: 'KZYMY_DOMAIN', path: ['domain'], kind: 'string' },
  { name: 'KZYMY_DATA_DIR', path: ['dataDir'], kind: 'string' },
  { name: 'KZYMY_LOG_LEVEL', path: ['log', 'level'], kind: 'string' },
  { name: 'KZYMY_SMTP_PORT', path: ['smtp', 'port'], kind: 'port' },
  { name: 'KZYMY_IMAP_PORT', path: ['imap', 'port'], kind: 'port' },
  { name: 'KZYMY_IMAPS_PORT', path: ['imap', 'tlsPort'], kind: 'port' },
  { name: 'KZYMY_POP3_PORT', path: ['pop3', 'port'], kind: 'port' },
  { name: 'KZYMY_POP3S_PORT', path: ['pop3', 'tlsPort'], kind: 'port' },
  { name: 'KZYMY_WEB_PORT', path: ['web', 'port'], kind: 'port' },
  { name: 'KZYMY_ADMIN_PORT', path: ['admin', 'port'], kind: 'port' },
  { name: 'KZYMY_SUBMISSION_PORT', path: ['send', 'port'], kind: 'port' },
  { name: 'KZYMY_SUBMISSIONS_PORT', path: ['send', 'tlsPort'], kind: 'port' },
];

/** Validates an already-parsed document plus environment overrides. */
export function validateConfig(document: unknown, env: Env = {}): ConfigResult {
  const problems: string[] = [];
  if (
    document !== null &&
    document !== undefined &&
    (typeof document !== 'object' || Array.isArray(document))
  ) {
    return { ok: false, problems: ['the configuration file must hold a mapping of settings'] };
  }
  const merged = structuredClone((document ?? {}) as Record<string, unknown>);

  for (const override of ENV_OVERRIDES) {
    const raw = env[override.name];
    if (raw === undefined || raw === '') continue;
    let value: string | number = raw;
    if (override.kind === 'port') {
      value = /^\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isInteger(value) || value > 65535) {
        problems.push(`${override.name}: must be a port number from 0 to 65535, got "${raw}"`);
        continue;
      }
    }
    setPath(merged, override.path, value);
  }

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys)
          problems.push(`${joinPath(issue.path, key)}: unknown setting`);
      } else {
        problems.push(`${where}: ${issue.message}`);
      }
    }
  }
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, config: deepFreeze(parsed.data) };
}

/** Reads and validates a YAML file; a missing file is a problem only when it was named. */
export async function loadConfig(
  file: string | undefined,
  env: Env = process.env,
): Promise<ConfigResult> {
  let document: unknown = {};
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      return { ok: false, problems: [`${file}: cannot read the configuration file (${code})`] };
    }
    try {
      document = parseYaml(text);
    } catch (error) {
      return { ok: false, problems: [`${file}: not valid YAML: ${(error as Error).message}`] };
    }
  }
  return validateConfig(document, env);
}

function joinPath(path: ReadonlyArray<PropertyKey>, key: string): string {
  return [...path.map(String), key].join('.');
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
