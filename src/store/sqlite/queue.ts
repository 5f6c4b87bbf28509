/**
 * The writer's queue: jobs that arrive while a transaction is being committed (and synced) wait,
 * and the next turn of the event loop runs all of them together — group commit without a timer,
 * so a lone job waits for nothing and a burst shares one sync.
 */
import type { Job, Outcome } from './jobs';

export class JobQueue<Tag> {
  private waiting: { job: Job; tag: Tag }[] = [];
  private scheduled = false;

  /**
   * @param run runs a batch and returns an outcome per job, in order
   * @param settle receives each job's outcome with the tag it was queued with, and the job
   */
  constructor(
    private readonly run: (jobs: readonly Job[]) => Outcome[],
    private readonly settle: (tag: Tag, outcome: Outcome, job: Job) => void,
  ) {}

  push(job: Job, tag: Tag): void {
    this.waiting.push({ job, tag });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /** Runs everything queued now (also at close). */
  drain(): void {
    this.scheduled = false;
    const batch = this.waiting;
    this.waiting = [];
    if (batch.length === 0) return;
    const outcomes = this.run(batch.map((entry) => entry.job));
    batch.forEach((entry, i) => this.settle(entry.tag, outcomes[i] as Outcome, entry.job));
  }
}
