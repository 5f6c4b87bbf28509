/**
 * A scripted mail server on a MemorySocket, for fuzzing a client (kzymy-fetch): each command
 * line the client writes gets the answer `respond` gives, which a target may damage (mutations,
 * odd network reads, a hang-up at some answer). When the client has gone quiet for a few
 * turns of the event loop while expecting more, the server hangs up, so that every input ends
 * at once instead of at the client's read timeout.
 */
import type { Socket } from 'node:net';
import { chunked, mutate, type Mutation } from './bytes';
import { MemorySocket, settleTurns } from './memory-socket';

export interface Damage {
  /** Mutations per answer, by the answer's index (missing: the answer is sent as it is). */
  mutations: ReadonlyArray<readonly Mutation[]>;
  /** Cut points applied to every answer, so that it arrives in several reads. */
  cuts: readonly number[];
  /** Hang up instead of sending this answer (null: never). */
  hangUpAt: number | null;
}

export const NO_DAMAGE: Damage = { mutations: [], cuts: [], hangUpAt: null };

export class ScriptedServer {
  readonly socket: MemorySocket;
  private pending = Buffer.alloc(0);
  private answers = 0;
  private writes = 0;
  private watching = false;

  constructor(
    private readonly respond: (line: string) => Buffer | 'hang-up',
    private readonly damage: Damage,
  ) {
    this.socket = new MemorySocket((chunk) => this.onClientBytes(chunk));
  }

  /** The socket as the client code types it. */
  get clientSocket(): Socket {
    return this.socket as unknown as Socket;
  }

  /** Sends an unsolicited answer (a greeting). */
  greet(answer: Buffer): void {
    this.send(answer);
  }

  private onClientBytes(chunk: Buffer): void {
    this.writes += 1;
    this.pending = Buffer.concat([this.pending, chunk]);
    for (;;) {
      const end = this.pending.indexOf('\r\n');
      if (end < 0) return;
      const line = this.pending.subarray(0, end).toString('latin1');
      this.pending = this.pending.subarray(end + 2);
      const answer = this.respond(line);
      if (answer === 'hang-up') {
        this.socket.hangUp();
        return;
      }
      this.send(answer);
    }
  }

  private send(answer: Buffer): void {
    const index = this.answers++;
    if (this.damage.hangUpAt === index) {
      this.socket.hangUp();
      return;
    }
    const damaged = mutate(answer, this.damage.mutations[index] ?? []);
    for (const piece of chunked(damaged, this.damage.cuts)) this.socket.deliver(piece);
    void this.watchForSilence();
  }

  private async watchForSilence(): Promise<void> {
    if (this.watching) return;
    this.watching = true;
    try {
      for (;;) {
        const before = this.writes;
        await settleTurns(3);
        if (this.writes === before) break;
      }
      this.socket.hangUp();
    } finally {
      this.watching = false;
    }
  }
}
