/**
 * A raw SMTP client for tests that need exact bytes on the wire (swaks normalises line endings
 * and dot-stuffs). Replies are parsed per RFC 5321 §4.2 (multi-line "250-" ... "250 ").
 */
import { connect, type Socket } from 'node:net';

export interface Reply {
  code: number;
  /** Text of each line, without the code and separator. */
  lines: string[];
  /** The whole reply as received, for assertion messages. */
  raw: string;
}

export class SmtpClient {
  private buffer = Buffer.alloc(0);
  private waiting: ((reply: Reply) => void) | undefined;
  private failed: ((error: Error) => void) | undefined;
  private readonly replies: Reply[] = [];
  private closedError: Error | undefined;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (data: Buffer) => this.onData(data));
    const close = (error?: Error): void => {
      this.closedError = error ?? new Error('connection closed');
      this.failed?.(this.closedError);
    };
    socket.on('error', close);
    socket.on('close', () => close());
  }

  static async connect(port: number, host = '127.0.0.1'): Promise<SmtpClient> {
    const socket = connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new SmtpClient(socket);
  }

  /** Connects, reads the greeting and says EHLO. */
  static async ready(port: number): Promise<SmtpClient> {
    const client = await SmtpClient.connect(port);
    await client.expect(220);
    await client.command('EHLO client.example', 250);
    return client;
  }

  /** The next reply (replies the server sent earlier are queued, never lost). */
  reply(): Promise<Reply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failed = reject;
    });
  }

  async expect(code: number): Promise<Reply> {
    const reply = await this.reply();
    if (reply.code !== code) throw new Error(`expected ${code}, got: ${reply.raw}`);
    return reply;
  }

  write(data: Buffer | string): void {
    this.socket.write(data);
  }

  /** Sends one command line and returns the reply (checking its code when given). */
  async command(line: string, code?: number): Promise<Reply> {
    this.write(`${line}\r\n`);
    return code === undefined ? this.reply() : this.expect(code);
  }

  /**
   * MAIL, RCPT (each must get 250), DATA, then `data` exactly as given followed by the
   * end-of-data line; returns the reply to the end of data.
   */
  async send(from: string, to: readonly string[], data: Buffer | string): Promise<Reply> {
    await this.command(`MAIL FROM:<${from}>`, 250);
    for (const rcpt of to) await this.command(`RCPT TO:<${rcpt}>`, 250);
    await this.command('DATA', 354);
    this.write(Buffer.concat([Buffer.from(data), Buffer.from('.\r\n')]));
    return this.reply();
  }

  async quit(): Promise<void> {
    if (this.closedError) return;
    await this.command('QUIT', 221).catch(() => undefined);
    this.socket.destroy();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data]);
    for (;;) {
      const reply = this.parseReply();
      if (!reply) return;
      const waiting = this.waiting;
      this.waiting = undefined;
      this.failed = undefined;
      if (waiting) waiting(reply);
      else this.replies.push(reply);
    }
  }

  private parseReply(): Reply | undefined {
    const text = this.buffer.toString('latin1');
    const lines: string[] = [];
    let offset = 0;
    for (;;) {
      const end = text.indexOf('\r\n', offset);
      if (end < 0) return undefined;
      const line = text.slice(offset, end);
      offset = end + 2;
      lines.push(line);
      if (line[3] !== '-') break;
    }
    this.buffer = this.buffer.subarray(offset);
    return {
      code: Number(lines[0]?.slice(0, 3)),
      lines: lines.map((line) => line.slice(4)),
      raw: lines.join('\n'),
    };
  }
}

/** RFC 5321 §4.5.2: a line (after CR LF) starting with '.' gets another '.'. */
export function dotStuff(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let start = 0;
  let atLineStart = true;
  for (let i = 0; i < data.length; i++) {
    if (atLineStart && data[i] === 0x2e) {
      out.push(data.subarray(start, i), Buffer.from('.'));
      start = i;
    }
    atLineStart = data[i] === 0x0a && i > 0 && data[i - 1] === 0x0d;
  }
  out.push(data.subarray(start));
  return Buffer.concat(out);
}
