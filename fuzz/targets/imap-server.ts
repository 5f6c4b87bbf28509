/**
 * IMAP command parsing as kzymy uses the engine: bytes from a client go through imap-core's
 * stream framing (lines and literals), command parser, schema checks and command modules, with
 * kzymy's overrides, connection limits and handlers (src/imap/*) on the real store (SQLite, the
 * default engine) and Redis — over an in-memory connection handed to the server's _handleProxy
 * and connect(), as its listener would. The command-line bound is the lowest the configuration
 * allows (1,024 bytes), so that long tags, names, lines and literals reach src/imap/limits.ts.
 *
 * Each input logs in (valid credentials in one of the syntaxes clients use), then sends a
 * sequence of commands built from the IMAP4rev1 vocabulary (sequence sets, FETCH items, SEARCH
 * keys, literals...), each possibly damaged, in arbitrary network reads, and ends with DONE and
 * LOGOUT. Crashes: an error escaping to the process (imap-core does not catch handler errors);
 * a logged error or a call of kzymy's unexpected-error hook; a login that fails; a connection
 * that has not closed within slowMs after LOGOUT and a hang-up.
 */
import * as fc from 'fast-check';
import { listenerGate, UserSessions, type ConnectionGate } from '../../src/connection-limits/gate';
import { errorKind } from '../../src/log/logger';
import { KzymyImapServer } from '../../src/imap/engine';
import { installAuth } from '../../src/imap/auth';
import { installFetch } from '../../src/imap/fetch-command';
import { ImapNotifier } from '../../src/imap/idle';
import { installLifecycle, logoutCommit } from '../../src/imap/logout';
import { installSelect } from '../../src/imap/select';
import { SessionTable, type ImapContext } from '../../src/imap/session';
import { installStoreExpungeSearch } from '../../src/imap/flags-expunge-search';
import { chunked, hostileText, mutate, mutation, type Mutation } from '../harness/bytes';
import { ClientEnd, gateEmptied, openMailbox, type Mailbox } from '../harness/mailbox';
import { defineTarget, invariant } from '../harness/target';

interface Context {
  mailbox: Mailbox;
  /** The listener's gate: empty again after every session. */
  gate: ConnectionGate;
  server: KzymyImapServer;
  unexpected: string[];
  close(): Promise<void>;
}

interface Input {
  login: number;
  /** Opens INBOX first (SELECT or EXAMINE), so that the mailbox commands are allowed. */
  open: 'SELECT' | 'EXAMINE' | null;
  commands: Array<{ text: string; mutations: Mutation[] }>;
  cuts: number[];
}

const SETS = [
  '1',
  '*',
  '1:*',
  '2:4',
  '1,3',
  '3:1',
  '0',
  '4294967295',
  '1:4294967296',
  '-1',
  '1,*',
  '$',
];
const FETCH_ITEMS = [
  'FLAGS',
  'UID',
  'RFC822.SIZE',
  'INTERNALDATE',
  'ENVELOPE',
  'BODYSTRUCTURE',
  'BODY',
  'RFC822',
  'RFC822.HEADER',
  'RFC822.TEXT',
  'BODY[]',
  'BODY.PEEK[]',
  'BODY[HEADER]',
  'BODY[TEXT]',
  'BODY[1]',
  'BODY[2]',
  'BODY[1.MIME]',
  'BODY[2.1]',
  'BODY[HEADER.FIELDS (From Subject)]',
  'BODY.PEEK[HEADER.FIELDS.NOT (To)]',
  'BODY[]<0.10>',
  'BODY.PEEK[]<5.0>',
  'BODY[TEXT]<4294967295.1>',
  'BINARY[1]',
  'BINARY.SIZE[1]',
  'MODSEQ',
  'ALL',
  'FAST',
  'FULL',
];
const SEARCH_KEYS = [
  'ALL',
  'SEEN',
  'UNSEEN',
  'DELETED',
  'FLAGGED',
  'NEW',
  'UID 1:*',
  'LARGER 100',
  'SMALLER 0',
  'BEFORE 1-Jan-2020',
  'SINCE 01-Feb-2025',
  'ON 31-Dec-9999',
  'OR SEEN UNSEEN',
  'NOT DELETED',
  'HEADER From fuzz',
  'BODY x',
  'TEXT y',
  'SUBJECT "message 1"',
  'CHARSET UTF-8 TEXT x',
  'KEYWORD $Junk',
  '(SEEN (UNSEEN))',
  'MODSEQ 1',
];
const FLAGS = [
  '\\Seen',
  '\\Deleted',
  '\\Flagged',
  '\\Answered',
  '\\Draft',
  '\\Recent',
  '$Junk',
  'x',
];

const pick = <T>(list: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...list);
const list = (words: readonly string[], max: number): fc.Arbitrary<string> =>
  fc.array(pick(words), { minLength: 1, maxLength: max }).map((w) => w.join(' '));

