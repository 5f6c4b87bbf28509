/**
 * The bytes of one message as the client sent them, taken line by line from Haraka's DATA
 * state (see data-patch.ts for why kzymy takes them itself).
 *
 * RFC 5321 §4.1.1.4: "the mail data is terminated by a line containing only a period, that is,
 * the character sequence "<CRLF>.<CRLF>", where the first <CRLF> is actually the terminator of
 * the previous line". Lines are CRLF-terminated; a bare LF or a bare CR is not a line break but
 * data. So:
 *
 * - only `.` CR LF right after a CR LF (or at the start of DATA) ends the message;
 *   `<LF>.<LF>`, `<LF>.<CRLF>`, `<CRLF>.<LF>` and `<CR>.<CR>` are content (SMTP smuggling:
 *   a server that ends DATA on any of them lets one message carry a second, forged one);
 * - RFC 5321 §4.5.2 transparency: a line (after CR LF) that starts with a period loses that
 *   period; nothing else is changed, so bare LFs, NULs, 8-bit bytes and broken MIME are kept.
 *
 * Haraka hands over each piece of input up to and including an LF, so a piece ends in CR LF
 * (a complete line) or in a bare LF (a line that continues).
 *
 * The bytes are copied into a few large slabs, not kept as one Buffer per line: a Buffer object
 * costs about a hundred bytes of its own, as much again as a typical 76-character line, and a
 * 25 MB message has a third of a million lines. The slabs are handed to the encryption as they
 * are (pieces()), never joined.
 */

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** Slabs grow with the message (a 10 KB message takes one small slab) up to this size. */
const MIN_SLAB = 16 * 1024;
const MAX_SLAB = 256 * 1024;

export type CaptureResult = 'more' | 'end';

export class DataCapture {
  /** Full slabs, then the one being filled (its first `filled` bytes hold data). */
  private readonly slabs: Buffer[] = [];
  private filled = 0;
  private stored = 0;
  private wire = 0;
  private over = false;
  /** True at the start of DATA and after every CR LF: the next byte begins a line. */
  private atLineStart = true;

  /** @param maxBytes the largest message kept; more is counted but not kept (RFC 1870 SIZE). */
  constructor(private readonly maxBytes: number) {}

  /** Takes one piece of input; 'end' when it was the end-of-data line (which is not kept). */
  push(piece: Buffer): CaptureResult {
    this.wire += piece.length;
    let data = piece;
    if (this.atLineStart && piece[0] === DOT) {
      if (piece.length === 3 && piece[1] === CR && piece[2] === LF) return 'end';
      data = piece.subarray(1);
    }
    this.atLineStart =
      piece.length >= 2 && piece[piece.length - 1] === LF && piece[piece.length - 2] === CR;
    if (this.over) return 'more';
    if (this.stored + data.length > this.maxBytes) {
      // Keep nothing more: the message will be refused, and memory stays bounded.
      this.over = true;
      this.clear();
      return 'more';
    }
    // A piece is a view into Haraka's read buffer; a copy does not pin that buffer in memory.
    this.append(data);
    return 'more';
  }

  private append(data: Buffer): void {
    let from = 0;
    while (from < data.length) {
      let slab = this.slabs[this.slabs.length - 1];
      if (!slab || this.filled === slab.length) {
        slab = Buffer.allocUnsafe(Math.min(MAX_SLAB, Math.max(MIN_SLAB, this.stored)));
        this.slabs.push(slab);
        this.filled = 0;
      }
      const copied = data.copy(slab, this.filled, from);
      this.filled += copied;
      from += copied;
    }
    this.stored += data.length;
  }

  /** Bytes received in DATA, including dot-stuffing and the terminator (for Haraka's counters). */
  get wireBytes(): number {
    return this.wire;
  }

  get size(): number {
    return this.stored;
  }

  get oversize(): boolean {
    return this.over;
  }

  /**
   * The message as consecutive pieces (views of the slabs, valid until clear()); throws if it
   * was over the limit (nothing of it was kept).
   */
  pieces(): Buffer[] {
    if (this.over) throw new Error('message exceeded the size limit');
    const last = this.slabs.length - 1;
    return this.slabs.map((slab, i) => (i === last ? slab.subarray(0, this.filled) : slab));
  }

  /** The message in one Buffer (a copy: for tests and tools; delivery uses pieces()). */
  message(): Buffer {
    return Buffer.concat(this.pieces(), this.stored);
  }

  /** Forget the content (after delivery or on reset), so it does not linger in memory. */
  clear(): void {
    // Zeroed, so this copy of the plaintext does not linger in memory the allocator hands out
    // again (the copies inside OpenPGP.js are beyond kzymy's reach).
    for (const slab of this.slabs) slab.fill(0);
    this.slabs.length = 0;
    this.filled = 0;
    this.stored = 0;
  }
}
