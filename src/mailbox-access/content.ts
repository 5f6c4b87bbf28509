/**
 * Reading stored ciphertext for a client: byte ranges as a stream (a 35 MB message is never held
 * whole in memory to send it), and where the header section ends (BODY[HEADER] / BODY[TEXT] and
 * TOP are cut there, RFC 5322 §2.1: the header, an empty line, then the body).
 */
import { Readable } from 'node:stream';
import type { MessageStore } from '../store/store';
import type { MessageRef, StoredMessage } from '../store/types';

/** Reads bytes [start, end) of a message, one stored chunk at a time, as the consumer pulls. */
export class MessageReader extends Readable {
  private position: number;
  private reading = false;
  private aborted = false;

  constructor(
    private readonly messages: MessageStore,
    private readonly userId: string,
    private readonly message: MessageRef,
    start: number,
    private readonly end: number,
  ) {
    super();
    this.position = start;
  }

  /** Ends the stream early and cleanly ('end', not 'error'): POP3 TOP needs no more. */
  abort(): void {
    this.aborted = true;
    if (!this.reading) this.push(null);
  }

  override _read(): void {
    if (this.reading) return;
    if (this.aborted || this.position >= this.end) {
      this.push(null);
      return;
    }
    this.reading = true;
    // Aligned to stored chunks, so each read touches one chunk.
    const chunk = this.messages.chunkBytes;
    const until = Math.min(this.end, (Math.floor(this.position / chunk) + 1) * chunk);
    this.messages.readRange(this.userId, this.message, this.position, until).then(
      (piece) => {
        this.reading = false;
        if (this.aborted) {
          this.push(null);
          return;
        }
        if (piece.length === 0) {
          this.destroy(new Error('message ended early'));
          return;
        }
        this.position += piece.length;
        this.push(piece);
      },
      (error: unknown) => {
        this.reading = false;
        this.destroy(error instanceof Error ? error : new Error('read failed'));
      },
    );
  }
}

/**
 * Length of the header section, blank line included: the offset where BODY[TEXT] starts.
 * A message without a blank line is all header (RFC 3501 §6.4.5: TEXT is then empty).
 */
export async function headerLength(
  messages: MessageStore,
  userId: string,
  message: StoredMessage,
): Promise<number> {
  // Outer headers are a few hundred bytes; read a little first, then whole chunks.
  let window = Math.min(message.size, 16 * 1024);
  for (;;) {
    const head = await messages.readRange(userId, message, 0, window);
    const end = blankLineEnd(head);
    if (end !== null) return end;
    if (window >= message.size) return message.size;
    window = Math.min(message.size, window + messages.chunkBytes);
  }
}

/** Offset just past the first empty line (CRLF CRLF, or bare LF LF), or null if none. */
export function blankLineEnd(data: Buffer): number | null {
  if (data[0] === 0x0a) return 1;
  if (data[0] === 0x0d && data[1] === 0x0a) return 2;
  const crlf = data.indexOf('\r\n\r\n');
  const lf = data.indexOf('\n\n');
  if (crlf < 0 && lf < 0) return null;
  if (lf < 0 || (crlf >= 0 && crlf + 2 <= lf + 1)) return crlf + 4;
  return lf + 2;
}
