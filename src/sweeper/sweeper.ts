/**
 * The sweeper: kzymy's own expiry (no TTL indexes: docs/decisions/0001-store.md). On every run it deletes outright
 * - messages received by a client (fetchedAt set) but never committed by LOGOUT/QUIT, once
 *   `retention.fetchedGraceSeconds` have passed since fetchedAt;
 * - every message older than `retention.unfetchedSeconds`, fetched or not;
 * - ciphertext chunks without a message (a delivery that died between its writes), once older
 *   than ORPHAN_MIN_AGE_SECONDS, so a delivery still writing is never touched;
 * - pending (never activated) accounts older than `retention.pendingSeconds`.
 * Several daemons may sweep at once: each deletion counts only what that call removed.
 */
import type { DaemonDeps } from '../daemon-deps';
import { errorKind } from '../log/logger';
import type { DeleteReason, StoredMessage } from '../store/types';

/** Far longer than any delivery takes between its chunk writes and its metadata write. */
export const ORPHAN_MIN_AGE_SECONDS = 3600;
const BATCH = 500;
/** A run stops after this many batches of one kind; the next run continues. */
const MAX_BATCHES = 100;

export interface SweepReport {
  graceExpired: number;
  retention: number;
  orphanChunks: number;
  pendingUsers: number;
}

export interface Sweeper {
  /** One full sweep now (also what the timer runs); concurrent calls share one run. */
  runOnce(): Promise<SweepReport>;
  /** Stops the timer and waits for a run in progress. */
  stop(): Promise<void>;
}

export function startSweeper(deps: DaemonDeps): Sweeper {
  let running: Promise<SweepReport> | undefined;
  let stopped = false;

  const runOnce = (): Promise<SweepReport> => {
    running ??= sweep(deps)
      .then((report) => {
        deps.metrics.sweepFinished(deps.clock());
        return report;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  const timer = setInterval(() => {
    if (stopped) return;
    runOnce().catch((error: unknown) =>
      deps.logger.error('sweep.error', { kind: errorKind(error) }),
    );
  }, deps.config.retention.sweepIntervalSeconds * 1000);
  // The servers keep the daemon alive; the sweeper alone must not.
  timer.unref();

  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
  };
}

async function sweep(deps: DaemonDeps): Promise<SweepReport> {
  const now = deps.clock().getTime();
  const retention = deps.config.retention;
  const messages = deps.store.messages;

  const graceExpired = await removeAll(deps, 'grace-expired', () =>
    messages.fetchedBefore(new Date(now - retention.fetchedGraceSeconds * 1000), BATCH),
  );
  const retained = await removeAll(deps, 'retention', () =>
    messages.arrivedBefore(new Date(now - retention.unfetchedSeconds * 1000), BATCH),
  );
  const orphanChunks = await messages.removeOrphanChunks(
    new Date(now - ORPHAN_MIN_AGE_SECONDS * 1000),
  );
  if (orphanChunks > 0)
    deps.logger.info('sweep.deleted', { reason: 'orphan-chunks', count: orphanChunks });

  let pendingUsers = 0;
  const pending = await deps.store.users.pendingBefore(
    new Date(now - retention.pendingSeconds * 1000),
  );
  for (const user of pending) {
    if (await deps.store.deleteUser(user.id)) pendingUsers += 1;
  }
  if (pendingUsers > 0)
    deps.logger.info('sweep.deleted', { reason: 'pending-user', count: pendingUsers });

  return { graceExpired, retention: retained, orphanChunks, pendingUsers };
}

/** Deletes what `find` returns, batch after batch, until it returns nothing new. */
async function removeAll(
  deps: DaemonDeps,
  reason: DeleteReason,
  find: () => Promise<StoredMessage[]>,
): Promise<number> {
  let total = 0;
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const found = await find();
    if (found.length === 0) break;
    const byUser = new Map<string, string[]>();
    for (const message of found) {
      const ids = byUser.get(message.userId) ?? [];
      ids.push(message.id);
      byUser.set(message.userId, ids);
    }
    let removedNow = 0;
    for (const [userId, ids] of byUser) {
      removedNow += await deps.store.messages.remove(userId, ids);
    }
    total += removedNow;
    // Another sweeper took them all: the next find would return the same or fewer.
    if (removedNow === 0 || found.length < BATCH) break;
  }
  if (total > 0) {
    deps.logger.info('sweep.deleted', { reason, count: total });
    deps.metrics.messagesDeleted(reason === 'grace-expired' ? 'grace_expired' : 'retention', total);
  }
  return total;
}
