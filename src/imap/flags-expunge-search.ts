/**
 * STORE (RFC 3501 §6.4.6), EXPUNGE and CLOSE (§6.4.3, §6.4.2), UID EXPUNGE (RFC 4315 §2.1) and
 * SEARCH (§6.4.4), with their UID forms. Every store call carries the logged-in user's id, and
 * UIDs come from this session's own list, so no sequence number or UID reaches another user's
 * messages.
 */
import type {
  IMAPServer,
  ImapSession,
  QueryMessage,
  StoreUpdate,
} from '@zone-eu/wildduck/imap-core';
import Indexer from '@zone-eu/wildduck/imap-core/lib/indexer/indexer';
import { headerLength } from '../mailbox-access/content';
import { settle } from '../mailbox-access/settle';
import type { StoredMessage } from '../store/types';
import { flagKey, isReadOnly } from './select';
import { requireUser, type ImapContext } from './session';

/** Flags a message may carry; keywords are client metadata, so keep them few and short. */
const MAX_FLAGS = 32;
const MAX_FLAG_LENGTH = 64;

export function installStoreExpungeSearch(server: IMAPServer, ctx: ImapContext): void {
  server.onStore = (_mailbox, update, session, callback) => {
    settle<true>(
      () => storeFlags(ctx, session, update),
      (outcome) => (outcome.ok ? callback(null, outcome.value) : callback(outcome.error)),
      (error) => ctx.onError(error, 'store'),
    );
  };

  server.onExpunge = (mailbox, update, session, callback) => {
    const state = ctx.sessions.get(session);
    settle<true>(
      async () => {
        const user = requireUser(state);
        const view = state.view;
        if (!view || view.key !== mailbox) return true;
        const byUid = await listByUid(ctx, user.id);
        // EXPUNGE and CLOSE: every \Deleted message of the session's view; UID EXPUNGE: those
        // of the given UIDs only (RFC 4315 §2.1).
        const candidates = update.isUid ? (update.messages ?? []) : [...view.uidList];
        const doomed = candidates
          .map((uid) => byUid.get(uid))
          .filter((message): message is StoredMessage => !!message?.flags.includes('\\Deleted'))
          .sort((a, b) => a.uid - b.uid);
        if (doomed.length === 0) return true;
        const removed = await ctx.deps.store.messages.remove(
          user.id,
          doomed.map((message) => message.id),
        );
        ctx.deps.logger.info('imap.expunged', { deleted: removed });
        ctx.deps.metrics.messagesDeleted('expunged', removed);
        for (const message of doomed) {
          view.known.delete(message.uid);
          view.flags.delete(message.uid);
          // RFC 3501 §7.4.1: one EXPUNGE each, numbered as the client sees the list at that
          // moment; formatResponse takes the UID out of the list as it goes. CLOSE is silent.
          if (!update.silent) {
            session.writeStream.write(session.formatResponse('EXPUNGE', message.uid));
          }
        }
        ctx.wake(user.id, session);
        return true;
      },
      (outcome) => (outcome.ok ? callback(null, outcome.value) : callback(outcome.error)),
      (error) => ctx.onError(error, 'expunge'),
    );
  };

  server.onSearch = (_mailbox, options, session, callback) => {
    const state = ctx.sessions.get(session);
    settle<{ uidList: number[] }>(
      async () => {
        const user = requireUser(state);
        const view = state.view;
        if (!view) return { uidList: [] };
        const byUid = await listByUid(ctx, user.id);
        // Searching text can only see the stub outer headers and the ciphertext.
        const needsHeader = options.terms.some((term) => term === 'header' || term === 'date');
        const needsBody = options.terms.some((term) => term === 'body' || term === 'text');
        const matches: number[] = [];
        for (const uid of [...view.uidList]) {
          const message = byUid.get(uid);
          if (!message) continue;
          const candidate: QueryMessage = {
            uid,
            flags: message.flags,
            idate: message.arrivedAt,
            size: message.size,
            modseq: 1,
          };
          if (needsBody) {
            candidate.mimeTree = new Indexer().parseMimeTree(
              await ctx.deps.store.messages.read(user.id, message),
            );
          } else if (needsHeader) {
            const end = await headerLength(ctx.deps.store.messages, user.id, message);
            candidate.mimeTree = new Indexer().parseMimeTree(
              await ctx.deps.store.messages.readRange(user.id, message, 0, end),
            );
          }
          if (await matchesQuery(session, candidate, options.query)) matches.push(uid);
        }
        return { uidList: matches };
      },
      (outcome) => (outcome.ok ? callback(null, outcome.value) : callback(outcome.error)),
      (error) => ctx.onError(error, 'search'),
    );
  };
}

