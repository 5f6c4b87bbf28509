/**
 * The forwarding worker: every daemon runs one (when `forward.enabled`). For each user with an
 * active destination it sends each stored message there — the stored ciphertext, byte for byte —
 * and deletes it only after the destination's 250, the commit point (as LOGOUT is for IMAP).
 *
 * - 4xx or no connection: the message stays, and the destination is tried again after a backoff
 *   (backoff.ts) until the message is delivered, fetched, or removed by the retention sweep.
 * - 5xx: the message stays for pickup, marked refused so it is not sent again, and the reply is
 *   recorded on the account for the page and `kzymy user show`. Nothing is ever sent to
 *   the original sender: the null reverse-path means no one gets a bounce.
 * - Several daemons: each message is claimed first (store.forwards, ForwardClaims in
 *   src/store/store.ts), so it goes out once.
 *
 * It wakes on new-mail events (any SMTP node's deliveries) and scans every scanIntervalSeconds,
 * which also brings back what was deferred. Logs and metrics carry no address and no user label.
 */
import { Resolver } from 'node:dns/promises';
import type { DaemonDeps } from '../daemon-deps';
import { errorKind } from '../log/logger';
import { MailboxGoneError } from '../store/errors';
import type { StoredMessage, User } from '../store/types';
import { ForwardBackoff } from './backoff';
import type { SendOutcome } from './outcome';
import { resolveRoute, type Endpoint, type MxResolver } from './route';
import { SmtpSession, type OpenResult } from './smtp-client';
import { transportOptions } from './transport';

/**
 * uid 0 in a new-mail event names no message (UIDs start at 1, RFC 3501 §2.3.1.1 nz-number):
 * it says the user's forwarding setting changed, so workers look at her now.
 */
export const FORWARD_NUDGE_UID = 0;

export interface RunReport {
  delivered: number;
  deferred: number;
  refused: number;
}

export interface Forwarder {
  /** Forwards what is waiting for one user now; concurrent calls for one user share a run. */
  runUser(userId: string): Promise<RunReport>;
  /** One pass over every user with an active destination, and the cleanup of old claims. */
  scan(): Promise<void>;
  /** Stops the timer and the event listener, drops open connections, waits for runs. */
  stop(): Promise<void>;
}

export interface ForwarderOptions {
  resolver?: MxResolver;
}

const EMPTY: RunReport = { delivered: 0, deferred: 0, refused: 0 };

