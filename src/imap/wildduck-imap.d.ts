/**
 * Types for the parts of WildDuck's imap-core (@zone-eu/wildduck@1.46.15, pinned) that kzymy
 * drives. WildDuck ships no types; these were written from the engine's source
 * (imap-core/lib/*.js, lib/handlers/on-*.js and imap.js) and cover only what src/imap uses.
 * The handler contracts are callback-style: src/imap/wrap.ts turns kzymy's async functions into
 * them, so that nothing thrown in a handler can reach the engine (it does not catch).
 */
declare module '@zone-eu/wildduck/imap-core' {
  import type { EventEmitter } from 'node:events';
  import type { Server, Socket } from 'node:net';
  import type { Readable, Transform } from 'node:stream';

  /** One node of a parsed or composed IMAP response (imap-handler's object model). */
  export interface ImapNode {
    type: string;
    value?: unknown;
    section?: unknown[];
    partial?: Array<number | string>;
    sensitive?: boolean;
  }

  export interface ImapResponse {
    tag: string;
    command: string;
    attributes?: unknown;
  }

  export interface ImapCommand {
    tag: string;
    command: string;
    attributes: ImapNode[] & unknown[];
  }

  /** What a command handler answers: the tagged status line. */
  export interface CommandResult {
    response: 'OK' | 'NO' | 'BAD';
    code?: string | false;
    message?: string;
  }

  export type CommandCallback = (
    error: (Error & { response?: string }) | null,
    result?: CommandResult,
  ) => void;

  /** A command module in imap-core/lib/commands: `this` is the connection. */
  export interface CommandModule {
    state?: string | string[];
    schema?: unknown;
    disableNotifications?: boolean;
    handler(
      this: IMAPConnection,
      command: ImapCommand,
      callback: CommandCallback,
      next: () => void,
    ): void;
  }

  export interface ImapUser {
    id: string;
    username: string;
  }

  /** A queued mailbox change, turned into EXISTS / EXPUNGE / FETCH responses by the engine. */
  export interface ImapUpdate {
    command: 'EXISTS' | 'EXPUNGE' | 'FETCH';
    uid: number;
    modseq: number;
    flags?: string[];
    /** Session id to skip (the session that caused the change). */
    ignore?: string;
  }

  export interface SelectedMailbox {
    /** Whatever onOpen returned as `_id`; compared with toString(). */
    mailbox: string;
    uidList: number[];
    notifications: ImapUpdate[];
    modifyIndex: number;
    readOnly: boolean;
    condstoreEnabled: boolean;
    path: string;
  }

  export interface FetchQueryItem {
    /** The item as the client wrote it, e.g. 'BODY.PEEK[HEADER]'. */
    query: string;
    /** Lowercase item name: 'uid', 'flags', 'body', 'rfc822', 'rfc822.size', ... */
    item: string;
    original: ImapNode;
    /** For BODY[...]: numeric part path ('' for the whole message). */
    path?: string;
    /** For BODY[...]: 'content', 'header', 'text', 'mime', 'header.fields', 'header.fields.not'. */
    type?: string;
    headers?: string[];
    /** <startFrom.maxLength>; maxLength 0 means "to the end". */
    partial?: { startFrom: number; maxLength: number };
    isLiteral?: boolean;
  }

  export interface FetchOptions {
    messages: number[];
    query: FetchQueryItem[];
    markAsSeen: boolean;
    metadataOnly: boolean;
    isUid: boolean;
    changedSince: number;
  }

  /** A literal the compiler streams: exactly `expectedLength` bytes are sent. */
  export interface StreamValue {
    type: 'stream';
    value: Readable;
    expectedLength: number;
  }

  export interface StoreUpdate {
    value: string[];
    action: 'set' | 'add' | 'remove';
    type: 'flags';
    silent: boolean;
    messages: number[];
    unchangedSince: number;
    isUid?: boolean;
  }

  export interface ExpungeUpdate {
    isUid: boolean;
    messages?: number[];
    /** CLOSE: expunge without responses (the mailbox is already deselected). */
    silent?: boolean;
  }

  export interface SearchOptions {
    query: unknown[];
    terms: string[];
    isUid: boolean;
  }

  /** The message shape imap-tools' getQueryResponse and search's matchSearchQuery read. */
  export interface QueryMessage {
    uid: number;
    flags: string[];
    idate?: Date;
    size?: number;
    modseq?: number;
    mimeTree?: unknown;
    raw?: Buffer;
  }

