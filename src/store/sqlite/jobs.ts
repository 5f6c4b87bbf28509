/**
 * Every write of the SQLite engine is a job: plain data, so it can cross to the writer thread
 * (writer.ts) and be run there in a transaction (writes.ts). Reads never are (reads.ts).
 */
import type { NewUser, PayloadFormat, StoredMessage, User } from '../types';
import type { ForwardFailureData, ForwardSettingData } from './forward-rows';

export type UserChange =
  | { kind: 'activate' }
  | { kind: 'markDeleting' }
  | { kind: 'disableAccount' }
  | { kind: 'enableAccount' }
  | { kind: 'fetchDay'; day: string }
  | { kind: 'passwordHash'; passwordHash: string }
  | { kind: 'key'; fingerprint: string; publicKey: string }
  | { kind: 'catchAll'; catchAll: boolean }
  | { kind: 'payloadFormat'; format: PayloadFormat }
  | { kind: 'allow' | 'disable' | 'forget'; local: string }
  /** The forwarding destination, whole (null: forwarding stopped). */
  | { kind: 'forward'; forward: ForwardSettingData | null }
  /** The destination's last refusal, only while the destination is still `address`. */
  | { kind: 'forwardFailure'; address: string; failure: ForwardFailureData | null }
  | { kind: 'sending'; enabled?: boolean; signAsNym?: boolean };

/** One forwarding lease or refusal, for the cleanup pass (forwards.ts). */
export interface ForwardEntry {
  kind: 'lease' | 'refused';
  userId: string;
  messageId: string;
}

/** What each job carries, by name. */
export interface JobArgs {
  createUser: { input: NewUser; createdAt: number };
  updateUser: { userId: string; change: UserChange };
  /**
   * A message: its ciphertext either in `chunks` (each CHUNK_BYTES but the last) or staged
   * earlier under `stage` (a large message written while it was encrypted). Chunks, here and in
   * stageAppend, are buffers of their own (chunks.ts) handed over with the job: the writer moves
   * them to its thread and back, and the caller does not touch them again.
   */
  deliver: {
    userId: string;
    arrivedAt: number;
    size: number;
    encryptedTo?: string;
    chunks?: Uint8Array[];
    stage?: number;
  };
  /** One chunk of a message still being produced, kept aside until its deliver job. */
  stageAppend: { stage: number; n: number; data: Uint8Array };
  stageDrop: { stage: number };
  markFetched: { userId: string; messageIds: string[]; at: number };
  setFlags: { userId: string; messageIds: string[]; flags: string[] };
  remove: { userId: string; messageIds: string[] };
  purgeUser: { userId: string };
  deleteUser: { userId: string };
  /** WAL checkpoint and free-page reclaim (maintenance.ts). */
  maintain: { vacuumFreePages: number; checkpointBusyMs: number };
  /**
   * The forwarding worker's claims (forwards.ts): a lease for `holder` until `until`, taken if
   * there is none or the one there ended before `now`.
   */
  forwardClaim: { userId: string; messageId: string; holder: string; now: number; until: number };
  forwardRelease: { userId: string; messageId: string; holder: string };
  /** The refusal written and the holder's lease released, in one transaction. */
  forwardRefuse: {
    userId: string;
    messageId: string;
    holder: string;
    failure: ForwardFailureData;
  };
  forwardForget: { userId: string };
  forwardPurge: { userId: string };
  forwardRemove: { entries: ForwardEntry[] };
}

export interface MaintenanceReport {
  /** Whether the log was emptied and truncated (false: a reader or writer was in the way). */
  truncated: boolean;
  /** Free pages given back to the file system. */
  reclaimedPages: number;
}

export interface JobResults {
  createUser: User;
  updateUser: boolean;
  deliver: StoredMessage;
  stageAppend: null;
  stageDrop: null;
  markFetched: null;
  setFlags: number;
  remove: number;
  purgeUser: null;
  deleteUser: boolean;
  maintain: MaintenanceReport;
  /** Whether this job took the lease. */
  forwardClaim: boolean;
  forwardRelease: null;
  forwardRefuse: null;
  /** How many refusals went. */
  forwardForget: number;
  forwardPurge: null;
  /** How many leases and refusals went. */
  forwardRemove: number;
}

export type JobName = keyof JobArgs;
export type Job = { [K in JobName]: { op: K } & JobArgs[K] }[JobName];
export type JobOf<K extends JobName> = { op: K } & JobArgs[K];

/** An error as it crosses threads: the name is what callers tell errors apart by. */
export interface JobError {
  name: string;
  message: string;
  code?: string;
}

export type Outcome = { ok: true; value: unknown } | { ok: false; error: JobError };

/** Jobs that touch only the writer's private staging table, never the shared file. */
export function isStaging(job: Job): boolean {
  return job.op === 'stageAppend' || job.op === 'stageDrop';
}

/** What the writer thread is started with (writer.ts → worker.ts). */
export interface WriterSettings {
  file: string;
  busyTimeoutMs: number;
  group: boolean;
  /** How often the log is checkpointed and truncated, and free pages reclaimed. */
  maintenanceMs: number;
  /** Free pages are given back to the file system once at least this many are free. */
  vacuumFreePages: number;
}

/** The messages between the writer and its thread. */
export type ToWorker = { id: number; job: Job } | { close: true };
export type FromWorker =
  | { ready: true }
  | { failed: { name: string; message: string } }
  /** `buffers`: the job's full-chunk buffers, moved back to be filled again (chunks.ts). */
  | { id: number; outcome: Outcome; buffers: ArrayBuffer[] }
  | { closed: true };
