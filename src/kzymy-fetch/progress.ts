/**
 * What kzymy-fetch says while it works. On a terminal: one line redrawn in place with messages
 * and bytes. Anywhere else (cron, a pipe, a systemd timer): nothing unless something failed, so
 * a cron job mails its owner only when there is something to act on.
 */

export interface Progress {
  start(messages: number, bytes: number): void;
  /** Bytes of the current message received so far. */
  bytes(received: number): void;
  /** One more message handled (delivered, or skipped as already delivered). */
  message(size: number): void;
  finish(summary: string): void;
}

export function createProgress(stream: NodeJS.WriteStream, quiet: boolean): Progress {
  if (quiet || !stream.isTTY) return silentProgress;
  return new TtyProgress(stream);
}

const silentProgress: Progress = {
  start: () => undefined,
  bytes: () => undefined,
  message: () => undefined,
  finish: () => undefined,
};

class TtyProgress implements Progress {
  private total = { messages: 0, bytes: 0 };
  private done = { messages: 0, bytes: 0 };
  private current = 0;
  private lastDraw = 0;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  start(messages: number, bytes: number): void {
    this.total = { messages, bytes };
    this.done = { messages: 0, bytes: 0 };
    this.current = 0;
    if (messages > 0) this.draw(true);
  }

  bytes(received: number): void {
    this.current = received;
    this.draw(false);
  }

  message(size: number): void {
    this.done.messages += 1;
    this.done.bytes += size;
    this.current = 0;
    this.draw(true);
  }

  finish(summary: string): void {
    this.stream.write(`\r\x1b[2K${summary}\n`);
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const bytes = Math.min(this.done.bytes + this.current, this.total.bytes);
    const ratio = this.total.bytes > 0 ? bytes / this.total.bytes : 1;
    const width = Math.max(10, Math.min(40, (this.stream.columns ?? 80) - 50));
    const filled = Math.round(ratio * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    this.stream.write(
      `\r\x1b[2K[${bar}] ${this.done.messages}/${this.total.messages} messages  ` +
        `${formatBytes(bytes)} / ${formatBytes(this.total.bytes)}`,
    );
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
