/**
 * kzymy-fetch's POP3 client against a hostile server: src/kzymy-fetch/wire.ts and the reply parsing in
 * src/kzymy-fetch/pop3-client.ts (status lines, LIST/UIDL/CAPA listings, RETR's multi-line answer
 * with byte-stuffing), over an in-memory connection. The server follows a script for a mailbox
 * of hostile messages and the input damages its answers.
 *
 * Crashes: an exception other than FetchError; a session that does not end; and, when no answer
 * was damaged, a message not given back byte for byte (RFC 1939 §3: lines end in CRLF and a
 * leading "." is doubled) or not committed.
 */
import * as fc from 'fast-check';
import { FetchError } from '../../src/kzymy-fetch/errors';
import { Pop3Session } from '../../src/kzymy-fetch/pop3-client';
import { Wire } from '../../src/kzymy-fetch/wire';
import { hostileBytes, mutation } from '../harness/bytes';
import { NO_DAMAGE, ScriptedServer, type Damage } from '../harness/scripted-server';
import { defineTarget, invariant } from '../harness/target';

interface Input {
  /** Each message as its lines (no CR or LF inside a line). */
  messages: Buffer[][];
  uidl: boolean;
  damage: Damage;
}

const CRLF = Buffer.from('\r\n');

function messageBytes(lines: Buffer[]): Buffer {
  return Buffer.concat(lines.flatMap((line) => [line, CRLF]));
}

/** RFC 1939 §3: a multi-line answer, byte-stuffed, ending in "." CRLF. */
function multiLine(lines: Buffer[]): Buffer {
  const stuffed = lines.map((line) =>
    line[0] === 0x2e ? Buffer.concat([Buffer.from('.'), line]) : line,
  );
  return Buffer.concat([Buffer.from('+OK\r\n'), messageBytes(stuffed), Buffer.from('.\r\n')]);
}

function pop3Script(input: Input): (line: string) => Buffer | 'hang-up' {
  const text = (s: string): Buffer => Buffer.from(s + '\r\n', 'latin1');
  return (line) => {
    const [verb = '', arg = ''] = line.split(' ');
    switch (verb.toUpperCase()) {
      case 'USER':
      case 'PASS':
      case 'DELE':
        return text('+OK');
      case 'LIST':
        return multiLine(
          input.messages.map((m, i) => Buffer.from(`${i + 1} ${messageBytes(m).length}`)),
        );
      case 'UIDL':
        if (!input.uidl) return text('-ERR not supported');
        return multiLine(input.messages.map((_, i) => Buffer.from(`${i + 1} uid-${i}`)));
      case 'RETR': {
        const message = input.messages[Number(arg) - 1];
        return message ? multiLine(message) : text('-ERR no such message');
      }
      case 'QUIT':
        return text('+OK bye');
      default:
        return text('-ERR unknown command');
    }
  };
}

async function session(input: Input): Promise<{ bodies: Buffer[]; committed: string[] }> {
  const server = new ScriptedServer(pop3Script(input), input.damage);
  const wire = new Wire(server.clientSocket, 2000);
  server.greet(Buffer.from('+OK POP3 ready\r\n'));
  const pop3 = await Pop3Session.open({
    wire,
    user: 'fuzz',
    password: 'not a secret',
    startTls: null,
    timeoutMs: 2000,
  });
  const bodies: Buffer[] = [];
  for (const message of await pop3.list()) {
    bodies.push(await pop3.fetch(message));
    await pop3.markDeleted(message);
  }
  return { bodies, committed: await pop3.commit() };
}

const line = hostileBytes(100).map((bytes) =>
  Buffer.from(bytes.filter((b) => b !== 0x0d && b !== 0x0a)),
);
const damage: fc.Arbitrary<Damage> = fc.oneof(
  { arbitrary: fc.constant(NO_DAMAGE), weight: 1 },
  {
    arbitrary: fc.record({
      mutations: fc.array(fc.array(mutation(), { maxLength: 3 }), { maxLength: 10 }),
      cuts: fc.array(fc.nat(), { maxLength: 6 }),
      hangUpAt: fc.option(fc.nat({ max: 12 }), { freq: 4 }),
    }),
    weight: 4,
  },
);

export default defineTarget<Input, null>({
  name: 'fetch-pop3',
  covers:
    'src/kzymy-fetch/wire.ts, src/kzymy-fetch/pop3-client.ts (replies, listings, RETR un-stuffing)',
  async setup() {
    return null;
  },
  inputs() {
    return fc.record({
      messages: fc.array(fc.array(line, { maxLength: 12 }), { maxLength: 4 }),
      uidl: fc.boolean(),
      damage,
    });
  },
  async run(input) {
    let result: { bodies: Buffer[]; committed: string[] };
    try {
      result = await session(input);
    } catch (error) {
      // A correct server must get a clean session; a damaged one may be refused.
      if (error instanceof FetchError && input.damage !== NO_DAMAGE) return;
      throw error;
    }
    if (input.damage !== NO_DAMAGE) return;
    invariant(result.bodies.length === input.messages.length, 'not every message was fetched');
    input.messages.forEach((lines, i) =>
      invariant(result.bodies[i]?.equals(messageBytes(lines)), `message ${i} came back changed`),
    );
    invariant(result.committed.length === input.messages.length, 'not every message committed');
  },
  smokeRuns: 300,
  slowMs: 3000,
});