  export interface ImapSession {
    id: string;
    user?: ImapUser;
    selected: SelectedMailbox | false;
    /** kzymy passes a placeholder here (see src/imap/engine.ts), never the client address. */
    remoteAddress: string;
    /** The socket the connection started on (not updated by STARTTLS). */
    socket: Socket;
    /** Object-mode writer of responses; streams written to it are piped to the socket. */
    writeStream: Transform;
    commandCounters: Record<string, number>;
    formatResponse(
      command: 'FETCH' | 'EXPUNGE' | 'EXISTS',
      uid: number,
      data?: { query: FetchQueryItem[]; values: unknown[] } | Record<string, unknown>,
    ): ImapResponse | false;
    getQueryResponse(
      query: FetchQueryItem[],
      message: QueryMessage,
      options?: { acceptUTF8Enabled?: boolean },
    ): unknown[];
    matchSearchQuery(
      message: QueryMessage,
      query: unknown[],
      callback: (error: Error | null, match?: boolean) => void,
    ): void;
    isUTF8Enabled(): boolean;
  }

  export interface IMAPConnection extends EventEmitter {
    id: string;
    state: string;
    secure: boolean;
    session: ImapSession;
    selected: SelectedMailbox | false;
    idling: boolean;
    remoteAddress: string;
    _socket: Socket;
    _server: IMAPServer;
    _closing: boolean;
    _closed: boolean;
    send(payload: string, callback?: () => void): void;
    close(force?: boolean): void;
    clearNotificationListener(): void;
    init(): void;
    loggelf: (message: unknown) => void;
    /** The line parser the socket is piped into (imap-stream.js); replaced before init(). */
    _parser: import('@zone-eu/wildduck/imap-core/lib/imap-stream').IMAPStream | false;
    _onCommand(
      command: import('@zone-eu/wildduck/imap-core/lib/imap-stream').StreamCommand,
      callback?: import('@zone-eu/wildduck/imap-core/lib/imap-stream').StreamCallback,
    ): void;
    /** The command being assembled across literals (false between commands). */
    _currentCommand: unknown;
    /** Set while the next line is input for a command (AUTHENTICATE), not a command. */
    _nextHandler: unknown;
    /** Protocol errors so far (imap-command.js countBadResponses). */
    _badCount?: number;
  }

  export interface Notifier {
    addListener(session: ImapSession, handler: () => void): void;
    removeListener(session: ImapSession, handler: () => void): void;
    getUpdates(
      mailbox: string,
      modifyIndex: number,
      callback: (error: Error | null, updates?: ImapUpdate[]) => void,
    ): void;
  }

  export interface ListedFolder {
    path: string;
    specialUse?: string;
  }

  export interface MailboxData {
    _id: string;
    uidList: number[];
    uidValidity: number;
    uidNext: number;
    modifyIndex: number;
    flags: string[];
  }

  export interface StatusData {
    messages: number;
    uidNext: number;
    uidValidity: number;
    unseen: number;
  }

  export interface AuthRequest {
    method: 'LOGIN' | 'PLAIN';
    username: string;
    password: string;
  }

  export interface Done<T extends unknown[] = []> {
    (error: Error): void;
    (error: null, ...result: T): void;
  }

  export interface ImapServerOptions {
    secure?: boolean;
    /** Allow LOGIN/AUTHENTICATE without TLS (still offers STARTTLS). */
    ignoreSTARTTLS?: boolean;
    disableSTARTTLS?: boolean;
    key?: Buffer;
    cert?: Buffer;
    minVersion?: string;
    ciphers?: string;
    honorCipherOrder?: boolean;
    /** OpenSSL SSL_OP_* flags (node:tls secureOptions). */
    secureOptions?: number;
    SNICallback?: (
      servername: unknown,
      callback: (error: Error | null, context?: unknown) => void,
    ) => void;
    id?: Record<string, string>;
    /** Falsy: the engine logs nothing (nodemailer's shared.getLogger). */
    logger?: false;
    socketTimeout?: number;
    idleTimeout?: number;
    closeTimeout?: number;
    skipFetchLog?: boolean;
    logoutMessages?: string[];
  }

