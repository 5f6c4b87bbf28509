/**
 * FETCH and UID FETCH (RFC 3501 §6.4.5, §6.4.8).
 *
 * What a client receives is the stored PGP/MIME message, byte for byte. The parts that are plain
 * byte ranges of it — BODY[] / RFC822, BODY[HEADER] / RFC822.HEADER, BODY[TEXT] / RFC822.TEXT,
 * each with an optional <partial> — are streamed straight from the store, never rebuilt, and
 * every range that was handed to the connection whole is recorded in the session's ledger. A
 * message whose ranges cover it is "received": fetchedAt is set now, and it is deleted when the
 * session ends with LOGOUT (docs/fetching.md). ENVELOPE, BODYSTRUCTURE, HEADER.FIELDS and MIME
 * parts are computed from the message with imap-core's indexer and cached for the session.
 */
import {
  imapHandler,
  type FetchOptions,
  type FetchQueryItem,
  type IMAPServer,
  type ImapResponse,
  type ImapSession,
  type QueryMessage,
  type StreamValue,
} from '@zone-eu/wildduck/imap-core';
import Indexer from '@zone-eu/wildduck/imap-core/lib/indexer/indexer';
import type { Socket } from 'node:net';
import type { Readable, Transform } from 'node:stream';
import { markReceived } from '../delete-after-fetch/commit';
import { MessageReader, headerLength } from '../mailbox-access/content';
import { settle } from '../mailbox-access/settle';
import { MailboxGoneError } from '../store/errors';
import type { StoredMessage } from '../store/types';
import { flagKey } from './select';
import { requireUser, type ImapContext, type ImapSessionState } from './session';

/** Literals up to this size are read at once; larger ones are streamed. */
const INLINE_LITERAL_BYTES = 64 * 1024;

type Range = [number, number];

/** The connection went away mid-response: not an error, just the end. */
export class ConnectionClosedError extends Error {
  override name = 'ConnectionClosedError';
}

/** A response failed after part of it was sent: the connection cannot go on. */
class BrokenResponseError extends Error {
  override name = 'BrokenResponseError';
}

export function installFetch(server: IMAPServer, ctx: ImapContext): void {
  server.onFetch = (_mailbox, options, session, callback) => {
    const state = ctx.sessions.get(session);
    settle<true | string>(
      async () => {
        try {
          return await fetchMessages(ctx, state, session, options);
        } catch (error) {
          if (error instanceof ConnectionClosedError) return 'UNAVAILABLE';
          if (error instanceof BrokenResponseError) {
            // A literal is half sent: the stream is out of step, so end it (RFC 3501 §7.1.5).
            ctx.onError(error.cause, 'fetch');
            state.connection?.close(true);
            return 'UNAVAILABLE';
          }
          throw error;
        }
      },
      (outcome) => (outcome.ok ? callback(null, outcome.value) : callback(outcome.error)),
      (error) => ctx.onError(error, 'fetch'),
    );
  };
}

async function fetchMessages(
  ctx: ImapContext,
  state: ImapSessionState,
  session: ImapSession,
  options: FetchOptions,
): Promise<true> {
  const user = requireUser(state);
  const store = ctx.deps.store.messages;
  const stored = new Map((await store.list(user.id)).map((message) => [message.uid, message]));
  // Marked received once per command (one update for `FETCH 1:*`). Should the command end early,
  // what was sent whole is still marked; should marking fail, the messages stay unmarked and
  // are simply fetched again next time.
  const received: string[] = [];
  try {
    await sendMessages(ctx, state, session, options, stored, received);
  } catch (error) {
    await markReceived(ctx.deps, user.id, received).catch(() => undefined);
    throw error;
  }
  await markReceived(ctx.deps, user.id, received);
  return true;
}

