/**
 * The writer thread: one connection that runs every write of this process (writes.ts), so a
 * commit's sync, and a wait for another process's write lock, never stop the event loop that
 * serves SMTP or IMAP connections (docs/decisions/0005). It also keeps the file small and clean
 * on a schedule (the WAL checkpoint and free-page reclaim of `maintain`).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { reusable } from './chunks';
import type { FromWorker, Job, ToWorker, WriterSettings } from './jobs';
import { JobQueue } from './queue';
import { openConnection } from './schema';
import { toJobError, Writes } from './writes';

const port = parentPort;
if (!port) throw new Error('worker.ts runs as a worker thread');
const settings = workerData as WriterSettings;
const post = (message: FromWorker, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(message, transfer);

let writes: Writes;
let db: ReturnType<typeof openConnection>;
try {
  db = openConnection(settings.file, { busyTimeoutMs: settings.busyTimeoutMs, create: true });
  writes = new Writes(db);
} catch (error) {
  post({ failed: toJobError(error) });
  process.exit(1);
}

const queue = new JobQueue<number>(
  (jobs) => writes.runAll(jobs, settings.group),
  (id, outcome, job) => {
    // The chunks' buffers go back whatever the outcome: the rows hold copies of their bytes.
    const buffers = reusable(job);
    post({ id, outcome, buffers }, buffers);
  },
);
const maintain = (checkpointBusyMs: number): Job => ({
  op: 'maintain',
  vacuumFreePages: settings.vacuumFreePages,
  checkpointBusyMs,
});
// Maintenance waits briefly for other processes and tries again next time. Tagged -1: its
// outcome is nobody's reply.
const timer = setInterval(() => queue.push(maintain(1000), -1), settings.maintenanceMs);
timer.unref();

port.on('message', (message: ToWorker) => {
  if ('close' in message) {
    clearInterval(timer);
    queue.drain();
    // At shutdown the log is emptied and truncated too; a little longer wait for readers.
    writes.runAll([maintain(5000)], false);
    db.close();
    post({ closed: true });
    port.close();
    return;
  }
  queue.push(message.job, message.id);
});
post({ ready: true });
