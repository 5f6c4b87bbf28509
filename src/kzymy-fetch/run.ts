/**
 * One pass over the mailbox: fetch each message, deliver it locally, record it, then mark it
 * deleted on the server — in that order, so that a message is never deleted before it is safe on
 * this machine, and never delivered twice after a crash between the two (state.ts).
 */
import { decryptMessage } from './decrypt';
import { deliverToMaildir } from './deliver-maildir';
import { deliverToMbox } from './deliver-mbox';
import { deliverToMda } from './deliver-mda';
import { FetchError } from './errors';
import { ImapSession } from './imap-client';
import { envelopeOf, toUnixLineEndings } from './message-headers';
import type { FetchSettings } from './options';
import { Pop3Session } from './pop3-client';
import type { Progress } from './progress';
import type { MailSession } from './session';
import { sha256, type DeliveryState } from './state';
import { openWire } from './transport';

export interface RunContext {
  settings: FetchSettings;
  password: string;
  /** CA certificates from caFile, read once. */
  ca: Buffer | undefined;
  state: DeliveryState;
  progress: Progress;
}

export interface PassResult {
  delivered: number;
  /** Found in the local state: delivered before a crash, now only deleted. */
  alreadyDelivered: number;
  bytes: number;
}

/** Test hook: makes the process die right after a delivery was recorded, before deletion. */
const CRASH_HOOK = 'KZYMY_FETCH_TEST_CRASH';

export async function openSession(context: RunContext): Promise<MailSession> {
  const { settings } = context;
  const timeoutMs = settings.timeoutSeconds * 1000;
  const { wire, startTls } = await openWire(
    {
      host: settings.server,
      port: settings.port,
      tls: settings.tls,
      ...(context.ca ? { ca: context.ca } : {}),
    },
    settings.proxy,
    timeoutMs,
  );
  const login = { wire, user: settings.user, password: context.password, startTls, timeoutMs };
  try {
    return settings.protocol === 'imap'
      ? await ImapSession.open(login)
      : await Pop3Session.open(login);
  } catch (error) {
    wire.destroy();
    throw error;
  }
}

/**
 * Fetches and delivers everything waiting. With `commit`, the session ends with LOGOUT/QUIT;
 * without (IMAP --watch), delivered messages are expunged and the session stays open.
 */
export async function fetchPass(
  session: MailSession,
  context: RunContext,
  commit: boolean,
): Promise<PassResult> {
  const { state, progress } = context;
  const result: PassResult = { delivered: 0, alreadyDelivered: 0, bytes: 0 };
  try {
    const messages = await session.list();
    await state.keepOnly(messages.map((m) => m.key));
    progress.start(
      messages.length,
      messages.reduce((sum, m) => sum + m.size, 0),
    );
    for (const message of messages) {
      const raw = await session.fetch(message, (received) => progress.bytes(received));
      const hash = sha256(raw);
      if (state.wasDelivered(message.key, hash)) {
        result.alreadyDelivered += 1;
      } else {
        await deliver(raw, context.settings);
        await state.recordDelivered(message.key, hash);
        if (process.env[CRASH_HOOK] === 'after-record') process.kill(process.pid, 'SIGKILL');
        result.delivered += 1;
      }
      result.bytes += raw.length;
      await session.markDeleted(message);
      progress.message(message.size);
    }
    const removed = commit ? await session.commit() : await session.expungeMarked();
    await state.forget(removed);
    return result;
  } catch (error) {
    if (error instanceof FetchError && (error.kind === 'delivery' || error.kind === 'decrypt')) {
      // What was delivered goes now (IMAP can); the failed message must not: hang up without
      // LOGOUT/QUIT, so the server does not count it as fetched-and-done.
      await session
        .expungeMarked()
        .then((keys) => state.forget(keys))
        .catch(() => undefined);
    }
    session.abort();
    throw error;
  }
}

async function deliver(raw: Buffer, settings: FetchSettings): Promise<void> {
  const content = settings.decrypt
    ? await decryptMessage(raw, {
        gpg: settings.gpg,
        ...(settings.gnupgHome ? { homedir: settings.gnupgHome } : {}),
      })
    : raw;
  const envelope = envelopeOf(content);
  const local = settings.keepCrlf ? content : toUnixLineEndings(content);
  const target = settings.delivery;
  switch (target.kind) {
    case 'maildir':
      await deliverToMaildir(target.path, local);
      return;
    case 'mbox':
      await deliverToMbox(target.path, content, envelope.sender);
      return;
    case 'mda':
      await deliverToMda(target.command, local, envelope);
      return;
  }
}
