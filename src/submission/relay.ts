/**
 * Handing a message to the configured relay (smarthost) with nodemailer's SMTP client: kzymy
 * never looks up MX hosts or queues mail itself. One connection per message; TLS always (smtps://
 * implicit, smtp:// with STARTTLS required); the relay's certificate is checked. The only module
 * that imports nodemailer's transport.
 *
 * All or nothing: nodemailer goes on to DATA when the relay accepted some recipients and refused
 * others. kzymy instead hands the message over only when every recipient was accepted: the
 * message stream is read by nodemailer only after the relay's 354, and if a RCPT was refused by
 * then it is destroyed unwritten and the connection dropped, so the relay never sees an end of
 * data and delivers nothing (RFC 5321 §4.1.1.4: an incomplete DATA is not a message).
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import SMTPConnection from 'nodemailer/lib/smtp-connection';

export interface RelayTarget {
  host: string;
  port: number;
  /** smtps:// (RFC 8314 implicit TLS) rather than smtp:// with STARTTLS. */
  secure: boolean;
  auth?: { user: string; pass: string };
  /** CAs for the relay's certificate; undefined: the system's. */
  ca?: Buffer;
  /** The name kzymy gives in EHLO: the mail domain, never this machine's host name. */
  heloName: string;
}

export type RelayOutcome =
  | { kind: 'sent' }
  /** The relay said 5xx (`permanent`) or 4xx at MAIL, a RCPT, or the end of data. */
  | { kind: 'refused'; stage: 'recipient' | 'message'; permanent: boolean }
  /** No connection, TLS or authentication failed, or a timeout: nothing was handed over. */
  | { kind: 'unavailable'; step: string };

/** Reads send.relay: the URL's parts, and the CA file when one is named. */
export async function relayTarget(
  url: string,
  caFile: string,
  heloName: string,
): Promise<RelayTarget> {
  const parsed = new URL(url);
  const secure = parsed.protocol === 'smtps:';
  const target: RelayTarget = {
    host: parsed.hostname.replace(/^\[|\]$/g, ''),
    // RFC 8314 §3.3: 465 for implicit TLS; RFC 6409 §3.1: 587 for submission.
    port: parsed.port ? Number(parsed.port) : secure ? 465 : 587,
    secure,
    heloName,
  };
  if (parsed.username) {
    target.auth = {
      user: decodeURIComponent(parsed.username),
      pass: decodeURIComponent(parsed.password),
    };
  }
  if (caFile) target.ca = await readFile(caFile);
  return target;
}

const TIMEOUTS = { connectionTimeout: 30_000, greetingTimeout: 30_000, socketTimeout: 120_000 };

export async function relayMessage(
  target: RelayTarget,
  envelope: { from: string; to: readonly string[] },
  message: Buffer,
): Promise<RelayOutcome> {
  return withConnection(target, TIMEOUTS, (connection) => send(connection, envelope, message));
}

/**
 * Connects, starts TLS, checks the certificate and logs in — and sends nothing. For `kzymy doctor
 * --online`: 'sent' means the relay would take mail from kzymy.
 */
export async function probeRelay(target: RelayTarget, timeoutMs: number): Promise<RelayOutcome> {
  const timeouts = {
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  };
  return withConnection(target, timeouts, async () => ({ kind: 'sent' }));
}

async function withConnection(
  target: RelayTarget,
  timeouts: typeof TIMEOUTS,
  task: (connection: SMTPConnection) => Promise<RelayOutcome>,
): Promise<RelayOutcome> {
  const connection = new SMTPConnection({
    host: target.host,
    port: target.port,
    secure: target.secure,
    // Without TLS nothing is sent: STARTTLS is required on smtp://.
    requireTLS: !target.secure,
    name: target.heloName,
    tls: {
      // RFC 6066 §3: SNI carries host names only; an address is checked against the certificate.
      ...(isIP(target.host) ? {} : { servername: target.host }),
      minVersion: 'TLSv1.2',
      ...(target.ca ? { ca: target.ca } : {}),
    },
    logger: false,
    debug: false,
    ...timeouts,
  });
  // Errors also arrive as callback results; without a listener one would crash the process.
  connection.on('error', () => undefined);
  try {
    const reached = await step(connection, (done) => connection.connect(done));
    if (!reached.ok) return { kind: 'unavailable', step: 'connect' };
    if (target.auth) {
      const auth = target.auth;
      const login = await step(connection, (done) => connection.login({ credentials: auth }, done));
      if (!login.ok) return { kind: 'unavailable', step: 'login' };
    }
    return await task(connection);
  } finally {
    connection.close();
  }
}

type StepResult = { ok: true } | { ok: false; error: unknown };

/**
 * A callback step of nodemailer's client as a promise that never rejects. Some failures (a
 * refused connection, a dropped one) arrive only as an 'error' or 'end' event, never through
 * the callback; whichever comes first decides.
 */
function step(
  connection: SMTPConnection,
  run: (done: (error?: unknown) => void) => void,
): Promise<StepResult> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: StepResult): void => {
      if (settled) return;
      settled = true;
      connection.off('error', onError);
      connection.off('end', onEnd);
      resolve(result);
    };
    const onError = (error: unknown): void => finish({ ok: false, error });
    const onEnd = (): void => finish({ ok: false, error: new Error('connection closed') });
    connection.once('error', onError);
    connection.once('end', onEnd);
    run((error) => finish(error ? { ok: false, error } : { ok: true }));
  });
}

interface SmtpFailure {
  code?: string;
  responseCode?: number;
  command?: string;
}

function send(
  connection: SMTPConnection,
  envelope: { from: string; to: readonly string[] },
  message: Buffer,
): Promise<RelayOutcome> {
  // nodemailer records refused recipients on this very object while it runs the RCPTs.
  const live: SMTPConnection.Envelope & { rejected?: string[]; rejectedErrors?: SmtpFailure[] } = {
    from: envelope.from,
    to: [...envelope.to],
    size: message.length,
    use8BitMime: message.some((byte) => byte > 0x7f),
  };
  let refusedRecipient = false;
  const stream = new Readable({
    read() {
      if ((live.rejected?.length ?? 0) > 0) {
        refusedRecipient = true;
        // Nothing of the message was written: drop the connection before the end of data.
        connection.close();
        this.destroy(new Error('a recipient was refused'));
        return;
      }
      this.push(message);
      this.push(null);
    },
  });
  return step(connection, (done) => connection.send(live, stream, (error) => done(error))).then(
    (result) => {
      if (result.ok) return { kind: 'sent' } as const;
      return sendFailure(result.error, refusedRecipient, live);
    },
  );
}

function sendFailure(
  error: unknown,
  refusedRecipient: boolean,
  live: { rejectedErrors?: SmtpFailure[] },
): RelayOutcome {
  const failure = error as SmtpFailure;
  const permanent = (failure.responseCode ?? 0) >= 500;
  if (refusedRecipient || failure.command === 'RCPT TO') {
    // The refusal that decided is the first one recorded.
    const first = live.rejectedErrors?.[0];
    return {
      kind: 'refused',
      stage: 'recipient',
      permanent: (first?.responseCode ?? failure.responseCode ?? 0) >= 500,
    };
  }
  if (failure.responseCode && failure.responseCode >= 400) {
    return { kind: 'refused', stage: 'message', permanent };
  }
  return { kind: 'unavailable', step: failure.command ?? failure.code ?? 'send' };
}
