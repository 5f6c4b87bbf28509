/**
 * kzymy-fetch's IMAP client against a hostile server: src/kzymy-fetch/wire.ts (lines and literals),
 * src/kzymy-fetch/imap-response.ts and the response parsing in src/kzymy-fetch/imap-client.ts, over an
 * in-memory connection. The server follows a script for a mailbox of hostile messages and the
 * input damages its answers (mutated bytes, odd network reads, a hang-up).
 *
 * Crashes: an exception other than FetchError (the client's one error type, which exits with a
 * sysexits code); a session that does not end (slowMs); and, when no answer was damaged, any
 * message not given back byte for byte (IMAP literals are exact: RFC 3501 §4.3) or not
 * committed.
 */
import * as fc from 'fast-check';
import { FetchError } from '../../src/kzymy-fetch/errors';
import { ImapSession } from '../../src/kzymy-fetch/imap-client';
import { Wire } from '../../src/kzymy-fetch/wire';
import { hostileBytes, mutation } from '../harness/bytes';
import { NO_DAMAGE, ScriptedServer, type Damage } from '../harness/scripted-server';
import { defineTarget, invariant } from '../harness/target';

interface Input {
  messages: Buffer[];
  greetingCapabilities: boolean;
  uidPlus: boolean;
  damage: Damage;
}

const CRLF = '\r\n';

/** The answers of a small, correct IMAP4rev1 server with one mailbox holding `messages`. */
function imapScript(input: Input): { greeting: Buffer; respond(line: string): Buffer | 'hang-up' } {
  const uids = input.messages.map((_, i) => 100 + 3 * i);
  const caps = `IMAP4rev1 IDLE${input.uidPlus ? ' UIDPLUS' : ''}`;
  const ok = (tag: string, text = 'done'): Buffer => Buffer.from(`${tag} OK ${text}${CRLF}`);
  return {
    greeting: Buffer.from(
      input.greetingCapabilities ? `* OK [CAPABILITY ${caps}] ready${CRLF}` : `* OK ready${CRLF}`,
    ),
    respond(line) {
      const [tag = '*', ...words] = line.split(' ');
      const command = words.slice(0, 2).join(' ').toUpperCase();
      if (command.startsWith('CAPABILITY')) {
        return Buffer.concat([Buffer.from(`* CAPABILITY ${caps}${CRLF}`), ok(tag)]);
      }
      if (command.startsWith('LOGIN')) return ok(tag, `[CAPABILITY ${caps}] logged in`);
      if (command.startsWith('SELECT')) {
        return Buffer.from(
          `* ${uids.length} EXISTS${CRLF}* OK [UIDVALIDITY 7] v${CRLF}${tag} OK [READ-WRITE] selected${CRLF}`,
        );
      }
      if (command === 'UID FETCH') {
        const set = words[2] ?? '';
        if (set === '1:*') {
          const lines = uids.map(
            (uid, i) =>
              `* ${i + 1} FETCH (UID ${uid} RFC822.SIZE ${input.messages[i]?.length})${CRLF}`,
          );
          return Buffer.concat([Buffer.from(lines.join('')), ok(tag)]);
        }
        const i = uids.indexOf(Number(set));
        const body = input.messages[i];
        if (!body) return ok(tag);
        return Buffer.concat([
          Buffer.from(`* ${i + 1} FETCH (UID ${set} BODY[] {${body.length}}${CRLF}`),
          body,
          Buffer.from(`)${CRLF}`),
          ok(tag),
        ]);
      }
      if (command === 'UID STORE') return ok(tag);
      if (command === 'UID EXPUNGE' || command.startsWith('EXPUNGE')) {
        const lines = uids.map(() => `* 1 EXPUNGE${CRLF}`).join('');
        return Buffer.concat([Buffer.from(lines), ok(tag)]);
      }
      if (command.startsWith('LOGOUT'))
        return Buffer.concat([Buffer.from(`* BYE${CRLF}`), ok(tag)]);
      return Buffer.from(`${tag} BAD unknown${CRLF}`);
    },
  };
}

async function session(input: Input): Promise<{ bodies: Buffer[]; committed: string[] }> {
  const script = imapScript(input);
  const server = new ScriptedServer(script.respond, input.damage);
  const wire = new Wire(server.clientSocket, 2000);
  server.greet(script.greeting);
  const imap = await ImapSession.open({
    wire,
    user: 'fuzz',
    password: 'not a secret',
    startTls: null,
    timeoutMs: 2000,
  });
  const bodies: Buffer[] = [];
  for (const message of await imap.list()) {
    bodies.push(await imap.fetch(message));
    await imap.markDeleted(message);
  }
  return { bodies, committed: await imap.commit() };
}

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
  name: 'fetch-imap',
  covers:
    'src/kzymy-fetch/wire.ts, src/kzymy-fetch/imap-response.ts, src/kzymy-fetch/imap-client.ts (responses)',
  async setup() {
    return null;
  },
  inputs() {
    return fc.record({
      messages: fc.array(hostileBytes(400), { maxLength: 4 }),
      greetingCapabilities: fc.boolean(),
      uidPlus: fc.boolean(),
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
    input.messages.forEach((message, i) =>
      invariant(result.bodies[i]?.equals(message), `message ${i} came back changed`),
    );
    invariant(result.committed.length === input.messages.length, 'not every message committed');
  },
  smokeRuns: 300,
  slowMs: 3000,
});
