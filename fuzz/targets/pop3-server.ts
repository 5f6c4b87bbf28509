/**
 * POP3 command handling as kzymy uses the engine: bytes from a client go through WildDuck's
 * lib/pop3 connection (line reading, command dispatch, argument parsing) with kzymy's connection
 * class, connection limits and handlers (src/pop3/*) on the real store (SQLite, the default
 * engine) and Redis — over an in-memory connection handed to the server's _handleProxy and
 * connect(), as its listener would. The command-line bound is the lowest the configuration
 * allows (1,024 bytes), so that long lines reach src/pop3/limits.ts.
 *
 * Each input logs in (USER/PASS or AUTH PLAIN with valid credentials), sends commands built
 * from the RFC 1939/2449 vocabulary with hostile arguments, each possibly damaged, in arbitrary
 * reads, and ends with QUIT. Crashes: an error escaping to the process; a logged error or a call
 * of kzymy's unexpected-error hook; a login that fails; a connection not closed within slowMs
 * after QUIT and a hang-up.
 */
import * as fc from 'fast-check';
import { listenerGate, UserSessions, type ConnectionGate } from '../../src/connection-limits/gate';
import { KzymyPop3Server } from '../../src/pop3/engine';
import { installHandlers, pop3Hooks, type Pop3Context } from '../../src/pop3/handlers';
import { chunked, hostileText, mutate, mutation, type Mutation } from '../harness/bytes';
import { ClientEnd, gateEmptied, openMailbox, type Mailbox } from '../harness/mailbox';
import { defineTarget, invariant } from '../harness/target';

interface Context {
  mailbox: Mailbox;
  /** The listener's gate: empty again after every session. */
  gate: ConnectionGate;
  server: KzymyPop3Server;
  unexpected: string[];
}

interface Input {
  login: number;
  commands: Array<{ text: string; mutations: Mutation[] }>;
  cuts: number[];
}

const FILLER = 'Q';
const NUMBERS = ['1', '2', '3', '0', '-1', '4294967296', '99999999999999999999', '1.5', '0x1', ''];
const pick = <T>(list: readonly T[]): fc.Arbitrary<T> => fc.constantFrom(...list);

const command: fc.Arbitrary<string> = fc.oneof(
  pick([
    'STAT',
    'LIST',
    'UIDL',
    'RSET',
    'NOOP',
    'CAPA',
    'STLS',
    'AUTH',
    'AUTH PLAIN',
    'APOP a b',
    'USER x',
    'PASS y',
    'TOP',
    'XTND',
    'quit ',
  ]),
  fc
    .tuple(pick(['LIST', 'UIDL', 'RETR', 'DELE', 'retr']), pick(NUMBERS))
    .map(([v, n]) => `${v} ${n}`),
  fc.tuple(pick(NUMBERS), pick(NUMBERS)).map(([n, k]) => `TOP ${n} ${k}`),
  fc.tuple(pick(['RETR', 'LIST', 'USER', 'AUTH']), hostileText(30)).map(([v, a]) => `${v} ${a}`),
  hostileText(60),
  // Past the command-line bound, made of FILLER so that an echo can be recognised.
  fc
    .tuple(pick(['RETR ', 'NOOP ', 'AUTH PLAIN ', '']), fc.integer({ min: 1030, max: 5000 }))
    .map(([verb, length]) => `${verb}${FILLER.repeat(length)}`),
);

async function logIn(
  client: ClientEnd,
  variant: number,
  user: string,
  password: string,
): Promise<void> {
  const replies = (): number => client.text.split('\r\n').filter((l) => /^[+-]/.test(l)).length;
  const wait = async (count: number): Promise<void> => {
    invariant(await client.waitFor(() => replies() >= count, 5000), 'no reply during login');
  };
  if (variant % 2 === 0) {
    client.send(`USER ${user}\r\n`);
    await wait(2);
    client.send(`PASS ${password}\r\n`);
    await wait(3);
  } else {
    client.send(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}\r\n`);
    await wait(2);
  }
  const last = client.text.trimEnd().split('\r\n').pop() ?? '';
  invariant(last.startsWith('+OK'), `login failed: ${JSON.stringify(client.text.slice(-200))}`);
}

async function context(services: Parameters<typeof openMailbox>[0]): Promise<Context> {
  const mailbox = await openMailbox(services);
  const deps = mailbox.deps;
  const unexpected: string[] = [];
  // The wiring of src/pop3/server.ts startPop3Servers, without the listener.
  const ctx: Pop3Context = {
    deps,
    onError: (error, where) =>
      unexpected.push(
        `${where}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      ),
  };
  const limits = deps.config.limits.pop3;
  const gate = listenerGate(
    'pop3',
    {
      maxConnections: limits.maxConnections,
      loginTimeoutMs: limits.loginTimeoutSeconds * 1000,
      users: new UserSessions(limits.maxSessionsPerUser),
    },
    deps,
  );
  const server = new KzymyPop3Server({
    secure: false,
    key: deps.tls.key,
    cert: deps.tls.cert,
    limits: {
      gate,
      maxCommandBytes: limits.maxCommandBytes,
      idleTimeoutMs: limits.idleTimeoutSeconds * 1000,
      onTooLong: () => deps.metrics.connectionLimited('pop3', 'line_too_long'),
    },
    hooks: pop3Hooks(ctx, true),
  });
  installHandlers(server, ctx);
  server.on('error', () => undefined); // connection errors: the client's doing (server.ts logs them)
  await mailbox.refill(3);
  return { mailbox, gate, server, unexpected };
}

/** Runs one session; resolves with everything the server wrote. */
async function session(input: Input, ctx: Context): Promise<string> {
  const client = new ClientEnd();
  // What the engine's listener does with an accepted socket: _handleProxy (where kzymy's server
  // admits it to the listener's gate) hands the socket options to connect().
  const socket = client.clientSocket;
  ctx.server._handleProxy(socket, (error, options) => {
    if (!error) ctx.server.connect(socket, options);
  });
  invariant(await client.waitFor(() => client.text.includes('\r\n'), 2000), 'no greeting');
  await logIn(client, input.login, ctx.mailbox.user.username, ctx.mailbox.password);
  const lines = input.commands.map((c) =>
    mutate(Buffer.from(`${c.text}\r\n`, 'latin1'), c.mutations),
  );
  for (const piece of chunked(Buffer.concat(lines), input.cuts)) client.send(piece);
  client.send('\r\nQUIT\r\n');
  await client.finish(/STLS|STARTTLS/i.test(Buffer.concat(lines).toString('latin1')));
  return client.text;
}

export default defineTarget<Input, Context>({
  name: 'pop3-server',
  covers:
    'WildDuck lib/pop3 (line reading, dispatch) with src/pop3/* limits and handlers on the real store',
  services: true,
  setup: context,
  inputs() {
    return fc.record({
      login: fc.nat({ max: 1 }),
      commands: fc.array(
        fc.record({
          text: command,
          mutations: fc.oneof(
            { arbitrary: fc.constant<Mutation[]>([]), weight: 3 },
            { arbitrary: fc.array(mutation(), { maxLength: 3 }), weight: 1 },
          ),
        }),
        { maxLength: 10 },
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
  smokeRuns: 40,
  slowMs: 10_000,
});
