/**
 * The typed facade over WildDuck's imap-core: a server class with kzymy's privacy defaults, and
 * the few places where kzymy replaces what the engine says.
 *
 * What the engine does by default, and what is done about it here:
 * - it greets with, logs, reports and reverse-resolves the client's IP: `_handleProxy` hands it
 *   a placeholder instead, and its error sink is replaced (src/mailbox-access/engine-privacy.ts);
 * - with no `logger` option it logs nothing (nodemailer's shared.getLogger), which is kept;
 * - its implicit-TLS listener calls `options.SNICallback`, which it only defaults for STARTTLS
 *   listeners: without one, every handshake that names a server (most clients) fails;
 * - its TLS defaults allow TLS 1.0 and carry a bundled certificate: kzymy passes its own, and
 *   the user-facing TLS policy (src/tls/policy.ts) for both the listener's context and
 *   the one its SNI callback hands back;
 * - CAPABILITY advertises MOVE, QUOTA, CONDSTORE, XLIST, COMPRESS...: kzymy sends its own list;
 * - LOGOUT has no hook: kzymy's LOGOUT runs the delete-after-fetch commit first;
 * - refusals of APPEND/CREATE/COPY/MOVE could only carry a response code with the text
 *   "<COMMAND> completed": those handlers are replaced to say that kzymy is receive-only.
 * Replacements are installed once per process on the engine's shared command modules and only
 * act for KzymyImapServer instances.
 */
import type { Socket } from 'node:net';
import {
  IMAPServer,
  type CommandModule,
  type IMAPConnection,
  type ImapSession,
} from '@zone-eu/wildduck/imap-core';
import appendCommand from '@zone-eu/wildduck/imap-core/lib/commands/append';
import compressCommand from '@zone-eu/wildduck/imap-core/lib/commands/compress';
import copyCommand from '@zone-eu/wildduck/imap-core/lib/commands/copy';
import createCommand from '@zone-eu/wildduck/imap-core/lib/commands/create';
import deleteCommand from '@zone-eu/wildduck/imap-core/lib/commands/delete';
import enableCommand from '@zone-eu/wildduck/imap-core/lib/commands/enable';
import getQuotaCommand from '@zone-eu/wildduck/imap-core/lib/commands/getquota';
import getQuotaRootCommand from '@zone-eu/wildduck/imap-core/lib/commands/getquotaroot';
import logoutCommand from '@zone-eu/wildduck/imap-core/lib/commands/logout';
import moveCommand from '@zone-eu/wildduck/imap-core/lib/commands/move';
import renameCommand from '@zone-eu/wildduck/imap-core/lib/commands/rename';
import setQuotaCommand from '@zone-eu/wildduck/imap-core/lib/commands/setquota';
import starttlsCommand from '@zone-eu/wildduck/imap-core/lib/commands/starttls';
import subscribeCommand from '@zone-eu/wildduck/imap-core/lib/commands/subscribe';
import unsubscribeCommand from '@zone-eu/wildduck/imap-core/lib/commands/unsubscribe';
import pushCommand from '@zone-eu/wildduck/imap-core/lib/commands/xapplepushservice';
import { IMAPConnection as EngineConnection } from '@zone-eu/wildduck/imap-core/lib/imap-connection';
import imapTools from '@zone-eu/wildduck/imap-core/lib/imap-tools';
import { anonymousSocketOptions, silenceEngineErrorSink } from '../mailbox-access/engine-privacy';
import { settle } from '../mailbox-access/settle';
import { USER_TLS_POLICY, userTlsContext } from '../tls/policy';
import { guardCommandArguments } from './argument-guard';
import { admitSocket, attachSlot, type ImapListenerLimits, type ImapSlot } from './limits';
import { receiveOnlyRefusals, type Refusal } from './refusals';
import { engineReply, IMAP_REPLIES } from './replies';

export interface KzymyImapHooks {
  /** Whether LOGIN/AUTHENTICATE are allowed before TLS on this listener. */
  plaintextAuth: boolean;
  /** A command the engine could not handle with the client's arguments (answered BAD). */
  onBadArguments(error: unknown): void;
  /** The commit point: runs before LOGOUT's BYE. Its failure is logged, LOGOUT still ends. */
  beforeLogout(session: ImapSession): Promise<void>;
  onError(error: unknown): void;
}

export interface KzymyImapServerOptions {
  secure: boolean;
  key: Buffer;
  cert: Buffer;
  hooks: KzymyImapHooks;
  /** Connection, command-line and idle limits (src/imap/limits.ts); none in some unit tests. */
  limits?: ImapListenerLimits;
}

type SocketOptions = { id: string; remoteAddress: string; slot?: ImapSlot };

export class KzymyImapServer extends IMAPServer {
  readonly kzymy: KzymyImapHooks;
  private readonly limits: ImapListenerLimits | undefined;

  constructor(options: KzymyImapServerOptions) {
    const context = userTlsContext(options.key, options.cert);
    super({
      secure: options.secure,
      ignoreSTARTTLS: options.hooks.plaintextAuth,
      key: options.key,
      cert: options.cert,
      ...USER_TLS_POLICY,
      // Called both as (servername, cb) by node:tls and as ({servername, meta}, cb) by the
      // engine; one certificate serves every name.
      SNICallback: (_servername, callback) => callback(null, context),
      id: { name: 'kzymy' },
      logger: false,
      skipFetchLog: true,
      logoutMessages: ['LOGOUT completed'],
      ...(options.limits ? { socketTimeout: options.limits.idleTimeoutMs } : {}),
    });
    this.kzymy = options.hooks;
    this.limits = options.limits;
    silenceEngineErrorSink();
    installCommandOverrides();
  }

