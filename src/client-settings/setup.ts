/**
 * The shape of a client set-up, and what several clients share. A set-up is what a user copies:
 * files to write, commands to run once, and the command that fetches. The web pages render it,
 * docs/clients/ hold it (docs-blocks.ts), and the client tests run it with the real clients.
 */
import type { MailServer } from './servers';

export type Protocol = 'imap' | 'pop3';

export const CLIENT_IDS = [
  'kzymy-fetch',
  'fetchmail',
  'getmail',
  'mbsync',
  'offlineimap',
  'neomutt',
] as const;
export type ClientId = (typeof CLIENT_IDS)[number];

export interface ClientFile {
  /** Where the user puts it, `~/` for the home directory. */
  path: string;
  text: string;
}

export interface ClientSetup {
  client: ClientId;
  protocol: Protocol;
  /** Debian packages the set-up needs. */
  packages: string[];
  files: ClientFile[];
  /** Shell commands to run once, after writing the files. */
  prepare: string[];
  /** The command that fetches (run it as often as you like). */
  run: string;
  /** Where the mail ends up, in words. */
  keeps: string;
}

export interface SetupInput {
  server: MailServer;
  username: string;
  protocol: Protocol;
}

/** Tor's SOCKS port (Tor Browser's is 9150). */
export const SOCKS_PROXY = '127.0.0.1:9050';

/** Every client but fetchmail reads the password from this file. */
export const PASSWORD_FILE = '~/.config/kzymy/password';

/** Stands for the password the activation message holds; the only thing a user replaces. */
export const PASSWORD_PLACEHOLDER = 'PASSWORD-FROM-THE-ACTIVATION-MESSAGE';

/** The commands that put the password into PASSWORD_FILE, readable by the user alone. */
export function passwordFileCommands(): string[] {
  return [
    'mkdir -p ~/.config/kzymy && chmod 700 ~/.config/kzymy',
    `printf '%s\\n' '${PASSWORD_PLACEHOLDER}' > ${PASSWORD_FILE} && chmod 600 ${PASSWORD_FILE}`,
  ];
}

/** Reached through Tor: everything but a development server without an address. */
export function proxied(server: MailServer): boolean {
  return server.via !== 'direct';
}

/** TLS on the connection: only clearnet (an onion connection is encrypted and authenticated). */
export function usesTls(server: MailServer): boolean {
  return server.via === 'clearnet';
}

export function portOf(input: SetupInput): number {
  return input.protocol === 'imap' ? input.server.imapPort : input.server.pop3Port;
}

/**
 * `torsocks` in front of a command for clients without a SOCKS setting of their own: every
 * connection goes through Tor and every host name is resolved by Tor, never by local DNS.
 */
export function throughTor(server: MailServer, command: string): string {
  return proxied(server) ? `torsocks ${command}` : command;
}

/**
 * procmail's recipe for fetchmail and getmail: decrypt kzymy's PGP/MIME with gpg, deliver to
 * ~/Maildir/. "w": if gpg fails the message is delivered still encrypted, never lost.
 */
export function procmailrc(): ClientFile {
  return {
    path: '~/.procmailrc',
    text: [
      'DEFAULT=$HOME/Maildir/',
      '',
      '# kzymy mail is PGP/MIME-encrypted to your key. gpg finds the armored block in the message and',
      '# writes out what was sent, with its real headers. "w": if gpg fails, the message is delivered',
      '# still encrypted rather than lost.',
      ':0 fw',
      '* ^Content-Type: multipart/encrypted',
      '| gpg --batch --quiet --decrypt',
      '',
    ].join('\n'),
  };
}