export function startForwarder(deps: DaemonDeps, options: ForwarderOptions = {}): Forwarder {
  const { config, store, logger, metrics, clock } = deps;
  const log = logger.child('forward');
  const resolver = options.resolver ?? new Resolver();
  const transport = transportOptions(config);
  // A live holder is done with a message within three steps of timeoutMs (connect, greeting and
  // STARTTLS, data); the lease outlasts that, so it only ever expires for a holder that died.
  const leaseMs = 5 * transport.timeoutMs;
  const backoff = new ForwardBackoff(
    deps.redis,
    config.redis.prefix,
    config.forward.retryMinSeconds * 1000,
    config.forward.retryMaxSeconds * 1000,
  );
  const runs = new Map<string, { promise: Promise<RunReport>; again: boolean }>();
  const sessions = new Set<SmtpSession>();
  /** Users with an active destination as of the last scan: events for others cost nothing. */
  let forwarding = new Set<string>();
  let stopped = false;
  let scanning: Promise<void> | undefined;

  const runUser = (userId: string): Promise<RunReport> => {
    const running = runs.get(userId);
    if (running) {
      // Mail that arrived during a run is picked up by one more run right after it.
      running.again = true;
      return running.promise;
    }
    const entry = { promise: Promise.resolve(EMPTY), again: false };
    entry.promise = (async () => {
      let total = { ...EMPTY };
      do {
        entry.again = false;
        const report = await forwardUser(userId).catch((error: unknown) => {
          log.error('forward.error', { kind: errorKind(error) });
          return EMPTY;
        });
        total = {
          delivered: total.delivered + report.delivered,
          deferred: total.deferred + report.deferred,
          refused: total.refused + report.refused,
        };
      } while (entry.again && !stopped);
      return total;
    })().finally(() => runs.delete(userId));
    runs.set(userId, entry);
    return entry.promise;
  };

  async function forwardUser(userId: string): Promise<RunReport> {
    const report = { ...EMPTY };
    if (stopped) return report;
    const user = await store.users.byId(userId);
    const forward = user?.forward;
    if (!user || user.state !== 'active' || forward?.state !== 'active') {
      forwarding.delete(userId);
      return report;
    }
    forwarding.add(userId);
    if (!(await backoff.due(userId, clock().getTime()))) return report;
    // Messages a client has received are in its hands; its LOGOUT (or the grace sweep) deletes them.
    const waiting = (await store.messages.list(userId)).filter((m) => m.fetchedAt === null);
    if (waiting.length === 0) return report;

    const route = await resolveRoute(forward, resolver);
    if (route.kind === 'deferred') {
      await deferred(user, route.outcome, report);
      return report;
    }
    let session: SmtpSession | null = null;
    try {
      for (const message of waiting) {
        if (stopped) break;
        const claim = await store.forwards.claim(userId, message.id, leaseMs);
        if (!claim) continue;
        let outcome: SendOutcome;
        try {
          // Whoever held it before may have finished it: deleted, or refused and kept.
          if (
            (await store.forwards.refusal(userId, message.id)) !== null ||
            !(await store.messages.exists(userId, message.id))
          ) {
            await store.forwards.release(claim);
            continue;
          }
          if (route.kind === 'refused') {
            outcome = route.outcome;
          } else {
            const bytes = await ciphertext(userId, message);
            if (bytes === null) {
              await store.forwards.release(claim);
              continue;
            }
            if (session === null) {
              const opened = await openSession(route.endpoints);
              session = opened.ok ? opened.session : null;
              outcome = opened.ok
                ? await opened.session.send(forward.address, bytes)
                : opened.outcome;
            } else {
              outcome = await session.send(forward.address, bytes);
            }
          }
        } catch (error) {
          await store.forwards.release(claim).catch(() => undefined);
          throw error;
        }
        if (outcome.kind === 'delivered') {
          // After the 250: the destination has it, so it goes here. The claim is released only
          // after the delete, so a daemon claiming next finds it gone.
          const removed = await store.messages.remove(userId, [message.id]);
          await store.forwards.release(claim);
          metrics.forwardAttempted('delivered');
          if (removed > 0) metrics.messagesDeleted('forwarded', removed);
          report.delivered += 1;
          continue;
        }
        if (outcome.kind === 'refused') {
          const failure = { at: clock(), code: outcome.code, status: outcome.status };
          await store.forwards.refuse(claim, failure);
          await store.users.setForwardFailure(userId, forward.address, failure);
          metrics.forwardAttempted('refused');
          log.warn('forward.refused', { code: outcome.code, status: outcome.status });
          report.refused += 1;
          // The session ended with the failed transaction; the next message opens a new one.
          session = drop(session);
          continue;
        }
        await store.forwards.release(claim);
        await deferred(user, outcome, report);
        break;
      }
    } finally {
      drop(session);
    }
    if (report.delivered > 0) {
      log.info('forward.delivered', { count: report.delivered });
      await backoff.reset(userId);
      if (forward.failure && report.refused === 0) {
        await store.users.setForwardFailure(userId, forward.address, null);
      }
    }
    return report;
  }

  async function openSession(endpoints: readonly Endpoint[]): Promise<OpenResult> {
    const opened = await SmtpSession.open(endpoints, transport);
    if (opened.ok && stopped) {
      opened.session.close();
      return { ok: false, outcome: { kind: 'deferred', reason: 'connect', code: null } };
    }
    if (opened.ok) sessions.add(opened.session);
    return opened;
  }

  /** Closes a session (if still open) and forgets it; returns null for the caller's variable. */
  function drop(session: SmtpSession | null): null {
    if (session) {
      session.close();
      sessions.delete(session);
    }
    return null;
  }

  async function deferred(
    user: User,
    outcome: Extract<SendOutcome, { kind: 'deferred' }>,
    report: RunReport,
  ): Promise<void> {
    const next = await backoff.failed(user.id, clock().getTime());
    metrics.forwardAttempted('deferred');
    log.info('forward.deferred', {
      reason: outcome.reason,
      code: outcome.code,
      retryInSeconds: Math.round((next - clock().getTime()) / 1000),
    });
    report.deferred += 1;
  }

  /** The whole ciphertext, or null if the message was deleted meanwhile (fetched over IMAP). */
  async function ciphertext(userId: string, message: StoredMessage): Promise<Buffer | null> {
    // Read whole before the first byte goes out: a deletion fails here, not half-way through
    // the data, where the destination could keep a torso.
    try {
      return await store.messages.read(userId, message);
    } catch (error) {
      if (error instanceof MailboxGoneError) return null;
      throw error;
    }
  }

  const scan = (): Promise<void> => {
    scanning ??= (async () => {
      const ids = await store.users.forwardingUserIds();
      forwarding = new Set(ids);
      for (const id of ids) {
        if (stopped) return;
        await runUser(id);
      }
      const removed = await store.forwards.removeStale(
        (userId, messageId) => store.messages.exists(userId, messageId),
        leaseMs,
      );
      if (removed > 0) log.debug('forward.cleaned', { count: removed });
    })().finally(() => {
      scanning = undefined;
    });
    return scanning;
  };

  const unsubscribe = deps.subscriber.on((event) => {
    if (stopped) return;
    if (event.uid !== FORWARD_NUDGE_UID && !forwarding.has(event.userId)) return;
    void runUser(event.userId);
  });
  const timer = setInterval(() => {
    if (stopped) return;
    scan().catch((error: unknown) => log.error('forward.error', { kind: errorKind(error) }));
  }, config.forward.scanIntervalSeconds * 1000);
  timer.unref();
  // The first scan now: mail that waited while no daemon ran goes out without waiting a period.
  setImmediate(() => {
    if (!stopped)
      scan().catch((error: unknown) => log.error('forward.error', { kind: errorKind(error) }));
  });

  return {
    runUser,
    scan,
    async stop() {
      stopped = true;
      clearInterval(timer);
      unsubscribe();
      for (const session of sessions) session.close();
      await Promise.allSettled([...runs.values()].map((run) => run.promise));
      await scanning?.catch(() => undefined);
    },
  };
}
