/**
 * A small SMTP load generator over raw sockets: N connections, each sending messages one after
 * another (EHLO once, then MAIL / RCPT / DATA per message, no pipelining), until a shared count
 * is reached. It times DATA → 250 per message: from writing the DATA command to reading the
 * final reply to the message body, which spans the body transfer and everything the server does
 * before it answers (for kzymy: encrypt and store).
 */
import { connect, type Socket } from 'node:net';
import { nowMs } from './stats';

export interface SmtpLoadOptions {
  host: string;
  port: number;
  connections: number;
  messages: number;
  /** The message for the i-th delivery (complete RFC 5322 text, CRLF line ends). */
  message(i: number): Buffer;
  from: string;
  /** The recipient of the i-th delivery. */
  recipient(i: number): string;
  /** Give up on a reply after this long (default 120 s). */
  replyTimeoutMs?: number;
}

export interface SmtpLoadResult {
  /** Wall time from the first connection attempt until the last reply. */
  durationMs: number;
  accepted: number;
  /** Replies other than 250 to the message, by reply line (first 60 characters). */
  refused: Map<string, number>;
  /** DATA → 250 of each accepted message, in milliseconds. */
  latencies: number[];
}

class ReplyReader {
  private buffer = '';
  private waiting: { resolve(reply: string): void; reject(error: Error): void } | null = null;
  private replies: string[] = [];
  private failure: Error | null = null;

  constructor(socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.push(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  /** The next complete (possibly multi-line) reply; resolves to its last line. */
  next(timeoutMs: number): Promise<string> {
    const ready = this.replies.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new Error(`no SMTP reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = {
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
    });
  }

  private push(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const end = this.buffer.indexOf('\r\n');
      if (end < 0) return;
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      // RFC 5321 §4.2.1: "250-..." continues a reply, "250 ..." ends it.
      if (line.length >= 4 && line[3] === '-') continue;
      this.deliver(line);
    }
  }

  private deliver(reply: string): void {
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = null;
      waiting.resolve(reply);
    } else this.replies.push(reply);
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.reject(error);
  }
}

/** RFC 5321 §4.5.2: a line starting with '.' gets one more; the body ends with CRLF.CRLF. */
export function dotStuff(message: Buffer): Buffer {
  let text = message.toString('latin1');
  if (!text.endsWith('\r\n')) text += '\r\n';
  text = text.replace(/^\./gm, '..');
  return Buffer.from(text + '.\r\n', 'latin1');
}

export async function runSmtpLoad(options: SmtpLoadOptions): Promise<SmtpLoadResult> {
  const timeoutMs = options.replyTimeoutMs ?? 120_000;
  let nextIndex = 0;
  const latencies: number[] = [];
  const refused = new Map<string, number>();
  let accepted = 0;

  const expect = async (reader: ReplyReader, code: string, what: string): Promise<string> => {
    const reply = await reader.next(timeoutMs);
    if (!reply.startsWith(code)) throw new SmtpStepError(what, reply);
    return reply;
  };

  const worker = async (id: number): Promise<void> => {
    const socket = connect({ host: options.host, port: options.port });
    socket.setNoDelay(true);
    const reader = new ReplyReader(socket);
    try {
      await expect(reader, '220', 'greeting');
      socket.write(`EHLO load${id}.bench.example\r\n`);
      await expect(reader, '250', 'EHLO');
      for (let i = nextIndex++; i < options.messages; i = nextIndex++) {
        socket.write(`MAIL FROM:<${options.from}>\r\n`);
        const mail = await reader.next(timeoutMs);
        if (!mail.startsWith('250')) {
          count(refused, mail);
          socket.write('RSET\r\n');
          await reader.next(timeoutMs);
          continue;
        }
        socket.write(`RCPT TO:<${options.recipient(i)}>\r\n`);
        const rcpt = await reader.next(timeoutMs);
        if (!rcpt.startsWith('250')) {
          count(refused, rcpt);
          socket.write('RSET\r\n');
          await reader.next(timeoutMs);
          continue;
        }
        const body = dotStuff(options.message(i));
        const start = nowMs();
        socket.write('DATA\r\n');
        await expect(reader, '354', 'DATA');
        socket.write(body);
        const final = await reader.next(timeoutMs);
        const elapsed = nowMs() - start;
        if (final.startsWith('250')) {
          accepted++;
          latencies.push(elapsed);
        } else count(refused, final);
      }
      socket.write('QUIT\r\n');
      await reader.next(timeoutMs).catch(() => undefined);
    } finally {
      socket.destroy();
    }
  };

  const start = nowMs();
  await Promise.all(Array.from({ length: options.connections }, (_, id) => worker(id)));
  return { durationMs: nowMs() - start, accepted, refused, latencies };
}

function count(map: Map<string, number>, reply: string): void {
  const key = reply.slice(0, 60);
  map.set(key, (map.get(key) ?? 0) + 1);
}

export class SmtpStepError extends Error {
  constructor(
    readonly step: string,
    readonly reply: string,
  ) {
    super(`SMTP ${step}: unexpected reply ${reply.slice(0, 120)}`);
  }
}
