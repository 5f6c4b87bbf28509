/**
 * IDLE (RFC 2177) and mailbox notifications.
 *
 * The engine asks a "notifier" for changes whenever a listener is woken, and sends them as
 * EXISTS / EXPUNGE / FETCH at once to an idling client, or after the next command that allows
 * them (RFC 3501 §7: never during FETCH, STORE or SEARCH). kzymy's notifier is woken by the
 * new-mail events every daemon receives over Redis (src/events/new-mail.ts), and by changes other
 * sessions in this process make; it then compares the store with what the client was told.
 *
 * New messages are announced only above the highest UID the client knows, so the client's UID
 * list stays ascending; one that commits out of order (two daemons drawing UIDs at once) is seen
 * at the next SELECT.
 *
 * A session is never woken while the engine is asking for its updates: it is woken once they are
 * delivered instead. The engine's own way of catching a wake-up that arrives meanwhile
 * (imap-core 1.46.15, imap-connection.js `recheckPending`) calls the listener in a setImmediate
 * without checking that the connection still has one, and throws out of the event loop — taking
 * the daemon down — when the client logged out in between.
 */
import type { ImapSession, ImapUpdate, Notifier } from '@zone-eu/wildduck/imap-core';
import type { NewMailSubscriber } from '../events/new-mail';
import { settle } from '../mailbox/settle';
import { flagKey } from './select';
import type { ImapContext } from './session';

export class ImapNotifier implements Notifier {
  /** userId -> listening sessions and the engine's wake-up callbacks. */
  private readonly listeners = new Map<string, Map<ImapSession, () => void>>();
  /** Selected views whose updates the engine is waiting for, and those woken meanwhile. */
  private readonly asking = new Set<string>();
  private readonly wokenWhileAsking = new Set<string>();

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
    for (const session of sessions.keys()) {
      if (session !== except) this.wakeOne(userId, session);
    }
  }

  private wakeOne(userId: string, session: ImapSession): void {
    setImmediate(() => {
      // Still listening? A session that logged out meanwhile has no listener left to call.
      const handler = this.listeners.get(userId)?.get(session);
      if (!handler) return;
      // Checked now, not when the wake was scheduled: the engine may have started asking since.
      const viewKey = this.ctx.sessions.get(session).view?.key;
      if (viewKey && this.asking.has(viewKey)) {
        this.wokenWhileAsking.add(viewKey);
        return;
      }
      // The engine's handler runs engine code; keep its failures away from the event loop.
      try {
        handler();
      } catch (error) {
        this.ctx.onError(error, 'notify');
      }
    });
  }

  getUpdates(
    mailbox: string,
    _modifyIndex: number,
    callback: (error: Error | null, updates?: ImapUpdate[]) => void,
  ): void {
    this.asking.add(mailbox);
    settle(
      () => this.changes(mailbox),
      (outcome) => {
        this.asking.delete(mailbox);
        if (outcome.ok) callback(null, outcome.value);
        else callback(outcome.error);
        // Woken while the engine was asking: it asks again now, through wakeOne.
        if (this.wokenWhileAsking.delete(mailbox)) {
          const state = this.ctx.sessions.byViewKey(mailbox);
          const userId = state?.user?.id;
          const session = userId && this.sessionOf(userId, state);
          if (userId && session) this.wakeOne(userId, session);
        }
      },
      (error) => this.ctx.onError(error, 'notify'),
    );
  }

  /** The listening engine session whose kzymy state is `state`. */
  private sessionOf(userId: string, state: unknown): ImapSession | undefined {
    for (const session of this.listeners.get(userId)?.keys() ?? []) {
      if (this.ctx.sessions.get(session) === state) return session;
    }
    return undefined;
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
