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
import type { ImapContext, ImapSessionState } from './session';

export class ImapNotifier implements Notifier {
  /** userId -> listening sessions and the engine's wake-up callbacks. */
  private readonly listeners = new Map<string, Map<ImapSession, () => void>>();
  /**
   * Sessions woken and not yet answered, and whether another wake-up came meanwhile. The engine
   * has a race of its own: a wake-up while its getUpdates runs makes it schedule another one
   * (imap-connection.js `recheckPending`), which throws in a later tick if the session logged out
   * in between (`_listenerData` is then false) and takes the daemon down. So a session has at
   * most one wake-up in flight, from scheduling to the answer, and is woken once more afterwards
   * if one came meanwhile and it still listens.
   */
  private readonly inFlight = new WeakMap<ImapSessionState, { again: boolean; asked: boolean }>();

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
      if (session !== except) this.wakeSession(this.ctx.sessions.get(session), handler);
    }
  }

  private wakeSession(state: ImapSessionState, handler: () => void): void {
    const busy = this.inFlight.get(state);
    if (busy) {
      busy.again = true;
      return;
    }
    const entry = { again: false, asked: false };
    this.inFlight.set(state, entry);
    // The engine's handler runs engine code; keep its failures away from the event loop.
    setImmediate(() => {
      try {
        handler();
      } catch (error) {
        this.ctx.onError(error, 'notify');
      }
      // The handler asks for updates at once when it goes ahead (a mailbox is selected, the
      // session is open); when it did not, nothing is in flight.
      if (!entry.asked && this.inFlight.get(state) === entry) this.inFlight.delete(state);
    });
  }

  /** Wakes the session of `state` once more, if it still listens. */
  private wakeState(state: ImapSessionState): void {
    if (!state.user) return;
    for (const [session, handler] of this.listeners.get(state.user.id) ?? []) {
      if (this.ctx.sessions.get(session) === state) this.wakeSession(state, handler);
    }
  }

  getUpdates(
    mailbox: string,
    _modifyIndex: number,
    callback: (error: Error | null, updates?: ImapUpdate[]) => void,
  ): void {
    const state = this.ctx.sessions.byViewKey(mailbox);
    const entry = state && this.inFlight.get(state);
    if (entry) entry.asked = true;
    settle(
      () => this.changes(mailbox),
      (outcome) => {
        if (state && entry && this.inFlight.get(state) === entry) this.inFlight.delete(state);
        if (outcome.ok) callback(null, outcome.value);
        else callback(outcome.error);
        if (state && entry?.again) this.wakeState(state);
      },
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
