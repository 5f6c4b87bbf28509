/**
 * A line-level IMAP client for protocol details the stock clients do not show.
 */
import { type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { type ConnectOptions, openSocket } from './raw-socket';

/** One logical IMAP response line, with the literals that were embedded in it. */
export interface ImapLine {
  text: string;
  literals: Buffer[];
}

/**
 * A line-level IMAP client: sends commands, assembles responses with their literals, and lets a
 * test wait for a specific untagged line (with a deadline, never a sleep).
 */
export class RawImap {
  readonly lines: ImapLine[] = [];
  private buffer = Buffer.alloc(0);
  private pending: ImapLine | null = null;
  private literalBytes = -1;
  private waiters: Array<{ test: (line: ImapLine) => boolean; resolve: (l: ImapLine) => void }> =
    [];
  private tagCount = 0;
  private closed = false;
  /** Bytes received, for tests that cut a transfer short. */
  received = 0;

  private constructor(public socket: Socket) {
    this.attach(socket);
  }

  static async connect(options: ConnectOptions): Promise<RawImap> {
    const client = new RawImap(await openSocket(options));
    await client.waitFor((line) => line.text.startsWith('* OK'), 5000);
    return client;
  }

  get greeting(): string {
    return this.lines[0]?.text ?? '';
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => undefined);
  }

  private parse(): void {
    for (;;) {
      if (this.literalBytes >= 0) {
        if (this.buffer.length < this.literalBytes) return;
        this.pending?.literals.push(this.buffer.subarray(0, this.literalBytes));
        this.buffer = this.buffer.subarray(this.literalBytes);
        this.literalBytes = -1;
        continue;
      }
      const end = this.buffer.indexOf('\r\n');
      if (end < 0) return;
      const text = this.buffer.subarray(0, end).toString('latin1');
      this.buffer = this.buffer.subarray(end + 2);
      const line = this.pending ?? { text: '', literals: [] };
      line.text += text;
      const literal = /\{(\d+)\}$/.exec(text);
      if (literal) {
        this.pending = line;
        this.literalBytes = Number(literal[1]);
        continue;
      }
      this.pending = null;
      this.lines.push(line);
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.test(line)) return true;
        waiter.resolve(line);
        return false;
      });
    }
  }

  /** Resolves with the first line (already received or future) that passes `test`. */
  waitFor(test: (line: ImapLine) => boolean, timeoutMs = 10_000, from = 0): Promise<ImapLine> {
    const seen = this.lines.slice(from).find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter.resolve !== done);
        reject(new Error(`no matching IMAP line within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (line: ImapLine): void => {
        clearTimeout(timer);
        resolve(line);
      };
      this.waiters.push({ test, resolve: done });
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends a tagged command; resolves with the tagged line and everything since it was sent. */
  async command(
    text: string,
    timeoutMs = 30_000,
  ): Promise<{ status: string; tagged: string; untagged: ImapLine[] }> {
    const tag = `t${++this.tagCount}`;
    const from = this.lines.length;
    this.write(`${tag} ${text}\r\n`);
    const tagged = await this.waitFor((line) => line.text.startsWith(tag + ' '), timeoutMs, from);
    const untagged = this.lines.slice(from).filter((line) => line !== tagged);
    return { status: tagged.text.split(' ')[1] ?? '', tagged: tagged.text, untagged };
  }

  async login(username: string, password: string): Promise<void> {
    const result = await this.command(`LOGIN ${username} "${password}"`);
    if (result.status !== 'OK') throw new Error(`login failed: ${result.tagged}`);
  }

  /** STARTTLS (RFC 3501 §6.2.1), then carries on over TLS. */
  async startTls(): Promise<void> {
    const result = await this.command('STARTTLS');
    if (result.status !== 'OK') throw new Error(`STARTTLS refused: ${result.tagged}`);
    const plain = this.socket;
    plain.removeAllListeners('data');
    this.socket = await new Promise<TLSSocket>((resolve, reject) => {
      const secure = tlsConnect({ socket: plain, rejectUnauthorized: false }, () =>
        resolve(secure),
      );
      secure.once('error', reject);
    });
    this.attach(this.socket);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  async logout(): Promise<void> {
    if (this.closed) return;
    const closed = new Promise((resolve) => this.socket.once('close', resolve));
    await this.command('LOGOUT');
    await closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
