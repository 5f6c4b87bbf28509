/**
 * Types for WildDuck's POP3 engine (@zone-eu/wildduck@1.46.15, lib/pop3/server.js and
 * connection.js), written from its source and pop3.js; only what src/pop3 uses. Handler
 * contracts are callback-style and, as in imap-core, nothing thrown in them is caught.
 */
declare module '@zone-eu/wildduck/lib/pop3/connection' {
  import type { EventEmitter } from 'node:events';
  import type { Socket } from 'node:net';
  import type POP3Server from '@zone-eu/wildduck/lib/pop3/server';

  namespace POP3Connection {
    /** One message of the listing handed out at login. */
    interface ListedMessage {
      id: string;
      uid: number;
      size: number;
      /** Set by the engine: DELE was given (RSET clears it). */
      popped?: boolean;
      /** Set by the engine once RETR has written the whole message. */
      fetched?: boolean;
      seen?: boolean;
      /** kzymy: the UIDL value. */
      uidl: string;
    }

    interface Listing {
      messages: ListedMessage[];
      /** Count and size of messages not marked by DELE. */
      count: number;
      size: number;
    }

    interface Pop3User {
      id: string;
      username: string;
    }

    interface Pop3Session {
      id: string;
      state: 'AUTHORIZATION' | 'TRANSACTION' | 'UPDATE';
      remoteAddress: string;
      user?: Pop3User | string | false;
      listing?: Listing;
    }

    type Next = (error?: Error | null) => void;
  }

  class POP3Connection extends EventEmitter {
    constructor(server: POP3Server, socket: Socket, options: { id: string; remoteAddress: string });
    id: string;
    secured: boolean;
    remoteAddress: string;
    session: POP3Connection.Pop3Session | false | null;
    _socket: Socket;
    _server: POP3Server;
    _closed: boolean;
    _closing: boolean;
    init(): void;
    send(payload: string | string[]): void;
    write(payload: string | Buffer): void;
    close(): void;
    _setListeners(): void;
    /** Lines received and not yet handled; the engine's processQueue takes them in order. */
    queue: string[];
    /** Set while a command (AUTH PLAIN) waits for a continuation line. */
    _nextHandler: ((line: string, next: POP3Connection.Next) => void) | null;
    processQueue(): void;
    /** Reads the socket into `queue` (connection.js read). */
    read(): void;
    /** The unfinished line so far. */
    _remainder: string;
    /** A read/processQueue cycle is under way. */
    processing: boolean;
    /** After a login: lists the maildrop and enters TRANSACTION. */
    openMailbox(next: POP3Connection.Next): void;
    _resetSocketTimeout(): void;
    /** STLS: replaces the socket by a TLS socket over it; calls back after the handshake. */
    upgrade(callback: (error?: Error | null) => void): void;
    command_LIST(args: string, next: POP3Connection.Next): void;
    command_UIDL(args: string, next: POP3Connection.Next): void;
    command_RETR(args: string, next: POP3Connection.Next): void;
    command_DELE(args: string, next: POP3Connection.Next): void;
    command_TOP(args: string, next: POP3Connection.Next): void;
    command_QUIT(args: string, next: POP3Connection.Next): void;
    command_STLS(args: string, next: POP3Connection.Next): void;
  }
  export = POP3Connection;
}

declare module '@zone-eu/wildduck/lib/pop3/server' {
  import { EventEmitter } from 'node:events';
  import type { Server, Socket } from 'node:net';
  import type { Readable } from 'node:stream';
  import type POP3Connection from '@zone-eu/wildduck/lib/pop3/connection';

  namespace POP3Server {
    interface Options {
      secure?: boolean;
      /** Allow USER/PASS and AUTH before STLS. */
      ignoreSTARTTLS?: boolean;
      disableSTARTTLS?: boolean;
      disableVersionString?: boolean;
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
      id?: { name?: string; version?: string };
      logger?: false;
      socketTimeout?: number;
      closeTimeout?: number;
    }

    interface AuthRequest {
      method: 'USER' | 'PLAIN';
      username: string;
      password: string;
    }
  }

  class POP3Server extends EventEmitter {
    constructor(options: POP3Server.Options);
    options: POP3Server.Options;
    server: Server;
    connections: Set<POP3Connection>;
    loggelf: (message: unknown) => void;
    listen(port: number, host: string): void;
    close(callback: () => void): void;
    connect(socket: Socket, socketOptions: { id: string; remoteAddress: string }): void;
    _handleProxy(
      socket: Socket,
      callback: (error: Error | null, socketOptions: { id: string; remoteAddress: string }) => void,
    ): void;
    _onError(error: Error): void;

    onAuth(
      auth: POP3Server.AuthRequest,
      session: POP3Connection.Pop3Session,
      callback: (
        error: (Error & { response?: string }) | null,
        result?: { user?: POP3Connection.Pop3User; message?: string },
      ) => void,
    ): void;
    onListMessages(
      session: POP3Connection.Pop3Session,
      callback: (error: Error | null, listing?: POP3Connection.Listing) => void,
    ): void;
    onFetchMessage(
      message: POP3Connection.ListedMessage,
      session: POP3Connection.Pop3Session,
      callback: (error: Error | null, stream?: Readable) => void,
    ): void;
  }
  export = POP3Server;
}
