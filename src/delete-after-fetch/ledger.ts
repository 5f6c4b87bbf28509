/**
 * Which messages a client has received, whole, in one session (docs/fetching.md).
 *
 * IMAP clients fetch a message in many shapes: BODY[] at once, BODY[HEADER] then BODY[TEXT]
 * (fetchmail), or BODY.PEEK[]<offset.length> chunks (imapflow's download). Each delivered piece
 * is recorded as a byte range of the stored message; the message counts as received once the
 * ranges cover all of it. POP3 records a RETR as the whole range.
 */

type Range = [start: number, end: number];

interface Entry {
  size: number;
  /** Sorted, disjoint, non-adjacent half-open ranges. */
  covered: Range[];
  complete: boolean;
}

export class FetchLedger {
  private readonly entries = new Map<string, Entry>();

  /**
   * Records that bytes [start, end) of a message of `size` bytes reached the client.
   * Returns true exactly once: when this record completes the message.
   */
  record(messageId: string, size: number, start: number, end: number): boolean {
    let entry = this.entries.get(messageId);
    if (!entry) {
      entry = { size, covered: [], complete: false };
      this.entries.set(messageId, entry);
    }
    if (entry.complete) return false;
    const from = Math.max(0, start);
    const to = Math.min(size, end);
    if (to > from) entry.covered = merge(entry.covered, [from, to]);
    const first = entry.covered[0];
    // An empty message is received by any fetch of its (empty) content.
    if (size === 0 || (first && first[0] === 0 && first[1] >= size)) {
      entry.complete = true;
      return true;
    }
    return false;
  }

  isComplete(messageId: string): boolean {
    return this.entries.get(messageId)?.complete ?? false;
  }

  /** Ids of every message received whole in this session. */
  completed(): string[] {
    return [...this.entries].filter(([, entry]) => entry.complete).map(([id]) => id);
  }
}

function merge(ranges: Range[], added: Range): Range[] {
  const out: Range[] = [];
  let [start, end] = added;
  for (const [s, e] of ranges) {
    if (e < start || s > end) {
      out.push([s, e]);
    } else {
      start = Math.min(start, s);
      end = Math.max(end, e);
    }
  }
  out.push([start, end]);
  return out.sort((a, b) => a[0] - b[0]);
}