/**
 * Past the command-line bound (1,024 bytes in this target, src/imap/limits.ts): a tag, a command
 * name, a line, or the literals of one command longer than that, made of FILLER so that an echo
 * of it can be recognised in what the server wrote.
 */
const FILLER = 'Q';
const tooLong: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('tag', 'name', 'line', 'literals'), fc.integer({ min: 1030, max: 2600 }))
  .map(([where, length]) => {
    const long = FILLER.repeat(length);
    const half = FILLER.repeat(Math.ceil(length / 2));
    switch (where) {
      case 'tag':
        return `NOOP\r\n${long} NOOP`;
      case 'name':
        return long;
      case 'line':
        return `SELECT ${long}`;
      default:
        return `SEARCH CHARSET UTF-8 TEXT {${half.length}}\r\n${half} TEXT {${half.length}}\r\n${half}`;
    }
  });

/** One command line without its tag (may carry literals). */
const command: fc.Arbitrary<string> = fc.oneof(
  pick([
    'CAPABILITY',
    'NOOP',
    'CHECK',
    'NAMESPACE',
    'ID NIL',
    'ID ("name" "fuzz" "version" "1")',
    'LIST "" "*"',
    'LIST "" "%"',
    'LIST "" ""',
    'LSUB "" "*"',
    'STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT)',
    'STATUS nosuch (MESSAGES)',
    'SELECT INBOX',
    'SELECT inbox',
    'EXAMINE INBOX',
    'SELECT "Other"',
    'UNSELECT',
    'CLOSE',
    'EXPUNGE',
    'IDLE',
    'ENABLE CONDSTORE',
    'COMPRESS DEFLATE',
    'GETQUOTAROOT INBOX',
    'CREATE x',
    'DELETE INBOX',
    'RENAME INBOX x',
    'SUBSCRIBE INBOX',
    'APPEND INBOX {5}\r\nhello',
    'APPEND INBOX (\\Seen) {2+}\r\nhi',
    'LOGIN fuzz x',
    'AUTHENTICATE PLAIN',
    'XAPPLEPUSHSERVICE',
  ]),
  fc
    .tuple(pick(['FETCH', 'UID FETCH']), pick(SETS), list(FETCH_ITEMS, 4), fc.boolean())
    .map(([verb, set, items, paren]) => `${verb} ${set} ${paren ? `(${items})` : items}`),
  fc.tuple(pick(['SEARCH', 'UID SEARCH']), list(SEARCH_KEYS, 4)).map(([v, k]) => `${v} ${k}`),
  fc
    .tuple(
      pick(['STORE', 'UID STORE']),
      pick(SETS),
      pick(['FLAGS', '+FLAGS', '-FLAGS.SILENT']),
      list(FLAGS, 3),
    )
    .map(([verb, set, op, flags]) => `${verb} ${set} ${op} (${flags})`),
  fc.tuple(pick(['COPY', 'MOVE', 'UID EXPUNGE']), pick(SETS)).map(([v, s]) => `${v} ${s} INBOX`),
  // A literal in an argument, its length right or wrong.
  fc
    .tuple(
      pick(['SELECT', 'STATUS', 'SEARCH CHARSET UTF-8 TEXT', 'LIST ""']),
      hostileText(20),
      fc.integer({ min: -2, max: 2 }),
    )
    .map(([verb, value, off]) => `${verb} {${Math.max(0, value.length + off)}}\r\n${value}`),
  hostileText(60),
  tooLong,
);

/** Logs in with valid credentials, in one of the forms clients use (RFC 3501 §6.2.3, RFC 4616). */
async function logIn(
  client: ClientEnd,
  variant: number,
  user: string,
  password: string,
): Promise<void> {
  const answered = (): boolean => /\r\na1 (OK|NO|BAD)/.test(`\r\n${client.text}`);
  const continued = (count: number) => (): boolean => client.text.split('\r\n+ ').length > count;
  switch (variant % 4) {
    case 0:
      client.send(`a1 LOGIN ${user} "${password}"\r\n`);
      break;
    case 1:
      // Synchronizing literals (RFC 3501 §7.5): each waits for the server's continuation.
      client.send(`a1 LOGIN {${user.length}}\r\n`);
      invariant(await client.waitFor(continued(1), 2000), 'no continuation for the user literal');
      client.send(`${user} {${password.length}}\r\n`);
      invariant(await client.waitFor(continued(2), 2000), 'no continuation for the password');
      client.send(`${password}\r\n`);
      break;
    case 2:
      client.send(
        `a1 AUTHENTICATE PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}\r\n`,
      );
      break;
    default:
      client.send(`a1 LOGIN "${user}@kzymy.test" ${password}\r\n`);
  }
  const done = await client.waitFor(answered, 5000);
  invariant(
    done && /\r\na1 OK/.test(`\r\n${client.text}`),
    `login failed: ${JSON.stringify(client.text.slice(-200))}`,
  );
}

