/**
 * The submission listeners (RFC 6409) of sending as the nym, on the `smtp-server` engine: one
 * with STARTTLS (send.port) and one with implicit TLS (send.tlsPort, RFC 8314), both on
 * send.host. AUTH PLAIN or LOGIN with the kzymy password, through the password gate IMAP and
 * POP3 logins use (src/auth/password-gate.ts: guesses slowed, never a lock-out); on a loopback
 * listener (the onion service case) before TLS too, elsewhere only with
 * send.allowPlaintextAuth. The handlers only wire the engine to decisions (src/submission);
 * this is the one place a decision becomes a reply, a log line and a count.
 */
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { DaemonDeps } from '../daemon-deps';
import { errorKind } from '../log/logger';
import { isLoopbackHost, listen } from '../mailbox-access/listen';
import { checkLogin } from '../mailbox-access/login';
import { settle } from '../mailbox-access/settle';
import type { RunningServer } from '../util/running-server';
import { SendCaps } from './caps';
import {
  ACCEPT,
  capReached,
  refuse,
  REPLIES,
  successText,
  toSmtpError,
  tooManyRecipients,
  type Decision,
  type SmtpReply,
} from './decision';
import { loadDkimKey } from './dkim';
import { relayTarget } from './relay';
import { isOwnAddress } from './sender-check';
import { mayUserSend, submitMessage, type SessionUser, type SubmissionContext } from './submit';

export interface SubmissionServers {
  plain: RunningServer;
  tls: RunningServer;
}

/** RFC 4954 §6: 535 5.7.8 for bad credentials, 454 4.7.0 when they could not be checked. */
const AUTH_FAILED: SmtpReply = { code: 535, enhanced: '5.7.8', text: 'Authentication failed' };
const AUTH_UNAVAILABLE: SmtpReply = {
  code: 454,
  enhanced: '4.7.0',
  text: 'Temporary authentication failure, try again later',
};
/**
 * The right password of an account the operator disabled (`kzymy user disable`): the IANA
 * registry's X.7.13 "User Account Disabled", whose basic code is 525 — a client should not ask
 * for the password again. Only the owner gets this far; the words are IMAP's and POP3's.
 */
const AUTH_DISABLED: SmtpReply = {
  code: 525,
  enhanced: '5.7.13',
  text: 'This account has been disabled by the server operator',
};

