/**
 * One end of an in-memory connection, for driving protocol code in process: the code under test
 * reads and writes it like a net.Socket; the target plays the peer with deliver() and hangUp()
 * and sees what was written through `onWrite`. No port, no kernel: tens of thousands of
 * sessions a minute.
 */
import { Duplex } from 'node:stream';

export class MemorySocket extends Duplex {
  /** What the engines read as the peer address (kzymy's servers hand them a placeholder). */
  readonly remoteAddress = 'anonymous';
  readonly localAddress = '127.0.0.1';
  readonly localPort = 0;
  private ended = false;

  constructor(private readonly onWrite: (chunk: Buffer) => void) {
    super({ allowHalfOpen: false });
  }

  /** net.Socket's readyState, as the WildDuck engines check it before writing. */
  get readyState(): string {
    return this.destroyed || this.ended ? 'closed' : 'open';
  }

  /** Bytes from the peer. */
  deliver(bytes: Buffer): void {
    if (!this.ended && !this.destroyed) this.push(bytes);
  }

  /** The peer closes its side (TCP FIN). */
  hangUp(): void {
    if (this.ended || this.destroyed) return;
    this.ended = true;
    this.push(null);
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.onWrite(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    callback();
  }

  override _final(callback: () => void): void {
    // The code under test closed its side: the peer closes too, as TCP peers do, and the socket
    // closes (an engine that has stopped reading would otherwise never see the end).
    this.hangUp();
    callback();
    setImmediate(() => this.destroy());
  }

  setTimeout(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }
}

/** Resolves after `turns` turns of the event loop (I/O callbacks and timers due run between). */
export async function settleTurns(turns: number): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
