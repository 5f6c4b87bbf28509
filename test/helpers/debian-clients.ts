/**
 * Running the Debian clients (fetchmail, getmail, mbsync) against a kzymy listener, and undoing
 * their documented local changes to compare what they stored with what the server sent.
 */
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunResult, runProgram, maildirMessages } from './programs';

/** Where a Debian client should fetch from. */
export interface ClientTarget {
  port: number;
  username: string;
  password: string;
  /** Implicit TLS (the imaps/pop3s port); otherwise plain, with STARTTLS if the client likes. */
  tls?: boolean;
  /** The server's (self-signed) certificate, for clients that must verify it. */
  certFile?: string;
}

/** A private temp directory a non-root delivery user can write to (getmail refuses root). */
function clientDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

function makeMaildir(dir: string): void {
  for (const sub of ['cur', 'new', 'tmp']) {
    mkdirSync(join(dir, sub), { recursive: true });
    chmodSync(join(dir, sub), 0o777);
  }
  chmodSync(dir, 0o777);
}

/**
 * fetchmail (6.4) with an MDA that writes each message to a file. `set invisible` keeps it from
 * adding its Received header; it hands the MDA the message with LF line ends.
 */
export async function runFetchmail(
  protocol: 'IMAP' | 'POP3',
  target: ClientTarget,
  options: { fetchall?: boolean } = {},
): Promise<{ result: RunResult; delivered: Buffer[] }> {
  const dir = clientDir('kz-fetchmail-');
  const out = join(dir, 'out');
  mkdirSync(out);
  const mda = join(dir, 'mda.sh');
  writeFileSync(mda, `#!/bin/sh\nexec cat > "${out}/$(date +%s%N)-$$"\n`);
  chmodSync(mda, 0o755);
  const rc = join(dir, 'fetchmailrc');
  writeFileSync(
    rc,
    [
      'set no bouncemail',
      'set invisible',
      `poll 127.0.0.1 service ${target.port} protocol ${protocol}`,
      `  username "${target.username}" password "${target.password}"`,
      // The test certificate is self-signed: TLS without verification (STARTTLS on the plain port).
      // Without fetchall, fetchmail asks only for unseen mail (POP3: the obsolete LAST, then UIDL).
      `  ${options.fetchall === false ? '' : 'fetchall '}no rewrite ${target.tls ? 'ssl ' : ''}no sslcertck`,
      `  mda "${mda}"`,
    ].join('\n') + '\n',
  );
  chmodSync(rc, 0o600);
  // Its own lock file: as root, fetchmail would otherwise share /var/run/fetchmail.pid with
  // any other fetchmail on the machine (and refuse to run beside it).
  const result = await runProgram(
    'fetchmail',
    ['-v', '--nosyslog', '--pidfile', join(dir, 'fetchmail.pid'), '-f', rc],
    { env: { HOME: dir, FETCHMAILHOME: dir } },
  );
  const delivered = readdirSync(out)
    .sort()
    .map((name) => readFileSync(join(out, name)));
  rmSync(dir, { recursive: true, force: true });
  return { result, delivered };
}

/**
 * getmail6 into a Maildir. It writes LF line ends and prepends "Return-Path: <unknown>" (it
 * knows no envelope sender); delivered_to and received are turned off.
 */
export async function runGetmail(
  protocol: 'IMAP' | 'POP3',
  target: ClientTarget,
): Promise<{ result: RunResult; delivered: Buffer[] }> {
  const dir = clientDir('kz-getmail-');
  const maildir = join(dir, 'Maildir');
  makeMaildir(maildir);
  const retriever = `Simple${protocol}${target.tls ? 'SSL' : ''}Retriever`;
  writeFileSync(
    join(dir, 'getmailrc'),
    [
      '[retriever]',
      `type = ${retriever}`,
      'server = 127.0.0.1',
      `port = ${target.port}`,
      `username = ${target.username}`,
      `password = ${target.password}`,
      // record_mailbox: no X-getmail-retrieved-from-mailbox header.
      ...(protocol === 'IMAP' ? ['mailboxes = ("INBOX",)', 'record_mailbox = false'] : []),
      '',
      '[destination]',
      'type = Maildir',
      `path = ${maildir}/`,
      // getmail will not deliver as root; tests may run as root.
      ...(process.getuid?.() === 0 ? ['user = nobody'] : []),
      '',
      '[options]',
      'delete = true',
      'read_all = true',
      'delivered_to = false',
      'received = false',
      'verbose = 2',
      'message_log_syslog = false',
    ].join('\n') + '\n',
  );
  const result = await runProgram('getmail', ['--getmaildir', dir, '--rcfile', 'getmailrc'], {
    env: { HOME: dir },
  });
  const delivered = maildirMessages(maildir);
  rmSync(dir, { recursive: true, force: true });
  return { result, delivered };
}

/**
 * mbsync (isync 1.4) pulling INBOX into a Maildir. It writes LF line ends and adds an X-TUID
 * header line at the end of the header.
 */
export async function runMbsync(
  target: ClientTarget,
): Promise<{ result: RunResult; delivered: Buffer[] }> {
  const dir = clientDir('kz-mbsync-');
  const store = join(dir, 'mail');
  mkdirSync(store);
  writeFileSync(
    join(dir, 'mbsyncrc'),
    [
      'IMAPAccount kzymy',
      // mbsync matches the certificate against host names only, not IP addresses.
      `Host ${target.tls ? 'localhost' : '127.0.0.1'}`,
      `Port ${target.port}`,
      `User ${target.username}`,
      `Pass ${target.password}`,
      target.tls ? 'SSLType IMAPS' : 'SSLType None',
      ...(target.tls ? [`CertificateFile ${target.certFile}`, 'SSLVersions TLSv1.2 TLSv1.3'] : []),
      'AuthMechs LOGIN',
      '',
      'IMAPStore remote',
      'Account kzymy',
      '',
      'MaildirStore local',
      `Path ${store}/`,
      `Inbox ${store}/INBOX`,
      '',
      'Channel kzymy',
      'Far :remote:',
      'Near :local:',
      'Patterns INBOX',
      'Sync Pull',
      'Create Near',
      'Expunge None',
      'SyncState *',
    ].join('\n') + '\n',
  );
  const result = await runProgram('mbsync', ['-V', '-c', join(dir, 'mbsyncrc'), '-a'], {
    env: { HOME: dir },
  });
  const delivered = maildirMessages(join(store, 'INBOX'));
  rmSync(dir, { recursive: true, force: true });
  return { result, delivered };
}

/** Undoes a client's documented local changes, leaving the message as the server sent it (LF). */
export function asSent(client: 'fetchmail' | 'getmail' | 'mbsync', delivered: Buffer): Buffer {
  let text = delivered.toString('latin1');
  if (client === 'getmail') text = text.replace(/^Return-Path: <unknown>\n/, '');
  if (client === 'mbsync') {
    const headerEnd = text.indexOf('\n\n');
    const header = text.slice(0, headerEnd + 1).replace(/^X-TUID: [^\n]*\n/m, '');
    text = header + text.slice(headerEnd + 1);
  }
  return Buffer.from(text, 'latin1');
}
