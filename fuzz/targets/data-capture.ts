/**
 * DATA capture and end of data: bytes from the network go through Haraka 3.3.4's own line
 * splitting (Connection#_process_data, the real code) into kzymy's replacement of
 * accumulate_data (src/smtp/haraka/data-patch.ts) and DataCapture (src/smtp/data-capture.ts).
 *
 * Crashes: any exception; and these invariants (RFC 5321 §4.1.1.4, §4.5.2):
 * - a message dot-stuffed and terminated as a client does comes back byte for byte, whatever
 *   the network reads were, and the bytes pipelined after the terminator stay unread;
 * - for any bytes, DATA ends exactly at the first CRLF "." CRLF (never at a bare-LF or bare-CR
 *   variant: SMTP smuggling), what is kept is the un-stuffed content before it, and the wire
 *   count is the bytes up to and including the terminator;
 * - over the size limit nothing is kept and pieces() throws its documented error.
 * A line longer than Haraka's data_line_length is re-wrapped by Haraka and flagged; kzymy then
 * refuses the message (src/smtp/hooks.ts), so the content is not compared in that case.
 */
import * as fc from 'fast-check';
import { installDataPatch } from '../../src/smtp/haraka/data-patch';
import type { HarakaConnection, HarakaPlugin, HarakaTransaction } from '../../src/smtp/haraka/api';
import { captureOf } from '../../src/smtp/haraka/data-patch';
import { chunked, hostileBytes } from '../harness/bytes';
import { defineTarget, invariant } from '../harness/target';

/** Small, so that inputs cross it often. */
const MAX_MESSAGE_BYTES = 2048;
const STATE_DATA = 3; // haraka-constants connection.state.DATA
const STATE_PAUSE_DATA = 6;

interface HarakaConnectionModule {
  Connection: { prototype: HarakaConnection };
  /** Haraka's parsed connection.ini; sections its bundled defaults lack are undefined. */
  cfg: {
    main?: Record<string, unknown>;
    headers?: Record<string, unknown>;
    max?: Record<string, unknown>;
  };
}

/** A Haraka connection in DATA state: the real prototype, the fields its DATA path reads. */
interface DataConnection extends HarakaConnection {
  current_data: Buffer | null;
  awaiting_data_reply: boolean;
  _process_data(): void;
}

type Input =
  | { mode: 'client'; message: Buffer; trailer: Buffer; cuts: number[]; lineLimit: number }
  | { mode: 'raw'; wire: Buffer; cuts: number[]; lineLimit: number };

interface Context {
  haraka: HarakaConnectionModule;
}

const CRLF_DOT_CRLF = Buffer.from('\r\n.\r\n', 'latin1');

/** RFC 5321 §4.5.2 as a client does it; adds the CRLF a message must end with. */
function clientEncode(message: Buffer): { wire: Buffer; content: Buffer } {
  const content =
    message.length === 0 || message.subarray(-2).equals(Buffer.from('\r\n'))
      ? message
      : Buffer.concat([message, Buffer.from('\r\n')]);
  const out: number[] = [];
  for (let i = 0; i < content.length; i++) {
    const atLineStart = i === 0 || (content[i - 2] === 0x0d && content[i - 1] === 0x0a);
    if (atLineStart && content[i] === 0x2e) out.push(0x2e);
    out.push(content[i] as number);
  }
  return { wire: Buffer.concat([Buffer.from(out), Buffer.from('.\r\n')]), content };
}

/** What the server must make of raw wire bytes (an independent statement of the rules). */
function expected(wire: Buffer): { ended: boolean; consumed: number; content: Buffer } {
  const terminator = Buffer.concat([Buffer.from('\r\n'), wire]).indexOf(CRLF_DOT_CRLF);
  const end = terminator >= 0 ? terminator : wire.lastIndexOf(0x0a) + 1;
  const out: number[] = [];
  for (let i = 0; i < end; i++) {
    const atLineStart = i === 0 || (wire[i - 2] === 0x0d && wire[i - 1] === 0x0a);
    if (atLineStart && wire[i] === 0x2e) continue;
    out.push(wire[i] as number);
  }
  return {
    ended: terminator >= 0,
    consumed: terminator >= 0 ? terminator + 3 : end,
    content: Buffer.from(out),
  };
}

function feed(
  context: Context,
  wire: Buffer,
  cuts: number[],
  lineLimit: number,
): { connection: DataConnection; transaction: HarakaTransaction; ends: number } {
  context.haraka.cfg.max = { ...context.haraka.cfg.max, data_line_length: lineLimit };
  const transaction: HarakaTransaction = {
    uuid: 'fuzz',
    mail_from: null,
    rcpt_to: [],
    data_bytes: 0,
    discard_data: false,
    notes: {},
  };
  let ends = 0;
  const connection = Object.create(context.haraka.Connection.prototype) as DataConnection;
  const quiet = (): void => undefined;
  Object.assign(connection, {
    uuid: 'fuzz',
    state: STATE_DATA,
    transaction,
    current_data: null,
    awaiting_data_reply: false,
    esmtp: true,
    proxy: { allowed: false },
    loginfo: quiet,
    logdebug: quiet,
    lognotice: quiet,
    logprotocol: quiet,
    logdata: quiet,
    // Haraka's data_done (connection.js) pauses reading; the rest of it is the SMTP reply.
    data_done(this: DataConnection) {
      ends += 1;
      this.state = STATE_PAUSE_DATA;
      this.awaiting_data_reply = true;
    },
  });
  for (const piece of chunked(wire, cuts)) {
    connection.current_data = connection.current_data
      ? Buffer.concat([connection.current_data, piece])
      : Buffer.from(piece);
    connection._process_data();
  }
  return { connection, transaction, ends };
}