  /** Replaces the PROXY-protocol hook, the one place the engine reads the peer address. */
  /** Also where a new socket is admitted to the listener, before TLS (src/imap/limits.ts). */
  override _handleProxy(
    socket: Socket,
    callback: (error: Error | null, socketOptions: SocketOptions) => void,
  ): void {
    const socketOptions: SocketOptions = anonymousSocketOptions();
    if (this.limits) {
      const slot = admitSocket(this.limits.gate, socket, this.options.secure === true);
      if (!slot) return;
      socketOptions.slot = slot;
    }
    setImmediate(() => callback(null, socketOptions));
  }

  /** As the engine's (imap-server.js connect), with the connection bound to its slot first. */
  override connect(socket: Socket, socketOptions: SocketOptions): void {
    const connection = new EngineConnection(this, socket, socketOptions);
    connection.loggelf = (message) => this.loggelf(message);
    if (socketOptions.slot && this.limits) attachSlot(connection, socketOptions.slot, this.limits);
    this.connections.add(connection);
    connection.on('error', (error: Error) => this._onError(error));
    if (!this.onConnect) return connection.init();
    this.onConnect(connection.session, (error) => {
      if (!error) return connection.init();
      connection.send('* BYE ' + (error.message || 'Connection rejected'));
      setImmediate(() => connection.close());
    });
  }
}

function isKzymy(connection: IMAPConnection): KzymyImapServer | null {
  const server = connection._server;
  return server instanceof KzymyImapServer ? server : null;
}

/** RFC 3501 §7.2.1, with only what kzymy implements (RFC 2177 IDLE, 2971 ID, 4315 UIDPLUS...). */
export function capabilities(connection: IMAPConnection, hooks: KzymyImapHooks): string[] {
  const list = ['IMAP4rev1'];
  const authAllowed = connection.secure || hooks.plaintextAuth;
  const authenticated = connection.state !== 'Not Authenticated';
  // RFC 3501 §6.2.1: STARTTLS only before login, so it is not offered after it either.
  if (!connection.secure && !authenticated) {
    list.push('STARTTLS');
    // RFC 3501 §6.2.3: LOGINDISABLED while LOGIN would be refused.
    if (!hooks.plaintextAuth) list.push('LOGINDISABLED');
  }
  if (!authenticated && authAllowed) {
    list.push('AUTH=PLAIN', 'SASL-IR');
  }
  list.push('ID', 'IDLE', 'NAMESPACE', 'UIDPLUS', 'UNSELECT');
  return list;
}

let installed = false;

function installCommandOverrides(): void {
  if (installed) return;
  installed = true;

  const originalCapability = imapTools.sendCapabilityResponse;
  imapTools.sendCapabilityResponse = (connection) => {
    const server = isKzymy(connection);
    if (!server) return originalCapability(connection);
    connection.send('* CAPABILITY ' + capabilities(connection, server.kzymy).join(' '));
  };

  // RFC 3501 §6.1.3: the server sends BYE, then the tagged OK, then closes. kzymy first commits
  // what the session received (docs/fetching.md).
  override(logoutCommand, function (command, callback, next) {
    const server = isKzymy(this) as KzymyImapServer;
    const proceed = (): void => logoutOriginal.call(this, command, callback, next);
    settle(
      () => server.kzymy.beforeLogout(this.session),
      () => proceed(),
      (error) => server.kzymy.onError(error),
    );
  });

  // The engine's STARTTLS has no state restriction: it upgraded a logged-in session too.
  const starttlsOriginal = starttlsCommand.handler;
  override(starttlsCommand, function (command, callback, next) {
    if (this.state !== 'Not Authenticated') {
      return callback(null, engineReply(IMAP_REPLIES.starttlsAfterLogin));
    }
    starttlsOriginal.call(this, command, callback, next);
  });

  const refusals = receiveOnlyRefusals();
  const modules: Array<[CommandModule, Refusal]> = [
    [appendCommand, refusals.append],
    [createCommand, refusals.mailboxes],
    [deleteCommand, refusals.mailboxes],
    [renameCommand, refusals.mailboxes],
    [copyCommand, refusals.copy],
    [moveCommand, refusals.copy],
    [subscribeCommand, refusals.subscribe],
    [unsubscribeCommand, refusals.subscribe],
    [getQuotaCommand, refusals.unavailable],
    [getQuotaRootCommand, refusals.unavailable],
    [setQuotaCommand, refusals.unavailable],
    [compressCommand, refusals.unavailable],
    [pushCommand, refusals.unavailable],
    [enableCommand, refusals.enable],
  ];
  for (const [module, refusal] of modules) {
    override(module, function (command, callback) {
      refusal(this, command, callback);
    });
  }
  // Last, so that it also wraps the replacements above.
  guardCommandArguments((connection) => isKzymy(connection)?.kzymy.onBadArguments ?? null);
}

const logoutOriginal = logoutCommand.handler;

/** Replaces a command's handler for kzymy servers; other servers keep the engine's. */
function override(module: CommandModule, replacement: CommandModule['handler']): void {
  const original = module.handler;
  module.handler = function (command, callback, next) {
    if (!isKzymy(this)) return original.call(this, command, callback, next);
    try {
      replacement.call(this, command, callback, next);
    } catch (error) {
      (isKzymy(this) as KzymyImapServer).kzymy.onError(error);
      callback(null, engineReply(IMAP_REPLIES.serverBug));
    }
  };
}
