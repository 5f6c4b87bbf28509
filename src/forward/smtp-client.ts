/**
 * The SMTP client side of forwarding: one connection to a destination's MX, through the SOCKS5h
 * proxy (Tor) unless none is configured, carrying one message after another. The protocol is
 * nodemailer's SMTPConnection, handed a socket kzymy opened (its own proxy support would resolve
 * names locally; the SOCKS client here sends names to the proxy, src/kzymy-fetch/socks5.ts).
 *
 * What the destination learns from the session: the HELO name (the mail domain), the null
 * reverse-path, the recipient, and the message — kzymy's ciphertext, unchanged.
 */
import { lookup } from 'node:dns/promises';
import { BlockList, connect, isIP, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { FetchError } from '../kzymy-fetch/errors';
import { socksConnect, type ProxyAddress } from '../kzymy-fetch/socks5';
import { outcomeOfError, type DeferReason, type SendOutcome } from './outcome';
import type { Endpoint } from './route';

export interface TransportOptions {
  /** null: connect directly. */
  proxy: ProxyAddress | null;
  /** RFC 5321 §4.1.1.1: the EHLO name; kzymy's mail domain. */
  heloName: string;
  /** One step (connecting and greeting, or one message) must end within this. */
  timeoutMs: number;
  /** Loopback and private addresses are refused unless this is set (tests on loopback). */
  allowPrivateHosts: boolean;
}

class TransportError extends Error {
  constructor(readonly reason: DeferReason) {
    super(reason);
    this.name = 'TransportError';
  }
}

/** Where a user must not be able to point the server: its own machine and network. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['::ffff:0:0', 96],
  ['fc00::', 7],
  ['fe80::', 10],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export type OpenResult =
  | { ok: true; session: SmtpSession }
  | { ok: false; outcome: Exclude<SendOutcome, { kind: 'delivered' }> };

export class SmtpSession {
  private closed = false;

  private constructor(
    private readonly connection: SMTPConnection,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Connects to the first endpoint that answers with a greeting (RFC 5321 §5.1: try the MX hosts
   * in order); the failure of the last one otherwise.
   */
  static async open(
    endpoints: readonly Endpoint[],
    options: TransportOptions,
  ): Promise<OpenResult> {
    let last: Exclude<SendOutcome, { kind: 'delivered' }> = {
      kind: 'deferred',
      reason: 'dns',
      code: null,
    };
    for (const endpoint of endpoints) {
      const opened = await SmtpSession.openOne(endpoint, options);
      if (opened.ok) return opened;
      last = opened.outcome;
    }
    return { ok: false, outcome: last };
  }

  private static async openOne(endpoint: Endpoint, options: TransportOptions): Promise<OpenResult> {
    let socket: Socket;
    try {
      socket = await openSocket(endpoint, options);
    } catch (error) {
      return { ok: false, outcome: { kind: 'deferred', reason: reasonOf(error), code: null } };
    }
    const connection = new SMTPConnection({
      connection: socket,
      host: endpoint.host,
      port: endpoint.port,
      name: options.heloName,
      // RFC 3207 STARTTLS whenever offered (RFC 7435 opportunistic security: an MX's certificate
      // is rarely one a client can check); plaintext if the upgrade is refused. The message is
      // ciphertext either way; TLS hides the envelope and the outer headers on the wire.
      opportunisticTLS: true,
      tls: { rejectUnauthorized: false, minVersion: 'TLSv1.2' },
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      logger: false,
      debug: false,
    });
    // Errors after connect() reach the callbacks; this keeps a late socket error from throwing.
    connection.on('error', () => undefined);
    const session = new SmtpSession(connection, options.timeoutMs);
    try {
      await session.step<void>((done) => connection.connect((error) => done(error ?? null)));
      return { ok: true, session };
    } catch (error) {
      session.close();
      const outcome = outcomeOfError(error);
      return {
        ok: false,
        outcome:
          outcome.kind === 'delivered'
            ? { kind: 'deferred', reason: 'protocol', code: null }
            : outcome,
      };
    }
  }

  /**
   * Sends one message with the null reverse-path: RFC 5321 §4.5.5 / §6.1, no notification is
   * ever sent back for it, so a failure never reaches the original sender (nor anyone else).
   * Delivered only on 250 after the data: the commit point.
   */
  async send(recipient: string, message: Readable | Buffer): Promise<SendOutcome> {
    if (this.closed) return { kind: 'deferred', reason: 'connect', code: null };
    try {
      const info = await this.step<SMTPConnection.SentMessageInfo>((done) =>
        this.connection.send({ from: '', to: [recipient] }, message, (error, result) =>
          done(error ?? null, result),
        ),
      );
      // RFC 5321 §4.3.2: the reply to the end of data is 250 on success; anything else is not.
      if (/^250[ -]/.test(info.response ?? '')) return { kind: 'delivered' };
      this.close();
      return { kind: 'deferred', reason: 'protocol', code: null };
    } catch (error) {
      // A failed transaction leaves the session in a state only RSET would clear; start afresh.
      this.close();
      return outcomeOfError(error);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.connection.quit();
    } catch {
      this.connection.close();
    }
    // quit() waits for the 221; a destination that never answers is not waited for.
    setTimeout(() => this.connection.close(), 5_000).unref();
  }

  /**
   * Runs one callback-style call with the deadline; on timeout the connection is dropped. A
   * failure of the connection itself (a refused greeting, a closed socket) is emitted as an
   * event rather than handed to the callback, so it ends the step too.
   */
  private step<T>(run: (done: (error: Error | null, value?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (error: Error | null, value?: T): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.connection.removeListener('error', onError);
        this.connection.removeListener('end', onEnd);
        if (error) reject(error);
        else resolve(value as T);
      };
      const onError = (error: Error): void => finish(error);
      const onEnd = (): void =>
        finish(Object.assign(new Error('connection closed'), { code: 'ECONNECTION' }));
      const timer = setTimeout(() => {
        this.closed = true;
        this.connection.close();
        finish(Object.assign(new Error('deadline'), { code: 'ETIMEDOUT' }));
      }, this.timeoutMs);
      this.connection.on('error', onError);
      this.connection.once('end', onEnd);
      run(finish);
    });
  }
}

async function openSocket(endpoint: Endpoint, options: TransportOptions): Promise<Socket> {
  const literal = isIP(endpoint.host) !== 0;
  if (literal && !options.allowPrivateHosts && isPrivateAddress(endpoint.host)) {
    throw new TransportError('private-host');
  }
  if (options.proxy) {
    // socks5h: the proxy resolves the name (Tor refuses private addresses itself).
    return socksConnect({
      proxy: options.proxy,
      host: endpoint.host,
      port: endpoint.port,
      timeoutMs: options.timeoutMs,
    });
  }
  let address = endpoint.host;
  if (!literal) {
    let found: Array<{ address: string }>;
    try {
      found = await lookup(endpoint.host, { all: true });
    } catch {
      throw new TransportError('dns');
    }
    const usable = found.filter(
      (entry) => options.allowPrivateHosts || !isPrivateAddress(entry.address),
    );
    if (usable.length === 0) throw new TransportError('private-host');
    address = (usable[0] as { address: string }).address;
  }
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: address, port: endpoint.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TransportError('timeout'));
    }, options.timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      reject(new TransportError('connect'));
    });
  });
}

function reasonOf(error: unknown): DeferReason {
  if (error instanceof TransportError) return error.reason;
  if (error instanceof FetchError) return error.kind === 'proxy-down' ? 'proxy' : 'connect';
  return 'connect';
}
