/**
 * Commands pipelined after the end of data (Haraka 3.3.4, connection.js respond()).
 *
 * RFC 2920 §3.1: "The actual transfer of message content is explicitly allowed to be the first
 * 'command' in a group": a client may send the final dot and, in the same write, the next
 * message's MAIL, RCPT and DATA. Haraka answers each command it finds buffered after the end of
 * data with "503 Bad sequence of commands - pipelined after end of DATA" and drops it — its
 * defence against SMTP smuggling on servers that end DATA at a bare LF, where bytes after a fake
 * terminator would run as commands. kzymy ends DATA only at <CRLF>.<CRLF> (data-capture.ts), so
 * what follows that terminator is the client's next command, nothing smuggled: it is kept, and
 * Haraka runs it after the reply to the message, as it does for any other pipelined group. The
 * rest of Haraka's bound stays: more than 8 KiB sent after the terminator before the reply still
 * ends the connection (connection.js MAX_POST_DATA_BYTES).
 *
 * Installed once per process by the plugin, after data-patch.ts has checked the Haraka version.
 */
import type { HarakaConnection, HarakaPlugin } from './api';

interface RespondingConnection extends HarakaConnection {
  /** Set from the end of data until its reply (connection.js data_done). */
  awaiting_data_reply?: boolean;
  /** What the client sent that Haraka has not processed yet. */
  current_data: Buffer | null;
}

const PATCHED = Symbol.for('kzymy.respond_after_data');

export function installPipeliningAfterData(plugin: HarakaPlugin): void {
  const connectionModule = plugin.haraka_require('connection') as {
    Connection: { prototype: RespondingConnection & { [PATCHED]?: true } };
  };
  const proto = connectionModule.Connection.prototype;
  if (proto[PATCHED]) return;
  const respond = proto.respond;
  proto.respond = function respondKeepingPipelined(
    this: RespondingConnection,
    code: number,
    message: string,
    after?: () => void,
  ): void {
    const pipelined = this.awaiting_data_reply ? this.current_data : null;
    if (!pipelined?.length) return respond.call(this, code, message, after);
    // Hidden from respond(), which would refuse it; back before its deferred _process_data() runs.
    this.current_data = null;
    respond.call(this, code, message, after);
    const arrived = this.current_data as Buffer | null;
    this.current_data = arrived?.length ? Buffer.concat([pipelined, arrived]) : pipelined;
  };
  proto[PATCHED] = true;
}
