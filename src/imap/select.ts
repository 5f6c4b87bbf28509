/**
 * LIST/LSUB (RFC 3501 §6.3.8-9), SELECT/EXAMINE (§6.3.1-2) and STATUS (§6.3.10) over the one
 * mailbox a kzymy user has: INBOX.
 */
import type {
  Done,
  IMAPServer,
  ImapSession,
  ListedFolder,
  MailboxData,
  StatusData,
} from '@zone-eu/wildduck/imap-core';
import { settle } from '../mailbox-access/settle';
import { requireUser, type ImapContext } from './session';

const INBOX = 'INBOX';

/** The one mailbox kzymy has, for SELECT/EXAMINE and STATUS; any other name does not exist. */
async function loadInbox(ctx: ImapContext, state: Parameters<typeof requireUser>[0], path: string) {
  // normalizeMailbox has already upper-cased INBOX in any spelling.
  if (path !== INBOX) return 'NONEXISTENT' as const;
  const user = requireUser(state);
  const account = await ctx.deps.store.users.byId(user.id);
  if (!account) return 'NONEXISTENT' as const;
  return { account, messages: await ctx.deps.store.messages.list(user.id) };
}

export function installSelect(server: IMAPServer, ctx: ImapContext): void {
  // The engine filters this by the client's pattern and adds \HasNoChildren.
  const folders = (_query: string, _session: ImapSession, callback: Done<[ListedFolder[]]>): void =>
    callback(null, [{ path: INBOX }]);
  server.onList = folders;
  server.onLsub = folders;

  server.onOpen = (path, session, callback) => {
    const state = ctx.sessions.get(session);
    settle<MailboxData | string>(
      async () => {
        const inbox = await loadInbox(ctx, state, path);
        if (inbox === 'NONEXISTENT') return inbox;
        const { account, messages } = inbox;
        const uidList = messages.map((message) => message.uid);
        const key = state.nextViewKey();
        ctx.sessions.select(state, {
          key,
          uidList,
          known: new Set(uidList),
          flags: new Map(messages.map((message) => [message.uid, flagKey(message.flags)])),
          modseq: 0,
        });
        return {
          _id: key,
          uidList,
          uidValidity: account.uidValidity,
          uidNext: account.uidNext,
          // 0: no HIGHESTMODSEQ, kzymy does not offer CONDSTORE.
          modifyIndex: 0,
          flags: [],
        };
      },
      (outcome) => (outcome.ok ? callback(null, outcome.value) : callback(outcome.error)),
      (error) => ctx.onError(error, 'select'),
    );
  };

  server.onStatus = (path, session, callback) => {
    const state = ctx.sessions.get(session);
    settle<StatusData | string>(
      async () => {
        const inbox = await loadInbox(ctx, state, path);
        if (inbox === 'NONEXISTENT') return inbox;
        const { account, messages } = inbox;
        return {
          messages: messages.length,
          uidNext: account.uidNext,
          uidValidity: account.uidValidity,
          unseen: messages.filter((message) => !message.flags.includes('\\Seen')).length,
        };
      },
      (outcome) => (outcome.ok ? callback(null, outcome.value) : callback(outcome.error)),
      (error) => ctx.onError(error, 'status'),
    );
  };
}

/** A comparable form of a flag list. */
export function flagKey(flags: string[]): string {
  return [...flags].sort().join(' ');
}

/** Whether the client opened the mailbox with EXAMINE (the engine records it on `selected`). */
export function isReadOnly(session: ImapSession): boolean {
  return session.selected !== false && session.selected.readOnly;
}
