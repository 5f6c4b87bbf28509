/**
 * kzymy's state for one IMAP connection, kept beside the engine's session object: who is logged
 * in, what this session has received (the ledger that LOGOUT commits), the selected INBOX as the
 * client knows it, and per-message values computed from the ciphertext (never stored).
 */
import type { IMAPConnection, ImapSession } from '@zone-eu/wildduck/imap-core';
import type { DaemonDeps } from '../daemon-deps';
import { FetchLedger } from '../delete-after-fetch/ledger';

/** The selected mailbox as this client has been told about it. */
export interface SelectedView {
  /** Opaque id handed to the engine as the mailbox `_id`; new on every SELECT/EXAMINE. */
  key: string;
  /** The engine's own UID list (same array): sequence numbers are indexes into it. */
  uidList: number[];
  /** UIDs announced to the client (listed at SELECT or sent as EXISTS), minus expunged ones. */
  known: Set<number>;
  /** Flags last sent or set per UID, to notice changes made by other sessions. */
  flags: Map<number, string>;
  modseq: number;
}

/** Values computed from a message's bytes, cached for the session only. */
export interface MessageFacts {
  headerLength?: number;
  envelope?: unknown;
  bodystructure?: unknown;
  body?: unknown;
}

export class ImapSessionState {
  connection: IMAPConnection | null = null;
  user: { id: string; username: string } | null = null;
  readonly ledger = new FetchLedger();
  /** Aborted when the connection closes, however it closes. */
  readonly closed = new AbortController();
  view: SelectedView | null = null;
  /** LOGOUT ran its commit. */
  loggedOut = false;
  readonly facts = new Map<string, MessageFacts>();
  private selects = 0;

  constructor(readonly id: string) {}

  nextViewKey(): string {
    this.selects += 1;
    return `${this.id}.${this.selects}`;
  }

  factsOf(messageId: string): MessageFacts {
    let facts = this.facts.get(messageId);
    if (!facts) {
      facts = {};
      this.facts.set(messageId, facts);
    }
    return facts;
  }
}

/** Finds kzymy's state from the engine's session (and from a selected mailbox key). */
export class SessionTable {
  private readonly states = new WeakMap<ImapSession, ImapSessionState>();
  private readonly byView = new Map<string, ImapSessionState>();

  get(session: ImapSession): ImapSessionState {
    let state = this.states.get(session);
    if (!state) {
      state = new ImapSessionState(session.id);
      this.states.set(session, state);
    }
    return state;
  }

  select(state: ImapSessionState, view: SelectedView): void {
    if (state.view) this.byView.delete(state.view.key);
    state.view = view;
    this.byView.set(view.key, state);
  }

  byViewKey(key: string): ImapSessionState | undefined {
    return this.byView.get(key);
  }

  forget(session: ImapSession): ImapSessionState | undefined {
    const state = this.states.get(session);
    if (state?.view) this.byView.delete(state.view.key);
    this.states.delete(session);
    return state;
  }
}

/** Everything the handler families share. */
export interface ImapContext {
  deps: DaemonDeps;
  sessions: SessionTable;
  /** Wakes other sessions of a user in this process after a change (src/imap/idle.ts). */
  wake(userId: string, except?: ImapSession): void;
  /** Logs an unexpected error without its message text (which may quote data). */
  onError(error: unknown, where: string): void;
}

/** Thrown when a handler needs a logged-in user and there is none (cannot happen via the engine). */
export function requireUser(state: ImapSessionState): { id: string; username: string } {
  if (!state.user) throw new Error('no user in session');
  return state.user;
}
