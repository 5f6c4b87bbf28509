/**
 * kzymy-fetch settings: a YAML file (~/.config/kzymy/fetch.yaml or --config) with command-line
 * flags on top. Unknown keys are errors, every problem is reported at once, and there is no way
 * to give a password as a value — only a file or a command.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FetchError } from './errors';
import type { PasswordSource } from './password';
import type { ProxyAddress } from './socks5';
import type { TlsMode } from './transport';

export type Delivery =
  | { kind: 'maildir'; path: string }
  | { kind: 'mbox'; path: string }
  | { kind: 'mda'; command: string };

export interface FetchSettings {
  protocol: 'imap' | 'pop3';
  server: string;
  port: number;
  tls: TlsMode;
  caFile: string | null;
  user: string;
  password: PasswordSource;
  /** null only when the user asked for --no-proxy. */
  proxy: ProxyAddress | null;
  delivery: Delivery;
  decrypt: boolean;
  gpg: string;
  gnupgHome: string | null;
  keepCrlf: boolean;
  stateFile: string;
  pollSeconds: number;
  idleSeconds: number;
  timeoutSeconds: number;
}

/** The file's schema; the same names, in camelCase, as the long flags. */
export const fileSchema = z
  .object({
    server: z.string().min(1),
    protocol: z.enum(['imap', 'pop3']),
    port: z.number().int().min(1).max(65535),
    tls: z.enum(['auto', 'none', 'starttls', 'tls']),
    caFile: z.string().min(1),
    user: z.string().min(1),
    passwordFile: z.string().min(1),
    passwordCommand: z.string().min(1),
    proxy: z.string().min(1),
    noProxy: z.boolean(),
    maildir: z.string().min(1),
    mbox: z.string().min(1),
    mda: z.string().min(1),
    decrypt: z.boolean(),
    gpg: z.string().min(1),
    gnupgHome: z.string().min(1),
    keepCrlf: z.boolean(),
    stateFile: z.string().min(1),
    pollSeconds: z.number().int().min(10),
    idleSeconds: z
      .number()
      .int()
      .min(10)
      .max(29 * 60),
    timeoutSeconds: z.number().int().min(1),
  })
  .partial()
  .strict();

export type FileSettings = z.infer<typeof fileSchema>;

export const DEFAULT_PROXY = '127.0.0.1:9050';

export function defaultConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'kzymy', 'fetch.yaml');
}

function defaultStateFile(env: NodeJS.ProcessEnv): string {
  return join(
    env.XDG_STATE_HOME || join(homedir(), '.local', 'state'),
    'kzymy',
    'fetch-state.json',
  );
}

