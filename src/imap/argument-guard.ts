/**
 * imap-core's command modules read their parsed arguments without checking their types. NIL
 * where they expect a string or a list threw a TypeError out of the engine's socket handler,
 * which ends the process: `a ID (NIL NIL)` before any login, and after it `SEARCH NIL`,
 * `UID SEARCH (NIL)`, `FETCH 1 NIL`, `LSUB NIL NIL` (found by fuzzing, docs/fuzzing.md).
 *
 * Every command module's handler is wrapped, for kzymy's servers only: an exception thrown while
 * the engine handles a command is the client's arguments meeting the engine's assumptions, so
 * the command is answered BAD (RFC 3501 §7.1.5: "the client command ... contains invalid
 * arguments") and the session goes on. An error in kzymy's own handlers never arrives here: they
 * answer through settle() (src/mailbox-access/settle.ts).
 */
import type { CommandModule, IMAPConnection } from '@zone-eu/wildduck/imap-core';
import append from '@zone-eu/wildduck/imap-core/lib/commands/append';
import authenticatePlain from '@zone-eu/wildduck/imap-core/lib/commands/authenticate-plain';
import capability from '@zone-eu/wildduck/imap-core/lib/commands/capability';
import check from '@zone-eu/wildduck/imap-core/lib/commands/check';
import close from '@zone-eu/wildduck/imap-core/lib/commands/close';
import compress from '@zone-eu/wildduck/imap-core/lib/commands/compress';
import copy from '@zone-eu/wildduck/imap-core/lib/commands/copy';
import create from '@zone-eu/wildduck/imap-core/lib/commands/create';
import deleteCommand from '@zone-eu/wildduck/imap-core/lib/commands/delete';
import enable from '@zone-eu/wildduck/imap-core/lib/commands/enable';
import expunge from '@zone-eu/wildduck/imap-core/lib/commands/expunge';
import fetch from '@zone-eu/wildduck/imap-core/lib/commands/fetch';
import getQuota from '@zone-eu/wildduck/imap-core/lib/commands/getquota';
import getQuotaRoot from '@zone-eu/wildduck/imap-core/lib/commands/getquotaroot';
import id from '@zone-eu/wildduck/imap-core/lib/commands/id';
import idle from '@zone-eu/wildduck/imap-core/lib/commands/idle';
import list from '@zone-eu/wildduck/imap-core/lib/commands/list';
import login from '@zone-eu/wildduck/imap-core/lib/commands/login';
import logout from '@zone-eu/wildduck/imap-core/lib/commands/logout';
import lsub from '@zone-eu/wildduck/imap-core/lib/commands/lsub';
import move from '@zone-eu/wildduck/imap-core/lib/commands/move';
import namespace from '@zone-eu/wildduck/imap-core/lib/commands/namespace';
import noop from '@zone-eu/wildduck/imap-core/lib/commands/noop';
import rename from '@zone-eu/wildduck/imap-core/lib/commands/rename';
import search from '@zone-eu/wildduck/imap-core/lib/commands/search';
import select from '@zone-eu/wildduck/imap-core/lib/commands/select';
import setQuota from '@zone-eu/wildduck/imap-core/lib/commands/setquota';
import starttls from '@zone-eu/wildduck/imap-core/lib/commands/starttls';
import status from '@zone-eu/wildduck/imap-core/lib/commands/status';
import store from '@zone-eu/wildduck/imap-core/lib/commands/store';
import subscribe from '@zone-eu/wildduck/imap-core/lib/commands/subscribe';
import uidExpunge from '@zone-eu/wildduck/imap-core/lib/commands/uid-expunge';
import uidStore from '@zone-eu/wildduck/imap-core/lib/commands/uid-store';
import unselect from '@zone-eu/wildduck/imap-core/lib/commands/unselect';
import unsubscribe from '@zone-eu/wildduck/imap-core/lib/commands/unsubscribe';
import xapplepushservice from '@zone-eu/wildduck/imap-core/lib/commands/xapplepushservice';
import { engineError, IMAP_REPLIES } from './replies';

/** Every module imap-core/lib/imap-command.js dispatches to (imap-core 1.46.15). */
const MODULES: readonly CommandModule[] = [
  append,
  authenticatePlain,
  capability,
  check,
  close,
  compress,
  copy,
  create,
  deleteCommand,
  enable,
  expunge,
  fetch,
  getQuota,
  getQuotaRoot,
  id,
  idle,
  list,
  login,
  logout,
  lsub,
  move,
  namespace,
  noop,
  rename,
  search,
  select,
  setQuota,
  starttls,
  status,
  store,
  subscribe,
  uidExpunge,
  uidStore,
  unselect,
  unsubscribe,
  xapplepushservice,
];

let installed = false;

/**
 * Wraps every command module once per process. `guarded(connection)` returns the hook to tell
 * of a refused command for connections of kzymy's servers, and null for any other server.
 */
export function guardCommandArguments(
  guarded: (connection: IMAPConnection) => ((error: unknown) => void) | null,
): void {
  if (installed) return;
  installed = true;
  for (const module of MODULES) {
    const original = module.handler;
    module.handler = function (command, callback, next) {
      const refused = guarded(this);
      if (!refused) return original.call(this, command, callback, next);
      let answered = false;
      const answer: typeof callback = (error, result) => {
        answered = true;
        callback(shortened(error), result);
      };
      try {
        original.call(this, command, answer, next);
      } catch (error) {
        refused(error);
        if (!answered) callback(engineError(IMAP_REPLIES.invalidArguments));
      }
    };
  }
}

/** The longest error text of the engine's own the client gets; longer ones are cut. */
const MAX_ERROR_TEXT = 64;

/** kzymy's own replies (src/imap/replies.ts) are sent whole: none carries the client's words. */
const OWN_TEXTS: ReadonlySet<string> = new Set(
  Object.values(IMAP_REPLIES).map((reply) => reply.message),
);

/**
 * The engine writes an error's message after `BAD` or `NO`, and some messages carry the client's
 * own words: `SEARCH <a 60 KB term>` came back as "Unknown search term <the 60 KB>" (found by
 * fuzzing). Long bad input is never echoed (docs/threat-model.md), so the text is cut, unless it is
 * one of kzymy's own replies.
 */
function shortened<E extends Error | null>(error: E): E {
  if (!error || error.message.length <= MAX_ERROR_TEXT || OWN_TEXTS.has(error.message)) {
    return error;
  }
  error.message = `${error.message.slice(0, MAX_ERROR_TEXT - 3)}...`;
  return error;
}
