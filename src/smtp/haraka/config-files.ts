/**
 * The Haraka configuration directory kzymy generates from its own config: every file Haraka
 * reads is written here, so nothing falls back to a default chosen by someone else. Each setting
 * says why (settings names from Haraka 3.3.4: config/*.ini, connection.js, server.js,
 * tls_socket.js, logger.js, haraka-message-stream).
 */
import type { KzymyConfig } from '../../config/schema';
import { harakaTlsIniLines } from '../../tls/policy';

export interface HarakaFilesInput {
  config: Readonly<KzymyConfig>;
  host: string;
  port: number;
  tlsKeyFile: string;
  tlsCertFile: string;
  /** Absolute path of the compiled plugin (dist/haraka-plugins/kzymy.js). */
  pluginModule: string;
  /** Where the never-used spool directory points (it is never created). */
  noSpoolDir: string;
  /** Secret for Haraka's INTERNALCMD (see below); random per start. */
  internalCmdKey: string;
  maxLineBytes: number;
  /** Haraka's own per-plugin timeout, a backstop behind kzymy's adapter timeouts (seconds). */
  pluginTimeoutSeconds: number;
  /** Haraka's log level; 'warn' unless a test turns it up to prove the log hook's filter. */
  logLevel: HarakaLogLevel;
}

export type HarakaLogLevel = 'data' | 'protocol' | 'debug' | 'info' | 'notice' | 'warn' | 'error';

/** RFC 7919 ffdhe2048: a fixed, public DH group, so Haraka never runs `openssl dhparam`. */
export const FFDHE2048_PEM = `-----BEGIN DH PARAMETERS-----
MIIBCAKCAQEA//////////+t+FRYortKmq/cViAnPTzx2LnFg84tNpWp4TZBFGQz
+8yTnc4kmz75fS/jY2MMddj2gbICrsRhetPfHtXV/WVhJDP1H18GbtCFY2VVPe0a
87VXE15/V8k1mE8McODmi3fipona8+/och3xWKE2rec1MKzKT0g6eXq8CrGCsyT7
YdEIqUuyyOP7uWrat2DX9GgdT0Kj3jlN9K5W7edjcrsZCwenyO4KbXCeAvzhzffi
7MA0BM0oNC9hkXL+nOmFg/+OTxIy7vKBg8P+OxtMb61zO7X8vC7CIAXFjvGDfRaD
ssbzSibBsu/6iGtCOGEoXJf//////////wIBAg==
-----END DH PARAMETERS-----
`;

/** File name (relative to the Haraka directory) → content. */
export function harakaFiles(input: HarakaFilesInput): Map<string, string> {
  const { config } = input;
  const files = new Map<string, string>();
  const listen = input.host.includes(':')
    ? `[${input.host}]:${input.port}`
    : `${input.host}:${input.port}`;

  files.set(
    'config/smtp.ini',
    lines(
      `listen=${listen}`,
      // One process (Haraka's default, unset, is a cluster of one worker). kzymy scales by running
      // more SMTP processes, never Haraka's worker cluster, whose workers' counters the admin
      // listener could not reach and which no test exercises.
      'nodes=0',
      'daemonize=false',
      'inactivity_timeout=300',
      // SIGINT exits at once: an unfinished delivery has not been answered 250, so the sender
      // retries, and kzymy's rollback and the sweeper's orphan-chunk pass cover partial writes.
      'graceful_shutdown=false',
      'ignore_bad_plugins=false',
    ),
  );

  files.set(
    'config/connection.ini',
    lines(
      '[main]',
      // haraka-message-stream spools a message to disk past spool_after (25 MB by default);
      // -1 is "never". The spool directory points nowhere, so a spool attempt fails (4xx).
      'spool_after=-1',
      `spool_dir=${input.noSpoolDir}`,
      'strict_rfc1869=false',
      // RFC 6531 SMTPUTF8 (8BITMIME is always advertised).
      'smtputf8=true',
      '',
      '[haproxy]',
      'enabled=false',
      '',
      '[headers]',
      // The message is stored as received: no Received (it would carry the client's IP and
      // HELO), no Authentication-Results, no version.
      'add_received=false',
      'clean_auth_results=false',
      'show_version=false',
      'max_lines=1000',
      'max_received=100',
      '',
      '[max]',
      // kzymy enforces the size itself so that the reply is 552 5.3.4 naming the limit; Haraka's
      // limit (550 "Message too big!") is off, and the SIZE keyword is rewritten by the plugin.
      'bytes=0',
      'line_length=512',
      // Longer DATA lines are split by Haraka (CR LF SP inserted); kzymy then refuses the
      // message rather than store altered bytes.
      `data_line_length=${input.maxLineBytes}`,
      'mime_parts=1000',
      '',
      '[message]',
      'greeting[]=kzymy',
      'helo=hello',
      'close=bye',
      '',
      '[uuid]',
      'banner_chars=0',
      'deny_chars=0',
    ),
  );

  files.set(
    'config/log.ini',
    lines(
      '[main]',
      // WARN keeps Haraka from even formatting its per-connection NOTICE lines (IPs, addresses);
      // what it still logs goes through the plugin's log hook and is reduced (haraka-log.ts).
      `level=${input.logLevel}`,
      'timestamps=false',
      'format=json',
    ),
  );

  files.set(
    'config/tls.ini',
    lines(
      '[main]',
      `key=${input.tlsKeyFile}`,
      `cert=${input.tlsCertFile}`,
      'dhparam=dhparams.pem',
      // The MX's TLS policy (src/tls/policy.ts): TLS 1.2+, Node's wider suites for
      // opportunistic STARTTLS, client-initiated renegotiation refused.
      ...harakaTlsIniLines(),
      // Client certificates are neither asked for nor checked (MTA-to-MTA STARTTLS is
      // opportunistic, RFC 3207 §4.1).
      'requestCert=false',
      'rejectUnauthorized=false',
      'requestOCSP=false',
    ),
  );
  files.set('config/dhparams.pem', FFDHE2048_PEM);

  // tls: STARTTLS (RFC 3207). kzymy: everything else.
  files.set('config/plugins', lines('tls', 'kzymy'));
  // The name in the greeting and EHLO reply.
  files.set('config/me', lines(config.domain));
  // Without a key, any loopback client (every Tor client is one) could send
  // "INTERNALCMD performShutdown" and stop the server (connection.js cmd_internalcmd).
  files.set('config/internalcmd_key', lines(input.internalCmdKey));
  files.set('config/kzymy.timeout', lines(String(input.pluginTimeoutSeconds)));

  // Haraka finds <dir>/plugins/<name>.js and runs it in a vm sandbox; the shim only loads the
  // compiled plugin with Haraka's require (an absolute path is not sandboxed) and copies its
  // exports onto the Plugin object.
  files.set(
    'plugins/kzymy.js',
    lines(
      '// Generated by kzymy (src/smtp/haraka/config-files.ts) at every start; edits are lost.',
      `const impl = require(${JSON.stringify(input.pluginModule)})`,
      'for (const key of Object.keys(impl)) exports[key] = impl[key]',
    ),
  );
  return files;
}

function lines(...items: string[]): string {
  return items.join('\n') + '\n';
}
