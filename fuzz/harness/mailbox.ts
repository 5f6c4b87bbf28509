/**
 * What the IMAP and POP3 server targets share: real deps (the SQLite store, Redis:
 * fuzz/harness/services.ts), an active account whose password hash is cheap to check, stored
 * PGP/MIME messages, and a client side that talks to an engine connection over a MemorySocket.
 *
 * The account's hash is the production scrypt format with a tiny cost (N = 16): verifyPassword
 * reads the cost from the hash, so each login takes microseconds instead of the deliberate
 * ~90 ms. The password gate (src/auth/password-gate.ts) holds a wrong answer for
 * auth.failureDelayMs, set to 1 ms here so that a stray LOGIN or PASS in an input costs no
 * second; inputs log in with the right password, and the tests of the gate cover failed logins.
 */
import { randomBytes, scryptSync } from 'node:crypto';
import type { Socket } from 'node:net';
import type { ConnectionGate } from '../../src/connection-limits/gate';
import { encryptToPgpMime } from '../../src/pgp/pgp-mime';
import type { User } from '../../src/store/types';
import type { TestDeps } from '../../test/helpers/deps';
import { MemorySocket } from './memory-socket';
import { InvariantError } from './target';
import { recipientKeys } from './pgp-keys';
import type { FuzzServices } from './services';

export interface Mailbox {
  deps: TestDeps;
  user: User;
  password: string;
  publicKey: string;
  /** Stores messages until the mailbox holds `count` (fuzz inputs fetch and delete them). */
  refill(count: number): Promise<void>;
}

function cheapHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, 32, { N: 16, r: 8, p: 1 });
  return ['scrypt', 16, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Bytes kzymy stores: what its SMTP side makes of a plain message. */
function storedMessage(publicKey: string, i: number): Promise<Buffer> {
  const raw = Buffer.from(
    [
      'From: Fuzz <fuzz@example.org>',
      'To: someone@example.org',
      `Subject: message ${i}`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      `body ${i}`,
      '--b',
      'Content-Type: application/octet-stream',
      'Content-Transfer-Encoding: base64',
      '',
      'AAECAwQ=',
      '--b--',
      '',
    ].join('\r\n'),
  );
  return encryptToPgpMime({
    raw,
    publicKeyArmored: publicKey,
    envelopeFrom: 'fuzz@example.org',
    recipients: ['someone@x.kzymy.test'],
    arrival: new Date(),
    domain: 'kzymy.test',
    outerTo: 'undisclosed-recipients:;',
  });
}

export async function openMailbox(services: FuzzServices): Promise<Mailbox> {
  const deps = await services.deps({
    auth: { failureDelayMs: 1 },
    // The lowest command-line bound the configuration allows, so that inputs of a few KiB reach
    // the limits' code (src/imap/limits.ts, src/pop3/limits.ts); the other limits as configured.
    limits: { imap: { maxCommandBytes: 1024 }, pop3: { maxCommandBytes: 1024 } },
  });
  const { publicKeyArmored } = await recipientKeys();
  const password = 'fuzz-password';
  const user = await deps.store.users.create({
    fingerprint: randomBytes(20).toString('hex'),
    publicKey: publicKeyArmored,
    passwordHash: cheapHash(password),
    state: 'active',
  });
  const pool = await Promise.all([0, 1, 2, 3].map((i) => storedMessage(publicKeyArmored, i)));
  let next = 0;
  return {
    deps,
    user,
    password,
    publicKey: publicKeyArmored,
    async refill(count) {
      const held = (await deps.store.messages.list(user.id)).length;
      for (let i = held; i < count; i++) {
        await deps.store.messages.add(user.id, pool[next++ % pool.length] as Buffer, new Date());
      }
    },
  };
}

/** The client's end of an engine connection: what the server wrote, and waiting for it. */
export class ClientEnd {
  readonly socket: MemorySocket;
  private output = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private closeSeen = false;

  constructor() {
    this.socket = new MemorySocket((chunk) => {
      this.output = Buffer.concat([this.output, chunk]);
      this.wake();
    });
    this.socket.on('close', () => {
      this.closeSeen = true;
      this.wake();
    });
    // The engine may destroy the socket with an error; that is an ending, not a crash.
    this.socket.on('error', () => undefined);
  }

  /**
   * The connection is over: closed, or destroyed by a TLS layer over it (which, on an
   * in-memory stream, does not always let 'close' through).
   */
  get closed(): boolean {
    return this.closeSeen || this.socket.destroyed;
  }

  /** The socket as the engines type it. */
  get clientSocket(): Socket {
    return this.socket as unknown as Socket;
  }

  get text(): string {
    return this.output.toString('latin1');
  }

  send(bytes: Buffer | string): void {
    this.socket.deliver(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1'));
  }

  /**
   * Ends the session from the client's side after `farewell` (LOGOUT / QUIT) was sent: waits for
   * the server to close, then closes the client's side (FIN) and waits again. After STARTTLS or
   * STLS the engine reads through a TLS socket layered on this in-memory stream, which does not
   * pass a FIN on (a TCP socket does); there the client resets the connection instead.
   * Throws InvariantError when the connection stays open.
   */
  async finish(upgraded: boolean): Promise<void> {
    // Short: an input that left the session inside a literal or a SASL exchange ends by the FIN.
    if (await this.waitFor(() => this.closed, 300)) return;
    this.socket.hangUp();
    if (await this.waitFor(() => this.closed, 3000)) return;
    if (!upgraded) throw new InvariantError('the connection did not close after the client did');
    this.socket.destroy();
    if (!(await this.waitFor(() => this.closed, 3000))) {
      throw new InvariantError('the connection did not close after a reset');
    }
  }

  /** Resolves true once `done()` holds, false after `ms` (or when the connection closed first). */
  async waitFor(done: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (this.closed) return done();
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        // Polls as well: destruction by a TLS layer wakes nobody.
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * Whether the listener's gate (src/connection-limits/gate.ts) is back to `before` connections
 * within `ms`: every session, however it ended, gives back its slot and its user's session
 * count. (Compared with the count before the input, so that a slot an earlier failing input kept
 * does not fail every input fast-check tries while shrinking.)
 */
export async function gateEmptied(
  gate: ConnectionGate,
  before: number,
  ms = 3000,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (gate.size > before) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}
