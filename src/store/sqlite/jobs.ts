/**
 * Every write of the SQLite engine is a job: plain data, so it can cross to the writer thread
 * (writer.ts) and be run there in a transaction (writes.ts). Reads never are (reads.ts).
 */
import type { NewUser, PayloadFormat, StoredMessage, User } from '../types';

export type UserChange =
  | { kind: 'activate' }
  | { kind: 'markDeleting' }
  | { kind: 'passwordHash'; passwordHash: string }
  | { kind: 'key'; fingerprint: string; publicKey: string }
  | { kind: 'catchAll'; catchAll: boolean }
  | { kind: 'payloadFormat'; format: PayloadFormat }
  | { kind: 'allow' | 'disable' | 'forget'; local: string };

/** What each job carries, by name. */
export interface JobArgs {
  createUser: { input: NewUser; createdAt: number };
  updateUser: { userId: string; change: UserChange };
  /**
   * A message: its ciphertext either in `chunks` (each CHUNK_BYTES but the last) or staged
   * earlier under `stage` (a large message written while it was encrypted).
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
