/**
 * IDLE (RFC 2177) and mailbox notifications.
 *
 * The engine asks a "notifier" for changes whenever a listener is woken, and sends them as
 * EXISTS / EXPUNGE / FETCH at once to an idling client, or after the next command that allows
 * them (RFC 3501 §7: never during FETCH, STORE or SEARCH). kzymy's notifier is woken by the
 * new-mail events every daemon receives over Redis (src/redis/new-mail.ts), and by changes other
 * sessions in this process make; it then compares the store with what the client was told.
 *
 * New messages are announced only above the highest UID the client knows, so the client's UID
 * list stays ascending; one that commits out of order (two daemons drawing UIDs at once) is seen
 * at the next SELECT.
 */
import type { ImapSession, ImapUpdate, Notifier } from '@zone-eu/wildduck/imap-core';
import type { NewMailSubscriber } from '../redis/new-mail';
import { settle } from '../mailbox-access/settle';
import { flagKey } from './select';
import type { ImapContext } from './session';

export class ImapNotifier implements Notifier {
  /** userId -> listening sessions and the engine's wake-up callbacks. */
  private readonly listeners = new Map<string, Map<ImapSession, () => void>>();

  constructor(private readonly ctx: ImapContext) {}

  /** Follows new-mail events; returns the unsubscribe function. */
  follow(subscriber: NewMailSubscriber): () => void {
    return subscriber.on((event) => this.wake(event.userId));
  }

  addListener(session: ImapSession, handler: () => void): void {
    const userId = session.user?.id;
    if (!userId) return;
    let sessions = this.listeners.get(userId);
    if (!sessions) {
      sessions = new Map();
      this.listeners.set(userId, sessions);
    }
    sessions.set(session, handler);
  }

  removeListener(session: ImapSession): void {
    const userId = session.user?.id;
    if (!userId) return;
    const sessions = this.listeners.get(userId);
    sessions?.delete(session);
    if (sessions?.size === 0) this.listeners.delete(userId);
  }

  /** Asks every listening session of a user (but `except`) to look for changes. */
  wake(userId: string, except?: ImapSession): void {
    const sessions = this.listeners.get(userId);
    if (!sessions) return;
    for (const [session, handler] of sessions) {
      if (session === except) continue;
      // The engine's handler runs engine code; keep its failures away from the event loop.
      setImmediate(() => {
        try {
          handler();
        } catch (error) {
          this.ctx.onError(error, 'notify');
        }
      });
    }
  }

  getUpdates(
    mailbox: string,
    _modifyIndex: number,
    callback: (error: Error | null, updates?: ImapUpdate[]) => void,
  ): void {
    settle(
      () => this.changes(mailbox),
      (outcome) => (outcome.ok ? callback(null, outcome.value) : callback(outcome.error)),
      (error) => this.ctx.onError(error, 'notify'),
    );
  }

  /** What changed in the store since the client of this view was last told. */
  private async changes(viewKey: string): Promise<ImapUpdate[]> {
    const state = this.ctx.sessions.byViewKey(viewKey);
    const view = state?.view;
    const userId = state?.user?.id;
    if (!view || view.key !== viewKey || !userId) return [];
    const messages = await this.ctx.deps.store.messages.list(userId);
    const updates: ImapUpdate[] = [];
    const present = new Set<number>();
    let highest = 0;
    for (const uid of view.known) highest = Math.max(highest, uid);
    for (const message of messages) {
      present.add(message.uid);
      const flags = flagKey(message.flags);
      if (view.known.has(message.uid)) {
        if (view.flags.get(message.uid) !== flags) {
          view.flags.set(message.uid, flags);
          updates.push({
            command: 'FETCH',
            uid: message.uid,
            flags: message.flags,
            modseq: ++view.modseq,
          });
        }
      } else if (message.uid > highest) {
        view.known.add(message.uid);
        view.flags.set(message.uid, flags);
        updates.push({ command: 'EXISTS', uid: message.uid, modseq: ++view.modseq });
      }
    }
    for (const uid of [...view.known]) {
      if (present.has(uid)) continue;
      view.known.delete(uid);
      view.flags.delete(uid);
      updates.push({ command: 'EXPUNGE', uid, modseq: ++view.modseq });
    }
    return updates;
  }
}
