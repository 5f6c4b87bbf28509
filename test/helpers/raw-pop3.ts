/**
 * A line-level POP3 client for protocol details the stock clients do not show.
 */
import { type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { type ConnectOptions, openSocket } from './raw-socket';

/** A line-level POP3 client (RFC 1939), with multi-line responses un-dot-stuffed. */
export class RawPop3 {
  private buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private closed = false;

  private constructor(public socket: Socket) {
    this.attach(socket);
  }

  static async connect(options: ConnectOptions): Promise<{ client: RawPop3; greeting: string }> {
    const client = new RawPop3(await openSocket(options));
    const greeting = await client.readLine();
    return { client, greeting };
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => undefined);
  }

  private async until(test: () => number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = test();
      if (at >= 0) return at;
      if (this.closed) throw new Error('POP3 connection closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('POP3 response timed out');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          this.wake = null;
          resolve();
        };
      });
    }
  }

  async readLine(timeoutMs = 10_000): Promise<string> {
    const end = await this.until(() => this.buffer.indexOf('\r\n'), timeoutMs);
    const line = this.buffer.subarray(0, end).toString('latin1');
    this.buffer = this.buffer.subarray(end + 2);
    return line;
  }

  /** Sends a command and reads its status line. */
  async command(text: string): Promise<string> {
    this.socket.write(text + '\r\n');
    return this.readLine();
  }

  /** Sends a command expecting a multi-line answer; returns status and un-stuffed data. */
  async multi(text: string, timeoutMs = 30_000): Promise<{ status: string; data: Buffer }> {
    const status = await this.command(text);
    if (!status.startsWith('+OK')) return { status, data: Buffer.alloc(0) };
    const end = await this.until(() => {
      if (this.buffer.subarray(0, 3).equals(Buffer.from('.\r\n'))) return 0;
      const at = this.buffer.indexOf('\r\n.\r\n');
      return at < 0 ? -1 : at + 2;
    }, timeoutMs);
    const raw = this.buffer.subarray(0, end);
    this.buffer = this.buffer.subarray(end + 3);
    // RFC 1939 §3: a line starting with the termination octet was stuffed with another.
    const data = Buffer.from(raw.toString('latin1').replace(/(^|\r\n)\.\./g, '$1.'), 'latin1');
    return { status, data };
  }

  /** After "+OK" to STLS (RFC 2595 §4): continues over TLS. */
  async startTls(): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    this.socket = await new Promise<TLSSocket>((resolve, reject) => {
      const secure = tlsConnect({ socket: plain, rejectUnauthorized: false }, () =>
        resolve(secure),
      );
      secure.once('error', reject);
    });
    this.attach(this.socket);
  }

  async quit(): Promise<string> {
    const closed = new Promise((resolve) => this.socket.once('close', resolve));
    const reply = await this.command('QUIT');
    await closed;
    return reply;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
