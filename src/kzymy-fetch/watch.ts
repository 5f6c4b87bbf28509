/**
 * --watch: stay connected and deliver mail as it arrives. IMAP keeps one session and waits in
 * IDLE (RFC 2177; re-issued before the 29-minute limit of §3); POP3, which has no push, polls.
 * A lost connection is retried with growing pauses; a wrong password or a broken configuration
 * ends the watch, because retrying cannot fix them.
 */
import { FetchError } from './errors';
import { fetchPass, openSession, type RunContext } from './run';
import type { MailSession } from './session';

const FIRST_BACKOFF_MS = 5_000;
const MAX_BACKOFF_MS = 5 * 60_000;
const FATAL = new Set(['auth', 'config', 'usage', 'busy']);

export async function watch(
  context: RunContext,
  signal: AbortSignal,
  report: (error: Error) => void,
): Promise<void> {
  let backoff = FIRST_BACKOFF_MS;
  while (!signal.aborted) {
    let session: MailSession | null = null;
    try {
      session = await openSession(context);
      if (session.waitForMail) {
        for (;;) {
          await fetchPass(session, context, false);
          backoff = FIRST_BACKOFF_MS;
          if (signal.aborted) break;
          await session.waitForMail(context.settings.idleSeconds * 1000, signal);
          if (signal.aborted) break;
        }
        await session.commit();
      } else {
        await fetchPass(session, context, true);
        backoff = FIRST_BACKOFF_MS;
        await delay(context.settings.pollSeconds * 1000, signal);
      }
    } catch (error) {
      session?.abort();
      if (error instanceof FetchError && FATAL.has(error.kind)) throw error;
      if (signal.aborted) return;
      report(error as Error);
      await delay(backoff, signal);
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