/** Reads the settings file; a missing default file is fine, a missing explicit one is not. */
export async function readSettingsFile(file: string, explicit: boolean): Promise<FileSettings> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (!explicit && (error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new FetchError(
      'config',
      `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  let document: unknown;
  try {
    document = parseYaml(text) ?? {};
  } catch (error) {
    throw new FetchError('config', `${file} is not valid YAML: ${(error as Error).message}`);
  }
  const parsed = fileSchema.safeParse(document);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        const password = issue.keys.includes('password')
          ? ' (a password is never written into this file: use passwordFile or passwordCommand)'
          : '';
        return `unknown setting ${issue.keys.join(', ')}${password}`;
      }
      return `${issue.path.join('.') || '(top level)'}: ${issue.message}`;
    });
    throw new FetchError('config', [`${file}:`, ...problems.map((p) => `  - ${p}`)].join('\n'));
  }
  return parsed.data;
}

/** File settings, then flags on top (a delivery or password flag replaces the file's choice). */
export function resolveSettings(
  file: FileSettings,
  flags: FileSettings,
  env: NodeJS.ProcessEnv = process.env,
): FetchSettings {
  const problems: string[] = [];
  const pick = <K extends keyof FileSettings>(key: K): FileSettings[K] => flags[key] ?? file[key];
  const path = (value: string): string => expandHome(value);

  const server = pick('server');
  const user = pick('user');
  if (!server)
    problems.push('no server: give --server HOST (the .onion address) or "server:" in the file');
  if (!user) problems.push('no user: give --user NAME or "user:" in the file');

  const protocol = pick('protocol') ?? 'imap';
  const tlsSetting = pick('tls') ?? 'auto';
  const tls: TlsMode =
    tlsSetting === 'auto' ? (/\.onion$/i.test(server ?? '') ? 'none' : 'starttls') : tlsSetting;
  const port = pick('port') ?? defaultPort(protocol, tls);

  const password = passwordSource(flags, file, path, problems);
  const delivery = deliveryOf(flags) ?? deliveryOf(file);
  if (!delivery) problems.push('no delivery: give --maildir DIR, --mbox FILE or --mda COMMAND');
  else if (
    countDeliveries(flags) > 1 ||
    (countDeliveries(flags) === 0 && countDeliveries(file) > 1)
  ) {
    problems.push('give only one of maildir, mbox and mda');
  }

  let proxy: ProxyAddress | null = null;
  if (!pick('noProxy')) {
    try {
      proxy = parseProxy(pick('proxy') ?? DEFAULT_PROXY);
    } catch (error) {
      problems.push((error as Error).message);
    }
  }

  if (problems.length > 0 || !server || !user || !password || !delivery) {
    throw new FetchError('usage', ['cannot start:', ...problems.map((p) => `  - ${p}`)].join('\n'));
  }
  return {
    protocol,
    server,
    port,
    tls,
    caFile: pick('caFile') ? path(pick('caFile') as string) : null,
    user,
    password,
    proxy,
    delivery:
      delivery.kind === 'mda' ? delivery : { kind: delivery.kind, path: path(delivery.path) },
    decrypt: pick('decrypt') ?? false,
    gpg: pick('gpg') ?? 'gpg',
    gnupgHome: pick('gnupgHome') ? path(pick('gnupgHome') as string) : null,
    keepCrlf: pick('keepCrlf') ?? false,
    stateFile: path(pick('stateFile') ?? defaultStateFile(env)),
    pollSeconds: pick('pollSeconds') ?? 300,
    idleSeconds: pick('idleSeconds') ?? 25 * 60,
    timeoutSeconds: pick('timeoutSeconds') ?? 120,
  };
}

function defaultPort(protocol: 'imap' | 'pop3', tls: TlsMode): number {
  if (protocol === 'imap') return tls === 'tls' ? 993 : 143;
  return tls === 'tls' ? 995 : 110;
}

function passwordSource(
  flags: FileSettings,
  file: FileSettings,
  path: (value: string) => string,
  problems: string[],
): PasswordSource | null {
  const chosen = flags.passwordFile || flags.passwordCommand ? flags : file;
  if (chosen.passwordFile && chosen.passwordCommand) {
    problems.push('give either a password file or a password command, not both');
    return null;
  }
  if (chosen.passwordFile) return { file: path(chosen.passwordFile) };
  if (chosen.passwordCommand) return { command: chosen.passwordCommand };
  problems.push('no password: give --password-file FILE or --password-command COMMAND');
  return null;
}

function countDeliveries(settings: FileSettings): number {
  return [settings.maildir, settings.mbox, settings.mda].filter(Boolean).length;
}

function deliveryOf(settings: FileSettings): Delivery | null {
  if (settings.maildir) return { kind: 'maildir', path: settings.maildir };
  if (settings.mbox) return { kind: 'mbox', path: settings.mbox };
  if (settings.mda) return { kind: 'mda', command: settings.mda };
  return null;
}

/** `host:port`, `[v6]:port`, or `socks5h://[user:pass@]host:port`. */
export function parseProxy(value: string): ProxyAddress {
  const withScheme = /^[a-z0-9]+:\/\//i.test(value) ? value : `socks5h://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`proxy "${value}" is not host:port or socks5h://host:port`);
  }
  // socks5:// is accepted too: kzymy-fetch always lets the proxy resolve names.
  if (url.protocol !== 'socks5h:' && url.protocol !== 'socks5:') {
    throw new Error(`proxy "${value}": only SOCKS5 proxies are supported (socks5h://host:port)`);
  }
  const port = Number(url.port || 1080);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new Error(`proxy "${value}" has no host`);
  return {
    host,
    port,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  };
}

export function expandHome(value: string): string {
  const expanded =
    value === '~' ? homedir() : value.startsWith('~/') ? join(homedir(), value.slice(2)) : value;
  return isAbsolute(expanded) ? expanded : resolve(expanded);
}