async function sendMessages(
  ctx: ImapContext,
  state: ImapSessionState,
  session: ImapSession,
  options: FetchOptions,
  stored: Map<number, StoredMessage>,
  received: string[],
): Promise<void> {
  const user = requireUser(state);
  const store = ctx.deps.store.messages;
  for (const uid of options.messages) {
    if (state.closed.signal.aborted) throw new ConnectionClosedError('connection closed');
    // Gone (expunged by another session or the sweeper): its EXPUNGE comes as a notification.
    const message = stored.get(uid);
    if (!message) continue;
    if (options.markAsSeen && !message.flags.includes('\\Seen')) {
      // RFC 3501 §6.4.5: BODY[...] (not .PEEK) and RFC822 set \Seen.
      const flags = [...message.flags, '\\Seen'];
      if ((await store.setFlags(user.id, [message.id], flags)) === 1) {
        message.flags = flags;
        state.view?.flags.set(uid, flagKey(flags));
      }
    }
    let resolved: Awaited<ReturnType<typeof resolveValues>>;
    try {
      resolved = await resolveValues(ctx, state, session, message, options.query);
    } catch (error) {
      // Deleted since the listing (another session's LOGOUT, the sweeper): as if gone before.
      if (error instanceof MailboxGoneError) continue;
      throw error;
    }
    const { values, ranges } = resolved;
    const response = session.formatResponse('FETCH', uid, { query: options.query, values });
    if (!response) continue;
    await send(state, session, response, values.some(isStreamValue));
    // Every byte of this response is now with the operating system, on its way to the client.
    let completed = false;
    for (const [start, end] of ranges) {
      if (state.ledger.record(message.id, message.size, start, end)) completed = true;
    }
    if (completed) received.push(message.id);
  }
}

async function resolveValues(
  ctx: ImapContext,
  state: ImapSessionState,
  session: ImapSession,
  message: StoredMessage,
  query: FetchQueryItem[],
): Promise<{ values: unknown[]; ranges: Range[] }> {
  const userId = requireUser(state).id;
  const store = ctx.deps.store.messages;
  const facts = state.factsOf(message.id);
  const header = async (): Promise<number> =>
    (facts.headerLength ??= await headerLength(store, userId, message));
  const trees = new Trees(ctx, userId, message, header);
  const values: unknown[] = [];
  const ranges: Range[] = [];

  const raw = async (start: number, end: number, item: FetchQueryItem): Promise<unknown> => {
    const [from, to] = clip(start, end, item.partial);
    ranges.push([from, to]);
    if (to <= from) return '';
    if (to - from <= INLINE_LITERAL_BYTES) {
      // A 'binary' string: the engine measures literals in characters, so one per byte.
      return (await store.readRange(userId, message, from, to)).toString('binary');
    }
    const stream: StreamValue = {
      type: 'stream',
      value: new MessageReader(store, userId, message, from, to),
      expectedLength: to - from,
    };
    return stream;
  };

  const computed = async (item: FetchQueryItem, tree: unknown): Promise<unknown> =>
    session.getQueryResponse([item], await queryMessage(message, tree), {
      acceptUTF8Enabled: false,
    })[0];

  for (const item of query) {
    switch (item.item) {
      case 'uid':
        values.push(message.uid);
        break;
      case 'flags':
        values.push(message.flags);
        break;
      case 'rfc822.size':
        values.push(message.size);
        break;
      case 'internaldate':
        values.push(message.arrivedAt);
        break;
      case 'modseq':
        // Only if a client sends CONDSTORE syntax although it is not offered.
        values.push(1);
        break;
      case 'envelope':
        values.push((facts.envelope ??= await computed(item, await trees.header())));
        break;
      case 'bodystructure':
        values.push((facts.bodystructure ??= await computed(item, await trees.full())));
        break;
      case 'rfc822':
        values.push(await raw(0, message.size, item));
        break;
      case 'rfc822.header':
        values.push(await raw(0, await header(), item));
        break;
      case 'rfc822.text':
        values.push(await raw(await header(), message.size, item));
        break;
      case 'body':
        values.push(await bodyItem(item));
        break;
      default:
        // The engine only passes items of its fetch schema; anything else is a bug upstream.
        throw new Error(`unexpected FETCH item ${item.item}`);
    }
  }
  return { values, ranges };

  async function bodyItem(item: FetchQueryItem): Promise<unknown> {
    if (item.type === undefined) {
      // BODY without a section: the non-extensible BODYSTRUCTURE.
      return (facts.body ??= await computed(item, await trees.full()));
    }
    if (item.path === '') {
      switch (item.type) {
        case 'content':
          return raw(0, message.size, item);
        case 'header':
          return raw(0, await header(), item);
        case 'text':
          return raw(await header(), message.size, item);
        case 'header.fields':
        case 'header.fields.not':
          return computed(item, await trees.header());
      }
    }
    // MIME parts ("1", "2.MIME", ...): computed from the parsed message, not counted as received.
    return computed(item, await trees.full());
  }
}

/** RFC 3501 §6.4.5 partial: <origin.count> within the section; past the end is empty. */
function clip(start: number, end: number, partial: FetchQueryItem['partial']): Range {
  if (!partial) return [start, end];
  const from = Math.min(end, start + partial.startFrom);
  const to = partial.maxLength ? Math.min(end, from + partial.maxLength) : end;
  return [from, to];
}

