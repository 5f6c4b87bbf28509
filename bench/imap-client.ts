/**
 * What a user's client does to collect mail, with imapflow: log in, open INBOX, fetch every
 * message whole, flag them all \Deleted and EXPUNGE, log out. The same sequence against kzymy
 * and Dovecot.
 */
import { ImapFlow } from 'imapflow';
import { nowMs } from './stats';

export interface FetchRun {
  messages: number;
  bytes: number;
  /** Connect to LOGOUT completed. */
  ms: number;
}

export async function fetchAndDeleteAll(options: {
  host: string;
  port: number;
  user: string;
  password: string;
}): Promise<FetchRun> {
  const start = nowMs();
  const client = new ImapFlow({
    host: options.host,
    port: options.port,
    secure: false,
    // Loopback, as kzymy's onion-facing listener: no TLS on either server.
    doSTARTTLS: false,
    auth: { user: options.user, pass: options.password },
    logger: false,
    disableAutoIdle: true,
  });
  // imapflow emits 'error' for socket trouble; without a listener it would be thrown.
  let failure: unknown;
  client.on('error', (error: unknown) => (failure = error));
  await client.connect();
  let messages = 0;
  let bytes = 0;
  try {
    const mailbox = await client.mailboxOpen('INBOX');
    if (mailbox.exists > 0) {
      for await (const message of client.fetch('1:*', { uid: true, source: true })) {
        messages++;
        bytes += message.source?.length ?? 0;
      }
      await client.messageDelete('1:*');
    }
  } finally {
    await client.logout();
  }
  if (failure) throw failure;
  return { messages, bytes, ms: nowMs() - start };
}
