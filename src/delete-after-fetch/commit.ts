/**
 * The two writes of delete-after-fetch (docs/fetching.md):
 *
 * - `markReceived` when a client has received a message whole: sets `fetchedAt`, which starts
 *   the grace period the sweeper enforces if the session never ends cleanly;
 * - `commitReceived` at the commit point (IMAP LOGOUT, POP3 QUIT): deletes outright, chunks and
 *   all, with the quota updated by the store.
 */
import type { DaemonDeps } from '../daemon-deps';
import type { MailProtocol } from '../mailbox-access/login';

export async function markReceived(
  deps: DaemonDeps,
  userId: string,
  messageIds: string[],
): Promise<void> {
  if (messageIds.length === 0) return;
  await deps.store.messages.markFetched(userId, messageIds, deps.clock());
}

/** Deletes the given messages of one user; returns how many this call removed. */
export async function commitReceived(
  deps: DaemonDeps,
  protocol: MailProtocol,
  userId: string,
  messageIds: string[],
): Promise<number> {
  if (messageIds.length === 0) return 0;
  const removed = await deps.store.messages.remove(userId, messageIds);
  deps.logger.info(`${protocol}.committed`, { deleted: removed });
  // Counted at the commit point: a fetch that was never committed is not "fetched" yet.
  for (let i = 0; i < removed; i++) deps.metrics.messageFetched(protocol);
  deps.metrics.messagesDeleted('fetched', removed);
  return removed;
}
