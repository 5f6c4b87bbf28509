/**
 * A byte stream to a mail server with the two reads the line protocols need — a CRLF-terminated
 * line, and exactly n bytes (an IMAP literal) — plus the switch to TLS that STARTTLS/STLS make
 * in the middle of a session (RFC 3501 §6.2.1, RFC 2595 §4).
 */
import type { Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { FetchError } from './errors';

/** Longest protocol line accepted; anything longer is a broken or hostile server. */
const MAX_LINE_BYTES = 1024 * 1024;

export class Wire {
  private chunks: Buffer[] = [];
  private length = 0;
  private waiter: (() => void) | null = null;
  private failure: FetchError | null = null;
  private socket: Socket;
  private readonly onData = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.wake();
  };
  private readonly onEnd = (): void =>
    this.fail(new FetchError('server-unreachable', 'the server closed the connection'));
  private readonly onError = (error: Error): void =>
    this.fail(
      new FetchError(
        'server-unreachable',
        `the connection to the server failed (${describe(error)})`,
        {
          cause: error,
        },
      ),
    );

  constructor(
    socket: Socket,
    private readonly timeoutMs: number,
  ) {
    this.socket = socket;
    this.attach();
  }

  /** Reads one line, without its CRLF (a bare LF is tolerated). */
  async readLine(timeoutMs = this.timeoutMs): Promise<Buffer> {
    for (;;) {
      const joined = this.peekAll();
      const end = joined.indexOf(0x0a);
      if (end >= 0) {
        this.consume(end + 1);
        return joined.subarray(0, end > 0 && joined[end - 1] === 0x0d ? end - 1 : end);
      }
      if (joined.length > MAX_LINE_BYTES)
        throw new FetchError('protocol', 'the server sent an over-long line');
      await this.waitForData(timeoutMs);
    }
  }

  /** Reads exactly `count` bytes. */
  async readBytes(count: number, timeoutMs = this.timeoutMs): Promise<Buffer> {
    while (this.length < count) await this.waitForData(timeoutMs);
    const joined = this.peekAll();
    this.consume(count);
    return joined.subarray(0, count);
  }

  write(data: string | Buffer): void {
    if (this.failure) throw this.failure;
    this.socket.write(data);
  }

  /** Replaces the plaintext stream by TLS on top of it; resolves after the handshake. */
  async startTls(options: ConnectionOptions): Promise<void> {
    if (this.length > 0) {
      // RFC 3207 §4.2-style injection: data pipelined before the handshake must not be trusted.
      throw new FetchError('protocol', 'the server sent data before the TLS handshake');
    }
    this.detach();
    const secure = await tlsHandshake({ ...options, socket: this.socket }, this.timeoutMs);
    this.socket = secure;
    this.attach();
  }

  get encrypted(): boolean {
    return (this.socket as Partial<TLSSocket>).encrypted === true;
  }

  /** Ends the connection without another word (no LOGOUT/QUIT: the server commits nothing). */
  destroy(): void {
    this.detach();
    this.socket.destroy();
  }

  private attach(): void {
    this.socket.on('data', this.onData);
    this.socket.on('end', this.onEnd);
    this.socket.on('close', this.onEnd);
    this.socket.on('error', this.onError);
    this.socket.resume();
  }

  private detach(): void {
    this.socket.pause();
    this.socket.removeListener('data', this.onData);
    this.socket.removeListener('end', this.onEnd);
    this.socket.removeListener('close', this.onEnd);
    this.socket.removeListener('error', this.onError);
    // A late error after detaching must not become an unhandled 'error' event.
    this.socket.on('error', () => undefined);
  }

  private peekAll(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  private consume(count: number): void {
    const joined = this.peekAll();
    const rest = joined.subarray(count);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.length = rest.length;
  }

  private fail(error: FetchError): void {
    this.failure ??= error;
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = null;
    waiter?.();
  }

  private waitForData(timeoutMs: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(
          new FetchError('server-unreachable', `the server did not answer within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.waiter = () => {
        clearTimeout(timer);
        if (this.failure && this.length === 0) reject(this.failure);
        else resolve();
      };
    });
  }
}

export function tlsHandshake(options: ConnectionOptions, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect(options);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new FetchError('protocol', `the TLS handshake did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      const hint = certificateHint(error, options.host ?? 'the server');
      reject(new FetchError('protocol', `TLS failed: ${describe(error)}${hint}`, { cause: error }));
    });
  });
}

/** OpenSSL's verdicts on a certificate no trusted CA vouches for. */
const UNTRUSTED = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/** What to do about a certificate the system does not trust, or that names another host. */
function certificateHint(error: Error, host: string): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (UNTRUSTED.has(code)) {
    return (
      `. ${host}'s certificate is not signed by a CA this system trusts (a self-signed ` +
      `certificate, say). If you trust it, give it (or its CA) in PEM with --ca-file FILE ` +
      `(caFile in the settings file); the server's operator can give you the file.`
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `. The certificate does not name ${host}: check --server.`;
  }
  return '';
}

function describe(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code ? `${code}: ${error.message}` : error.message;
}
