/**
 * The admin CLI's commands, each with its usage and a short description: `kzymy --help` lists
 * them, `kzymy GROUP --help` a group's, and `kzymy GROUP COMMAND --help` one command's.
 */
export interface CommandHelp {
  /** "user show", "doctor", … */
  name: string;
  /** One line per form of the command. */
  usage: string;
  about: string;
}

export const COMMANDS: readonly CommandHelp[] = [
  {
    name: 'config check',
    usage: 'kzymy config check [FILE] [--config FILE]',
    about: 'Loads the configuration and names every problem in it at once (exit 78 if any).',
  },
  {
    name: 'user add',
    usage: 'kzymy user add --key FILE [--json] [--config FILE]',
    about:
      'Creates an active account for the OpenPGP public key in FILE (armored or binary) and\n' +
      'prints its username, mail domain and password (--json: {"username","domain","password"}).',
  },
  {
    name: 'user list',
    usage: 'kzymy user list [--json] [--config FILE]',
    about: 'One line per account: username, state, waiting messages and bytes, key fingerprint.',
  },
  {
    name: 'user show',
    usage: 'kzymy user show NAME [--json] [--config FILE]',
    about:
      'One account: state, creation day, key, waiting mail, last IMAP/POP3 login day, payload\n' +
      'format, sending switches and forwarding (destination, state, last refusal, refused mail\n' +
      'waiting). Nothing about where a user connects from: kzymy keeps none of it.',
  },
  {
    name: 'user disable',
    usage: 'kzymy user disable NAME [--config FILE]',
    about:
      'Stops an active account: mail to it is refused at RCPT and its logins (IMAP, POP3, web)\n' +
      'are refused with a message saying the operator disabled it. Its stored mail stays, under\n' +
      'the usual retention. Sessions already logged in run until they end.',
  },
  {
    name: 'user enable',
    usage: 'kzymy user enable NAME [--config FILE]',
    about: 'Makes a disabled account active again.',
  },
  {
    name: 'user set',
    usage:
      'kzymy user set NAME [--send on|off] [--sign-as-nym on|off] [--payload protected|exact] [--config FILE]\n' +
      'kzymy user set NAME --forward ADDRESS [--forward-host HOST] | --forward-code CODE | --no-forward [--config FILE]',
    about:
      'Changes an account: sending as the nym and keeping her signature (docs/sending.md), what\n' +
      'her decrypted mail looks like (--payload, docs/message-format.md), or\n' +
      'forwarding (docs/clients/forwarding.md): --forward names a destination and mails the code\n' +
      'there, as the account page does; --forward-code types it back; --no-forward stops. One\n' +
      'kind of change a call.',
  },
  {
    name: 'user delete',
    usage: 'kzymy user delete NAME [--config FILE]',
    about: 'Deletes the account and every message it has, for good.',
  },
  {
    name: 'doctor',
    usage:
      'kzymy doctor [--online] [--torrc FILE] [--dns-server HOST:PORT] [--json] [--config FILE]',
    about:
      'Checks the configuration, the database, Redis, TLS, Tor and that every enabled listener\n' +
      'answers; --online also checks the MX and DNS records. Exit 1 when a check failed.',
  },
  {
    name: 'tor',
    usage: 'kzymy tor [--out FILE] [--service-dir DIR] [--print] [--config FILE]',
    about: 'Writes (or prints) the torrc stanza that publishes the listeners as onion services.',
  },
  {
    name: 'store copy',
    usage:
      'kzymy store copy --to mongodb://… [--database NAME] [--from FILE] [--json] [--config FILE]',
    about:
      "Copies the sqlite store (this configuration's file, or --from FILE) to MongoDB: users and\n" +
      'waiting mail under the same ids and UIDs, ciphertext as stored. Safe to run again; an\n' +
      'interrupted run resumes (docs/operations/deploy.md). Exit 75: run it again.',
  },
];

/** Every command's usage line, for `kzymy --help` and usage errors. */
export function usage(group?: string): string {
  const lines = COMMANDS.filter((c) => !group || c.name.split(' ')[0] === group).flatMap((c) =>
    c.usage.split('\n').map((form) => `  ${form}`),
  );
  return ['usage:', ...lines, '', 'kzymy COMMAND --help describes a command.'].join('\n');
}

/** The help for what the words name: one command, a group, or everything. */
export function helpFor(words: readonly string[]): string {
  const name = words.slice(0, 2).join(' ');
  const command = COMMANDS.find((c) => c.name === name || c.name === words[0]);
  if (command && (command.name === name || !command.name.includes(' '))) {
    return `usage: ${command.usage.split('\n').join('\n       ')}\n\n${command.about}`;
  }
  const group = words[0];
  if (group && COMMANDS.some((c) => c.name.startsWith(`${group} `))) return usage(group);
  return usage();
}