export async function startSubmissionServers(deps: DaemonDeps): Promise<SubmissionServers> {
  const send = deps.config.send;
  const ctx: SubmissionContext = {
    deps,
    caps: new SendCaps(deps.redis, deps.config.redis.prefix, send, () => deps.clock()),
    dkim: await loadDkimKey(send.dkim.keyFile, deps.config.domain, send.dkim.selector),
    relay: await relayTarget(send.relay.url, send.relay.caFile, deps.config.domain),
  };
  const plaintextAuth = isLoopbackHost(send.host) || send.allowPlaintextAuth;
  const onError = (error: unknown, where: string): void =>
    deps.logger.error('submission.error', { where, kind: errorKind(error) });

  /** Runs a handler's decision and answers the engine exactly once. */
  const decide = (
    where: string,
    task: () => Promise<Decision>,
    callback: (error?: Error | null, message?: string) => void,
    success?: SmtpReply,
  ): void =>
    settle(
      task,
      (outcome) => {
        const decision: Decision = outcome.ok
          ? outcome.value
          : refuse(REPLIES.localError, 'tempfail', outcome.error);
        if (decision.kind === 'accept') {
          if (success) deps.metrics.submission('sent');
          return success ? callback(null, successText(success)) : callback(null);
        }
        deps.metrics.submission(decision.reason);
        deps.logger.info('submission.refused', {
          where,
          reason: decision.reason,
          code: decision.reply.code,
        });
        callback(toSmtpError(decision.reply));
      },
      (error) => onError(error, where),
    );

  const build = (secure: boolean): SMTPServer => {
    const server = new SMTPServer({
      secure,
      key: deps.tls.key,
      cert: deps.tls.cert,
      // The greeting and EHLO name: the mail domain, never this machine's host name.
      name: deps.config.domain,
      banner: 'kzymy submission',
      size: send.maxMessageBytes,
      authMethods: ['PLAIN', 'LOGIN'],
      allowInsecureAuth: plaintextAuth,
      // smtp-server would look up the client's address in DNS; kzymy never does (threat model).
      disableReverseLookup: true,
      logger: false,

      onAuth(auth, session, callback) {
        settle(
          async () => {
            // RFC 4616 §2: an authorization identity other than the login is acting as someone
            // else, which kzymy does not offer.
            if (auth.authzid && auth.authzid !== auth.username) return null;
            return checkLogin(deps, 'submission', auth.username ?? '', auth.password ?? '');
          },
          (outcome) => {
            if (!outcome.ok) return callback(toSmtpError(AUTH_UNAVAILABLE));
            const login = outcome.value;
            if (!login || login.kind === 'failed') return callback(toSmtpError(AUTH_FAILED));
            if (login.kind === 'disabled') return callback(toSmtpError(AUTH_DISABLED));
            const user: SessionUser = { id: login.user.id, username: login.user.username };
            deps.logger.info('submission.login', { tls: session.secure });
            callback(null, { user });
          },
          (error) => onError(error, 'auth'),
        );
      },

      onMailFrom(address, session, callback) {
        decide(
          'mail',
          async () => {
            const who = session.user as SessionUser;
            if (!(await mayUserSend(deps, who.id)))
              return refuse(REPLIES.sendingOff, 'sending_off');
            if (!isOwnAddress(address.address, who.username, deps.config.domain))
              return refuse(REPLIES.senderNotYours, 'sender');
            // Said now, before the client sends the message, when a cap is already reached.
            const room = await ctx.caps.check(who.id);
            if (!room.ok)
              return refuse(
                capReached(room.unit, room.per, room.limit),
                room.per === 'hour' ? 'hourly_cap' : 'daily_cap',
              );
            return ACCEPT;
          },
          callback,
        );
      },

      onRcptTo(_address, session, callback) {
        decide(
          'rcpt',
          async () =>
            session.envelope.rcptTo.length >= send.maxRecipients
              ? refuse(tooManyRecipients(send.maxRecipients), 'too_many_recipients')
              : ACCEPT,
          callback,
        );
      },

      onData(stream, session, callback) {
        void readMessage(stream, send.maxMessageBytes).then((read) => {
          // Over the size: smtp-server answers 552 itself (RFC 1870), whatever is said here.
          if (read.kind === 'oversized') return callback(null);
          decide(
            'data',
            async () =>
              read.kind === 'ok'
                ? submitMessage(ctx, session.user as SessionUser, envelopeOf(session), read.raw)
                : refuse(REPLIES.localError, 'tempfail'),
            callback,
            REPLIES.sent,
          );
        });
      },
    });
    // Connection errors (a reset, a failed TLS handshake) are the client's doing.
    server.on('error', (error: unknown) =>
      deps.logger.info('submission.error', { where: 'connection', kind: errorKind(error) }),
    );
    return server;
  };

  const started: RunningServer[] = [];
  try {
    started.push(await start(deps, build(false), send.host, send.port, 'submission'));
    started.push(await start(deps, build(true), send.host, send.tlsPort, 'submissions'));
  } catch (error) {
    await Promise.all(started.map((server) => server.close()));
    throw error;
  }
  const [plain, tls] = started as [RunningServer, RunningServer];
  return { plain, tls };
}

function envelopeOf(session: SMTPServerSession): { from: string; to: string[] } {
  return {
    from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
    to: session.envelope.rcptTo.map((recipient) => recipient.address),
  };
}

type Read = { kind: 'ok'; raw: Buffer } | { kind: 'oversized' } | { kind: 'failed' };

/** The whole message; past `limit` the rest is read and thrown away. */
function readMessage(stream: SMTPServerDataStream, limit: number): Promise<Read> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    stream.on('end', () =>
      resolve(
        stream.sizeExceeded || size > limit
          ? { kind: 'oversized' }
          : { kind: 'ok', raw: Buffer.concat(chunks) },
      ),
    );
    stream.on('error', () => resolve({ kind: 'failed' }));
  });
}

async function start(
  deps: DaemonDeps,
  server: SMTPServer,
  host: string,
  port: number,
  service: string,
): Promise<RunningServer> {
  const bound = await listen(server.server, host, port, () => server.listen(port, host));
  deps.logger.info('service.ready', { service, port: bound });
  let closing: Promise<void> | undefined;
  return {
    port: bound,
    close: () => (closing ??= new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}