function check(
  context: Context,
  wire: Buffer,
  cuts: number[],
  lineLimit: number,
  want: { ended: boolean; consumed: number; content: Buffer },
): void {
  const { connection, transaction, ends } = feed(context, wire, cuts, lineLimit);
  invariant(ends <= 1, `data_done called ${ends} times`);
  if (transaction.notes.data_line_length_exceeded === true) return; // refused by kzymy
  invariant(ends === (want.ended ? 1 : 0), `end of data: got ${ends}, want ${want.ended}`);
  const capture = captureOf(transaction);
  if (want.consumed === 0 && !capture) return; // no complete line yet
  invariant(capture, 'no capture for the transaction');
  invariant(transaction.discard_data, 'Haraka was left to keep a copy of the data');
  invariant(
    transaction.data_bytes === want.consumed,
    `wire bytes ${transaction.data_bytes}, want ${want.consumed}`,
  );
  const rest = connection.current_data ?? Buffer.alloc(0);
  invariant(
    rest.equals(wire.subarray(want.consumed)),
    'the bytes after the last line (or the terminator) were not left unread',
  );
  if (want.content.length > MAX_MESSAGE_BYTES) {
    invariant(capture.oversize, 'over the limit but not marked oversize');
    invariant(capture.size === 0, 'an oversize message kept bytes');
    let threw = false;
    try {
      capture.pieces();
    } catch (error) {
      threw = error instanceof Error && error.message === 'message exceeded the size limit';
    }
    invariant(threw, 'pieces() of an oversize message did not throw its documented error');
    return;
  }
  invariant(!capture.oversize, 'marked oversize below the limit');
  invariant(capture.size === want.content.length, 'size differs from the content');
  invariant(capture.message().equals(want.content), 'captured bytes differ from what was sent');
  capture.clear();
}

const lineLimit = fc.constantFrom(64, 256, 1000, 1_000_000);
const cuts = fc.array(fc.nat(), { maxLength: 8 });
// Messages of every size around the limit, made of lines that favour CR, LF, "." and NUL.
const message = fc.oneof(
  { arbitrary: hostileBytes(300), weight: 4 },
  {
    arbitrary: fc
      .array(hostileBytes(120), { maxLength: 40 })
      .map((lines) => Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\r\n')]))),
    weight: 2,
  },
  {
    arbitrary: fc
      .tuple(hostileBytes(60), fc.integer({ min: 1, max: 120 }))
      .map(([line, n]) => Buffer.concat(Array.from({ length: n }, () => line))),
    weight: 1,
  },
);
const smuggling = fc.constantFrom(
  '\r\n.\r\n',
  '\n.\n',
  '\n.\r\n',
  '\r\n.\n',
  '\r.\r',
  '\r.\r\n',
  '.\r\n',
  '\r\n..\r\n',
);

export default defineTarget<Input, Context>({
  name: 'data-capture',
  covers:
    'src/smtp/data-capture.ts, src/smtp/haraka/data-patch.ts behind Haraka 3.3.4 Connection#_process_data',
  async setup() {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const haraka = require('Haraka/connection') as HarakaConnectionModule;
    // What kzymy's connection.ini says (src/smtp/haraka/config-files.ts); checked by installDataPatch.
    const cfg = haraka.cfg;
    cfg.main = { ...cfg.main, spool_after: -1 };
    cfg.headers = { ...cfg.headers, add_received: false };
    cfg.max = { ...cfg.max, bytes: 0, data_line_length: 1_000_000 };
    const plugin = {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      haraka_require: (name: string): unknown => require(`Haraka/${name}`),
    } as unknown as HarakaPlugin;
    installDataPatch(plugin, { maxMessageBytes: MAX_MESSAGE_BYTES, minLineLength: 64 });
    return { haraka };
  },
  inputs() {
    return fc.oneof(
      fc.record({
        mode: fc.constant('client' as const),
        message,
        trailer: fc.oneof(fc.constant(Buffer.alloc(0)), hostileBytes(40)),
        cuts,
        lineLimit,
      }),
      fc.record({
        mode: fc.constant('raw' as const),
        wire: fc
          .array(
            fc.oneof(
              hostileBytes(80),
              smuggling.map((s) => Buffer.from(s, 'latin1')),
            ),
            {
              maxLength: 12,
            },
          )
          .map((parts) => Buffer.concat(parts)),
        cuts,
        lineLimit,
      }),
    );
  },
  run(input, context) {
    if (input.mode === 'client') {
      const { wire, content } = clientEncode(input.message);
      const full = Buffer.concat([wire, input.trailer]);
      check(context, full, input.cuts, input.lineLimit, {
        ended: true,
        consumed: wire.length,
        content,
      });
      return;
    }
    check(context, input.wire, input.cuts, input.lineLimit, expected(input.wire));
  },
  smokeRuns: 1000,
  slowMs: 2000,
});