async function queryMessage(message: StoredMessage, mimeTree: unknown): Promise<QueryMessage> {
  return {
    uid: message.uid,
    flags: message.flags,
    idate: message.arrivedAt,
    size: message.size,
    mimeTree,
  };
}

/** Parsed MIME trees of one message, built only when an item needs them. */
class Trees {
  private headerTree?: unknown;
  private fullTree?: unknown;

  constructor(
    private readonly ctx: ImapContext,
    private readonly userId: string,
    private readonly message: StoredMessage,
    private readonly headerEnd: () => Promise<number>,
  ) {}

  /** Enough for ENVELOPE and HEADER.FIELDS: the header section alone. */
  async header(): Promise<unknown> {
    if (this.fullTree) return this.fullTree;
    if (!this.headerTree) {
      const bytes = await this.ctx.deps.store.messages.readRange(
        this.userId,
        this.message,
        0,
        await this.headerEnd(),
      );
      this.headerTree = new Indexer().parseMimeTree(bytes);
    }
    return this.headerTree;
  }

  async full(): Promise<unknown> {
    if (!this.fullTree) {
      const bytes = await this.ctx.deps.store.messages.read(this.userId, this.message);
      this.fullTree = new Indexer().parseMimeTree(bytes);
    }
    return this.fullTree;
  }
}

/**
 * Whether what the engine's response stream is given now reaches the socket before this call
 * returns: nothing is queued in it and nothing holds it back. Only then does the empty write
 * that follows a one-piece response call back after the response's bytes, as send() promises.
 */
function flowsThrough(writeStream: Transform, socket: Socket | undefined): boolean {
  return (
    socket !== undefined &&
    !socket.writableNeedDrain &&
    writeStream.readableLength === 0 &&
    writeStream.readableFlowing === true
  );
}

async function collect(stream: Readable): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of stream) pieces.push(Buffer.from(piece as Uint8Array));
  return Buffer.concat(pieces);
}

function isStreamValue(value: unknown): value is StreamValue {
  return (value as StreamValue | null)?.type === 'stream';
}

/**
 * Writes one response through the engine's response stream and resolves when all its bytes
 * have been handed to the operating system (if the socket still holds some, an empty write
 * after them calls back only then).
 * Rejects with ConnectionClosedError if the connection ends first.
 *
 * A response whose literals are all inline (up to INLINE_LITERAL_BYTES each) is compiled into
 * one piece and leaves in one write; the engine's stream compiler would write the prefix, each
 * literal, the closing parenthesis and the line end apart, a system call each, which costs more
 * than the copy for all but large literals. Those (`streamed`) are still streamed.
 */
async function send(
  state: ImapSessionState,
  session: ImapSession,
  response: ImapResponse,
  streamed: boolean,
): Promise<void> {
  const signal = state.closed.signal;
  if (signal.aborted) throw new ConnectionClosedError('connection closed');
  const compiled =
    streamed || !flowsThrough(session.writeStream, state.connection?._socket)
      ? imapHandler.compileStream(response)
      : // With `compiled` set, a string, the engine writes it and the line end in one piece
        // (imap-composer.js). Compiled by the same stream compiler: imap-core's other compiler
        // writes a partial's origin and length, where RFC 3501 §7.4.2 wants the origin only.
        { compiled: (await collect(imapHandler.compileStream(response))).toString('binary') };
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      if ('destroy' in compiled) compiled.destroy();
      reject(new ConnectionClosedError('connection closed'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    if ('once' in compiled) {
      compiled.once('error', (error: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(new BrokenResponseError('response failed', { cause: error }));
      });
    }
    session.writeStream.write(compiled, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
  });
  const socket = state.connection?._socket;
  if (!socket || socket.destroyed || !socket.writable) {
    throw new ConnectionClosedError('connection closed');
  }
  // A socket write the kernel took whole completes at once (Node's writeGeneric calls back
  // synchronously when libuv's write did not have to queue): nothing held back means every byte
  // written so far is with the operating system, and the empty write's system call is saved.
  if (socket.writableLength === 0) return;
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(new ConnectionClosedError('connection closed'));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.write(Buffer.alloc(0), (error) => {
      signal.removeEventListener('abort', onAbort);
      if (error) reject(new ConnectionClosedError('connection closed'));
      else resolve();
    });
  });
}
