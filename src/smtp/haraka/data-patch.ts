/**
 * kzymy takes the DATA bytes itself, by replacing Connection#accumulate_data in Haraka 3.3.4.
 * With pipelining-patch.ts (commands pipelined after the end of data), the only places kzymy
 * changes Haraka's code; it refuses to load on any other Haraka version. Why it is needed (read from connection.js, transaction.js and
 * haraka-message-stream 2.0.8):
 *
 * 1. A bare LF anywhere in DATA makes Haraka answer `451 Bare line-feed` and disconnect
 *    (its defence against SMTP smuggling). kzymy must accept malformed mail byte-exact, and
 *    defends against smuggling by ending DATA only on <CRLF>.<CRLF> (data-capture.ts).
 * 2. MessageStream does not give back the bytes received: when the headers were parsed it
 *    re-emits them from Haraka's parsed header list (transcoded to UTF-8 strings, bare CRs
 *    folded, unsafe names dropped, lines past headers.max_lines lost), and for a message without
 *    a header/body separator end_data() writes the body lines a second time.
 * 3. MessageStream spools to a file once a message passes spool_after (25 MB by default).
 *
 * The replacement hands each line to a DataCapture held beside the transaction (never in Haraka's
 * notes, never in its message stream), marks the transaction discard_data so Haraka keeps no copy,
 * and calls Haraka's own data_done() at the end of data so the rest of Haraka's flow (data_post,
 * queue, pipelining checks) is untouched. The configuration Haraka runs with is checked here too:
 * kzymy will not run a Haraka that could spool, add headers or re-wrap lines.
 */
import type { HarakaConnection, HarakaPlugin, HarakaTransaction } from './api';
import { DataCapture } from '../data-capture';

export const SUPPORTED_HARAKA_VERSION = '3.3.4';

/** The connection.ini settings the patch and kzymy's guarantees rely on (Haraka's parsed cfg). */
export interface HarakaConnectionCfg {
  main: { spool_after?: unknown };
  headers: { add_received?: unknown };
  max: { bytes?: unknown; data_line_length?: unknown };
}

interface ConnectionModule {
  Connection: { prototype: HarakaConnection };
  cfg: HarakaConnectionCfg;
}

const captures = new WeakMap<HarakaTransaction, DataCapture>();
const PATCHED = Symbol.for('kzymy.accumulate_data');

/** The bytes of the transaction's message, once DATA has begun. */
export function captureOf(transaction: HarakaTransaction): DataCapture | undefined {
  return captures.get(transaction);
}

export class UnsupportedHarakaError extends Error {
  override name = 'UnsupportedHarakaError';
}

/** Problems with Haraka's connection config, each named; empty when it is safe. */
export function checkConnectionConfig(cfg: HarakaConnectionCfg, minLineLength: number): string[] {
  const problems: string[] = [];
  // haraka-message-stream: -1 is the documented "never spool" value.
  if (Number(cfg.main.spool_after) !== -1)
    problems.push('connection.ini main.spool_after must be -1');
  if (cfg.headers.add_received !== false)
    problems.push('connection.ini headers.add_received must be false');
  // kzymy enforces the size itself (data_post), so that the reply can be 552 5.3.4.
  if (Number(cfg.max.bytes) !== 0) problems.push('connection.ini max.bytes must be 0');
  if (!(Number(cfg.max.data_line_length) >= minLineLength))
    problems.push(`connection.ini max.data_line_length must be at least ${minLineLength}`);
  return problems;
}

export function installDataPatch(
  plugin: HarakaPlugin,
  options: { maxMessageBytes: number; minLineLength: number },
): void {
  const pkg = plugin.haraka_require('package.json') as { version?: unknown };
  if (pkg.version !== SUPPORTED_HARAKA_VERSION) {
    throw new UnsupportedHarakaError(
      `kzymy's DATA handling is written for Haraka ${SUPPORTED_HARAKA_VERSION}, found ${String(pkg.version)}`,
    );
  }
  const connectionModule = plugin.haraka_require('connection') as ConnectionModule;
  const problems = checkConnectionConfig(connectionModule.cfg, options.minLineLength);
  if (problems.length > 0) throw new UnsupportedHarakaError(problems.join('; '));

  const proto = connectionModule.Connection.prototype as HarakaConnection & { [PATCHED]?: true };
  if (proto[PATCHED]) return;
  const maxMessageBytes = options.maxMessageBytes;
  proto.accumulate_data = function accumulateData(this: HarakaConnection, line: Buffer): void {
    const transaction = this.transaction;
    if (!transaction) return;
    let capture = captures.get(transaction);
    if (!capture) {
      capture = new DataCapture(maxMessageBytes);
      captures.set(transaction, capture);
      // Haraka keeps no copy of the content (transaction.add_data is never called either).
      transaction.discard_data = true;
    }
    const piece = typeof line === 'string' ? Buffer.from(line, 'binary') : line;
    const result = capture.push(piece);
    transaction.data_bytes = capture.wireBytes;
    if (result === 'end') this.data_done();
  };
  proto[PATCHED] = true;
}