  export class IMAPServer extends EventEmitter {
    constructor(options: ImapServerOptions);
    options: ImapServerOptions;
    server: Server;
    connections: Set<IMAPConnection>;
    notifier: Notifier;
    loggelf: (message: unknown) => void;
    listen(port: number, host: string): void;
    close(callback: () => void): void;
    connect(socket: Socket, socketOptions: { id: string; remoteAddress?: string }): void;
    _onError(error: Error): void;
    _handleProxy(
      socket: Socket,
      callback: (
        error: Error | null,
        socketOptions: { id: string; remoteAddress?: string },
      ) => void,
    ): void;

    onConnect?(session: ImapSession, callback: Done): void;
    onClose?(session: ImapSession, callback: () => void): void;
    onAuth?(
      login: AuthRequest,
      session: ImapSession,
      callback: (
        error: (Error & { response?: string; code?: string }) | null,
        result?: { user: ImapUser },
      ) => void,
    ): void;
    onList?(query: string, session: ImapSession, callback: Done<[ListedFolder[]]>): void;
    onLsub?(query: string, session: ImapSession, callback: Done<[ListedFolder[]]>): void;
    onOpen?(path: string, session: ImapSession, callback: Done<[MailboxData | string]>): void;
    onStatus?(path: string, session: ImapSession, callback: Done<[StatusData | string]>): void;
    onFetch?(
      mailbox: string,
      options: FetchOptions,
      session: ImapSession,
      callback: Done<[true | string]>,
    ): void;
    onStore?(
      mailbox: string,
      update: StoreUpdate,
      session: ImapSession,
      callback: Done<[true | string, number[]?]>,
    ): void;
    onExpunge?(
      mailbox: string,
      update: ExpungeUpdate,
      session: ImapSession,
      callback: Done<[true | string]>,
    ): void;
    onSearch?(
      mailbox: string,
      options: SearchOptions,
      session: ImapSession,
      callback: Done<[{ uidList: number[] }]>,
    ): void;
  }

  export const imapHandler: {
    compiler(response: ImapResponse, asArray?: boolean, isLogging?: boolean): string;
    compileStream(response: ImapResponse): Readable;
  };
}

/** Imported as a default (the real exports object), so that kzymy can replace one function. */
declare module '@zone-eu/wildduck/imap-core/lib/imap-tools' {
  import type { IMAPConnection } from '@zone-eu/wildduck/imap-core';
  const imapTools: {
    sendCapabilityResponse: (connection: IMAPConnection) => void;
    systemFlagsFormatted: string[];
  };
  export = imapTools;
}

declare module '@zone-eu/wildduck/imap-core/lib/indexer/indexer' {
  class Indexer {
    constructor(options?: object);
    parseMimeTree(raw: Buffer): unknown;
  }
  export = Indexer;
}

/** Every command module has the same shape; kzymy replaces some `handler`s (src/imap/engine.ts). */
declare module '@zone-eu/wildduck/imap-core/lib/commands/*' {
  import type { CommandModule } from '@zone-eu/wildduck/imap-core';
  const command: CommandModule;
  export = command;
}

/** WildDuck's error sink: by default it prints every protocol error with the client's IP. */
declare module '@zone-eu/wildduck/lib/errors' {
  const errors: {
    setGelf(handler: { emit(channel: string, message: unknown): void }): void;
  };
  export = errors;
}

/** imap-core's line parser: emits command lines, and literals as streams. */
declare module '@zone-eu/wildduck/imap-core/lib/imap-stream' {
  import { Writable } from 'node:stream';

  export interface StreamCommand {
    /** The line (or the part of it before a literal), as a binary string. */
    value: string;
    /** False when a literal follows this part. */
    final: boolean;
    /** The literal's announced length, for a part that ends with {n}. */
    expecting?: number;
  }

  export type StreamCallback = (error?: Error | null) => void;

  export class IMAPStream extends Writable {
    /** The unfinished line so far. */
    _remainder: string;
    /** Literal bytes still to come (0 in line mode). */
    _expecting: number;
    oncommand(command: StreamCommand, callback?: StreamCallback): void;
    _write(chunk: Buffer, encoding: BufferEncoding, done: (error?: Error | null) => void): void;
  }
}

declare module '@zone-eu/wildduck/imap-core/lib/imap-connection' {
  import type { Socket } from 'node:net';
  import type { IMAPConnection as Connection, IMAPServer } from '@zone-eu/wildduck/imap-core';

  export const IMAPConnection: new (
    server: IMAPServer,
    socket: Socket,
    options: { id: string; remoteAddress?: string },
  ) => Connection;
}