async function context(services: Parameters<typeof openMailbox>[0]): Promise<Context> {
  const mailbox = await openMailbox(services);
  const deps = mailbox.deps;
  const unexpected: string[] = [];
  // The wiring of src/imap/server.ts startImapServers, without the listener.
  const ctx: ImapContext = {
    deps,
    sessions: new SessionTable(),
    wake: (userId, except) => notifier.wake(userId, except),
    onError: (error, where) =>
      unexpected.push(
        `${where}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      ),
  };
  const notifier = new ImapNotifier(ctx);
  const unfollow = notifier.follow(deps.subscriber);
  const limits = deps.config.limits.imap;
  const gate = listenerGate(
    'imap',
    {
      maxConnections: limits.maxConnections,
      loginTimeoutMs: limits.loginTimeoutSeconds * 1000,
      users: new UserSessions(limits.maxSessionsPerUser),
    },
    deps,
  );
  const server = new KzymyImapServer({
    secure: false,
    key: deps.tls.key,
    cert: deps.tls.cert,
    limits: {
      gate,
      maxCommandBytes: limits.maxCommandBytes,
      idleTimeoutMs: limits.idleTimeoutSeconds * 1000,
      onTooLong: () => deps.metrics.connectionLimited('imap', 'line_too_long'),
    },
    hooks: {
      plaintextAuth: true,
      beforeLogout: logoutCommit(ctx),
      onError: (error) => ctx.onError(error, 'engine'),
      onBadArguments: (error) =>
        deps.logger.info('imap.error', { where: 'arguments', kind: errorKind(error) }),
    },
  });
  server.notifier = notifier;
  installLifecycle(server, ctx);
  installAuth(server, ctx);
  installSelect(server, ctx);
  installFetch(server, ctx);
  installStoreExpungeSearch(server, ctx);
  server.on('error', () => undefined); // connection errors: the client's doing (server.ts logs them)
  await mailbox.refill(3);
  return { mailbox, gate, server, unexpected, close: async () => unfollow() };
}

/** Runs one session; resolves with everything the server wrote. */
async function session(input: Input, ctx: Context): Promise<string> {
  const { mailbox, server } = ctx;
  const client = new ClientEnd();
  // What the engine's listener does with an accepted socket: _handleProxy (where kzymy's server
  // admits it to the listener's gate) hands the socket options to connect().
  const socket = client.clientSocket;
  server._handleProxy(socket, (error, options) => {
    if (!error) server.connect(socket, options);
  });
  invariant(await client.waitFor(() => client.text.includes('\r\n'), 2000), 'no greeting');
  await logIn(client, input.login, mailbox.user.username, mailbox.password);
  const opened = input.open ? [Buffer.from(`s1 ${input.open} INBOX\r\n`)] : [];
  const lines = input.commands.map((c, i) =>
    mutate(Buffer.from(`t${i} ${c.text}\r\n`, 'latin1'), c.mutations),
  );
  for (const piece of chunked(Buffer.concat([...opened, ...lines]), input.cuts)) client.send(piece);
  // Ends IDLE, then LOGOUT (after a line break, in case the input left a line open).
  client.send('\r\nDONE\r\nzz LOGOUT\r\n');
  await client.finish(/STLS|STARTTLS/i.test(Buffer.concat(lines).toString('latin1')));
  return client.text;
}

export default defineTarget<Input, Context>({
  name: 'imap-server',
  covers:
    'imap-core (framing, parser, command modules) with src/imap/* limits and handlers on the real store',
  services: true,
  setup: context,
  inputs() {
    return fc.record({
      login: fc.nat({ max: 3 }),
      open: fc.oneof(
        { arbitrary: fc.constant('SELECT' as const), weight: 6 },
        { arbitrary: fc.constant('EXAMINE' as const), weight: 2 },
        { arbitrary: fc.constant(null), weight: 1 },
      ),
      commands: fc.array(
        fc.record({
          text: command,
          mutations: fc.oneof(
            { arbitrary: fc.constant<Mutation[]>([]), weight: 3 },
            { arbitrary: fc.array(mutation(), { maxLength: 3 }), weight: 1 },
          ),
        }),
        { maxLength: 8 },
      ),
      cuts: fc.array(fc.nat(), { maxLength: 4 }),
    });
  },
  async run(input, ctx) {
    const logs = ctx.mailbox.deps.logLines;
    const held = ctx.gate.size;
    try {
      const output = await session(input, ctx);
      invariant(ctx.unexpected.length === 0, `unexpected error: ${ctx.unexpected.join('\n')}`);
      const errors = logs.filter((line) => line.includes('"level":"error"'));
      invariant(errors.length === 0, `error logged: ${errors.join('\n')}`);
      // Long bad input is answered without being echoed (docs/threat-model.md).
      invariant(!output.includes(FILLER.repeat(64)), 'the server echoed a long input');
      invariant(await gateEmptied(ctx.gate, held), 'a closed session kept its slot in the gate');
    } finally {
      ctx.unexpected.length = 0;
      logs.length = 0;
      await ctx.mailbox.refill(3);
    }
  },
  async teardown(ctx) {
    await ctx.close();
  },
  smokeRuns: 200,
  slowMs: 10_000,
});