async function storeFlags(
  ctx: ImapContext,
  session: ImapSession,
  update: StoreUpdate,
): Promise<true> {
  const state = ctx.sessions.get(session);
  const user = requireUser(state);
  // RFC 3501 §6.3.2: nothing changes in a mailbox opened with EXAMINE (the engine lets UID
  // STORE through; STORE it answers itself).
  if (isReadOnly(session)) return true;
  const byUid = await listByUid(ctx, user.id);
  const results: { uid: number; flags: string[] }[] = [];
  // Messages that end with the same flags are written together: `STORE 1:* +FLAGS (\Deleted)`
  // is one database update, not one per message.
  const changes = new Map<string, { flags: string[]; ids: string[] }>();
  for (const uid of update.messages) {
    const message = byUid.get(uid);
    if (!message) continue;
    const next = applyFlags(message.flags, update);
    const key = flagKey(next);
    if (key !== flagKey(message.flags)) {
      const group = changes.get(key) ?? { flags: next, ids: [] };
      group.ids.push(message.id);
      changes.set(key, group);
    }
    results.push({ uid, flags: next });
  }
  for (const { flags, ids } of changes.values()) {
    await ctx.deps.store.messages.setFlags(user.id, ids, flags);
  }
  for (const { uid, flags } of results) {
    state.view?.flags.set(uid, flagKey(flags));
    if (!update.silent) {
      // RFC 3501 §6.4.6: the new flags of each message (and its UID for UID STORE). A message
      // expunged by another session meanwhile still answers; its EXPUNGE follows.
      session.writeStream.write(
        session.formatResponse('FETCH', uid, { uid: update.isUid ? uid : false, flags }),
      );
    }
  }
  if (changes.size > 0) ctx.wake(user.id, session);
  return true;
}

export function applyFlags(current: string[], update: StoreUpdate): string[] {
  const wanted = update.value.filter((flag) => flag.length <= MAX_FLAG_LENGTH);
  const lower = (flags: string[]): Set<string> => new Set(flags.map((flag) => flag.toLowerCase()));
  let next: string[];
  switch (update.action) {
    case 'set':
      next = [...wanted];
      break;
    case 'add': {
      const have = lower(current);
      next = [...current, ...wanted.filter((flag) => !have.has(flag.toLowerCase()))];
      break;
    }
    case 'remove': {
      const drop = lower(wanted);
      next = current.filter((flag) => !drop.has(flag.toLowerCase()));
      break;
    }
  }
  return [...new Set(next)].slice(0, MAX_FLAGS);
}

async function listByUid(ctx: ImapContext, userId: string): Promise<Map<number, StoredMessage>> {
  const messages = await ctx.deps.store.messages.list(userId);
  return new Map(messages.map((message) => [message.uid, message]));
}

function matchesQuery(
  session: ImapSession,
  message: QueryMessage,
  query: unknown[],
): Promise<boolean> {
  return new Promise((resolve, reject) =>
    session.matchSearchQuery(message, query, (error, match) =>
      error ? reject(error) : resolve(!!match),
    ),
  );
}
