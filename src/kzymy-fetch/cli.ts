#!/usr/bin/env node
/**
 * kzymy-fetch: fetch mail from a kzymy mailbox over Tor and deliver it locally.
 * Usage and exit codes: docs/clients/kzymy-fetch.md (and --help).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { EXIT_SOFTWARE, FetchError } from './errors';
import {
  defaultConfigFile,
  readSettingsFile,
  resolveSettings,
  type FetchSettings,
  type FileSettings,
} from './options';
import { readPassword } from './password';
import { createProgress, formatBytes } from './progress';
import { fetchPass, openSession, type RunContext } from './run';
import { DeliveryState, lockState } from './state';
import { watch } from './watch';

const USAGE = `usage: kzymy-fetch [options]

Fetches every waiting message from a kzymy mailbox through Tor (SOCKS5, names resolved by the
proxy), delivers it locally, and only then deletes it on the server.

  --config FILE            settings file (default ~/.config/kzymy/fetch.yaml)
  --server HOST            the server's .onion address (or host name)
  --protocol imap|pop3     default imap
  --port N                 default 143/110 (993/995 with --tls tls)
  --tls MODE               auto (default: none for .onion, else starttls) | none | starttls | tls
  --ca-file FILE           trust this CA (PEM) for TLS, e.g. a self-signed server certificate
  --user NAME              the mailbox user name
  --password-file FILE     first line is the password (the file must be mode 600)
  --password-command CMD   its first line of output is the password, e.g. "pass show kzymy"
  --proxy HOST:PORT        SOCKS5 proxy (default 127.0.0.1:9050, Tor); socks5h://user:pass@host:port
  --no-proxy               connect directly (NOT through Tor)
  --maildir DIR | --mbox FILE | --mda "COMMAND %F %T"
                           where mail goes (%F sender, %T recipient, shell-quoted)
  --decrypt / --no-decrypt deliver the decrypted message (needs gpg and your secret key)
  --gnupg-home DIR         GnuPG home for --decrypt
  --keep-crlf              keep CRLF line endings (default: LF, the Unix mailbox convention)
  --state-file FILE        default ~/.local/state/kzymy/fetch-state.json
  --watch                  keep running; IMAP IDLE (POP3 polls every pollSeconds)
  --timeout SECONDS        network timeout (default 120)
  --quiet                  no progress bar
  --verbose                a summary line even when not on a terminal
  --help, --version

exit codes: 0 done, 64 usage, 65 decryption failed, 68 server unreachable, 69 proxy down,
73 another kzymy-fetch is running, 75 local delivery failed, 76 protocol or TLS error,
77 authentication failed, 78 configuration; on 65 and 75 the message stays on the server.`;

function parseFlags(argv: string[]): { flags: FileSettings; extra: Record<string, unknown> } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      server: { type: 'string' },
      protocol: { type: 'string' },
      port: { type: 'string' },
      tls: { type: 'string' },
      'ca-file': { type: 'string' },
      user: { type: 'string' },
      'password-file': { type: 'string' },
      'password-command': { type: 'string' },
      proxy: { type: 'string' },
      'no-proxy': { type: 'boolean' },
      maildir: { type: 'string' },
      mbox: { type: 'string' },
      mda: { type: 'string' },
      decrypt: { type: 'boolean' },
      'no-decrypt': { type: 'boolean' },
      'gnupg-home': { type: 'string' },
      'keep-crlf': { type: 'boolean' },
      'state-file': { type: 'string' },
      watch: { type: 'boolean' },
      timeout: { type: 'string' },
      quiet: { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean' },
    },
  });
  if (positionals.length > 0)
    throw new FetchError('usage', `unexpected argument: ${positionals[0]}`);
  const number = (name: string, value: string | undefined): number | undefined => {
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value))
      throw new FetchError('usage', `--${name} needs a number, got "${value}"`);
    return Number(value);
  };
  const oneOf = <T extends string>(
    name: string,
    value: string | undefined,
    allowed: readonly T[],
  ): T | undefined => {
    if (value === undefined) return undefined;
    if (!allowed.includes(value as T))
      throw new FetchError('usage', `--${name} must be one of ${allowed.join(', ')}`);
    return value as T;
  };
  const flags: FileSettings = {
    server: values.server,
    protocol: oneOf('protocol', values.protocol, ['imap', 'pop3'] as const),
    port: number('port', values.port),
    tls: oneOf('tls', values.tls, ['auto', 'none', 'starttls', 'tls'] as const),
    caFile: values['ca-file'],
    user: values.user,
    passwordFile: values['password-file'],
    passwordCommand: values['password-command'],
    proxy: values.proxy,
    noProxy: values['no-proxy'],
    maildir: values.maildir,
    mbox: values.mbox,
    mda: values.mda,
    decrypt: values['no-decrypt'] ? false : values.decrypt,
    gnupgHome: values['gnupg-home'],
    keepCrlf: values['keep-crlf'],
    stateFile: values['state-file'],
    timeoutSeconds: number('timeout', values.timeout),
  };
  for (const key of Object.keys(flags) as (keyof FileSettings)[]) {
    if (flags[key] === undefined) delete flags[key];
  }
  return { flags, extra: values };
}

async function main(argv: string[]): Promise<number> {
  if (argv.some((a) => a === '--password' || a.startsWith('--password='))) {
    throw new FetchError(
      'usage',
      'a password is never given on the command line (other users can read it): use --password-file or --password-command',
    );
  }
  const { flags, extra } = parseFlags(argv);
  if (extra.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (extra.version) {
    process.stdout.write('kzymy-fetch 0.1.0\n');
    return 0;
  }
  const configFile = typeof extra.config === 'string' ? extra.config : defaultConfigFile();
  const file = await readSettingsFile(configFile, typeof extra.config === 'string');
  const settings = resolveSettings(file, flags);
  const quiet = extra.quiet === true;
  const verbose = extra.verbose === true;

  const password = await readPassword(settings.password);
  const ca = settings.caFile ? await readCa(settings.caFile) : undefined;
  const unlock = await lockState(settings.stateFile);
  try {
    const context: RunContext = {
      settings,
      password,
      ca,
      state: await DeliveryState.load(settings.stateFile, accountKey(settings)),
      progress: createProgress(process.stderr, quiet),
    };
    return await fetchOrWatch(context, extra.watch === true, verbose);
  } finally {
    await unlock();
  }
}

async function fetchOrWatch(
  context: RunContext,
  watching: boolean,
  verbose: boolean,
): Promise<number> {
  if (watching) {
    const controller = new AbortController();
    const stop = (): void => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await watch(context, controller.signal, (error) => report(error));
    return 0;
  }
  const session = await openSession(context);
  const result = await fetchPass(session, context, true);
  const summary =
    result.delivered + result.alreadyDelivered === 0
      ? 'no mail'
      : `${result.delivered} message(s) delivered, ${formatBytes(result.bytes)}` +
        (result.alreadyDelivered
          ? `; ${result.alreadyDelivered} delivered before and now deleted`
          : '');
  if (verbose && !process.stderr.isTTY) process.stderr.write(`kzymy-fetch: ${summary}\n`);
  else context.progress.finish(summary);
  return 0;
}

async function readCa(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    throw new FetchError(
      'config',
      `cannot read the CA file ${file} (${(error as NodeJS.ErrnoException).code})`,
    );
  }
}

/** One account's records in the state file: protocol, user, server and port. */
function accountKey(settings: FetchSettings): string {
  return `${settings.protocol}://${settings.user}@${settings.server}:${settings.port}`;
}

function report(error: Error): void {
  process.stderr.write(`\nkzymy-fetch: ${error.message}\n`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof FetchError) {
      process.stderr.write(`kzymy-fetch: ${error.message}\n`);
      process.exit(error.exitCode);
    }
    const code = (error as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`kzymy-fetch: ${(error as Error).message}\n\n${USAGE}\n`);
      process.exit(64);
    }
    process.stderr.write(
      `kzymy-fetch: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(EXIT_SOFTWARE);
  },
);
