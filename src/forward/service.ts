/**
 * What a user (on the account page) or the operator (`kzymy user set`) can do with forwarding:
 * name a destination, which mails it a code encrypted to her key; type the code back, which
 * activates it; stop; and try the messages a destination refused once more. One place, so the
 * page and the CLI cannot drift apart.
 *
 * The destination address goes to the store and to the destination, never to a log line or a
 * metric label.
 */
import { Resolver } from 'node:dns/promises';
import type { KzymyConfig } from '../config/schema';
import type { DaemonDeps } from '../daemon-deps';
import type { Logger } from '../log/logger';
import type { KzymyMetrics } from '../metrics/registry';
import type { Store } from '../store/store';
import type { ForwardSetting, User } from '../store/types';
import {
  activationCodeMatches,
  hashActivationCode,
  newActivationCode,
} from '../auth/activation-code';
import { CODES_PER_HOUR, redisCodeLimit, type CodeLimit } from './code-limit';
import { codeMessage } from './code-message';
import { formatHost, parseDestination } from './destination';
import { formatReply, type SendOutcome } from './outcome';
import { resolveRoute, type MxResolver } from './route';
import { SmtpSession } from './smtp-client';
import { transportOptions } from './transport';
import { FORWARD_NUDGE_UID } from './worker';

export interface ForwardDeps {
  config: Readonly<KzymyConfig>;
  store: Store;
  logger: Logger;
  /** Absent in the CLI, which has no metrics endpoint. */
  metrics?: KzymyMetrics;
  clock: () => Date;
  resolver: MxResolver;
  /** Tells the forwarding workers to look at this user now (a new-mail event). */
  nudge?: (user: User) => Promise<void>;
  /** How many code messages an account may send (the web); none for the operator's CLI. */
  codeLimit?: CodeLimit;
}

export type ProposeResult =
  | { ok: true; validMinutes: number }
  | { ok: false; problem: string; limited?: boolean };

export type ConfirmResult = 'active' | 'wrong' | 'expired' | 'not-pending';

/** What the account page and `kzymy user show` show. */
export interface ForwardStatus {
  setting: ForwardSetting | null;
  /** Messages a destination refused, waiting for pickup. */
  refused: number;
}

export class ForwardService {
  constructor(private readonly deps: ForwardDeps) {}

  /**
   * Names a destination: checks it, mails the code there, and only if the destination took that
   * message (250) stores it as pending. On any failure nothing changes, an active destination
   * included.
   */
  async propose(user: User, addressInput: string, hostInput: string): Promise<ProposeResult> {
    const { config, store, logger, clock } = this.deps;
    const parsed = parseDestination(addressInput, hostInput, config.domain);
    if (!parsed.ok) return parsed;
    const { destination } = parsed;
    if (this.deps.codeLimit && !(await this.deps.codeLimit.take(user.id, clock()))) {
      return {
        ok: false,
        limited: true,
        problem: `That is ${CODES_PER_HOUR} code messages this hour already. Nothing was sent; try again later.`,
      };
    }
    const setting = {
      address: destination.address,
      host: formatHost(destination.host, destination.port),
    };
    const code = newActivationCode();
    const validMinutes = Math.max(1, Math.round(config.forward.codeTtlSeconds / 60));
    const now = clock();
    const message = await codeMessage({
      username: user.username,
      domain: config.domain,
      publicKey: user.publicKey,
      destination: destination.address,
      code,
      validMinutes,
      now,
      format: user.payloadFormat,
    });
    const outcome = await this.sendOne(setting, message);
    this.deps.metrics?.forwardCodeSent(outcome.kind);
    if (outcome.kind !== 'delivered') {
      logger.info('forward.code_failed', {
        user: user.id,
        outcome: outcome.kind,
        reason: outcome.kind === 'deferred' ? outcome.reason : null,
        code: outcome.code,
      });
      return { ok: false, problem: problemText(outcome) };
    }
    await store.users.setForward(user.id, {
      ...setting,
      state: 'pending',
      codeHash: hashActivationCode(code),
      codeExpiresAt: new Date(now.getTime() + config.forward.codeTtlSeconds * 1000),
      failure: null,
    });
    logger.info('forward.code_sent', { user: user.id });
    return { ok: true, validMinutes };
  }

  /**
   * Activates the pending destination if `code` is the one mailed there and has not expired. A
   * wrong code changes nothing and is not counted: the code has 100 random bits, and counting
   * would hand whoever sees the form a way to lock the user out.
   */
  async confirm(user: User, code: string): Promise<ConfirmResult> {
    const { store, logger, clock } = this.deps;
    const forward = (await store.users.byId(user.id))?.forward;
    if (!forward || forward.state !== 'pending' || !forward.codeHash) return 'not-pending';
    if (!forward.codeExpiresAt || forward.codeExpiresAt.getTime() <= clock().getTime()) {
      return 'expired';
    }
    if (!activationCodeMatches(code, forward.codeHash)) return 'wrong';
    await store.users.setForward(user.id, {
      ...forward,
      state: 'active',
      codeHash: null,
      codeExpiresAt: null,
      failure: null,
    });
    // A new destination gets another chance at what an earlier one refused.
    await store.forwards.forgetRefusals(user.id);
    logger.info('forward.activated', { user: user.id });
    await this.deps.nudge?.(user).catch(() => undefined);
    return 'active';
  }

  /** Stops forwarding: mail waits for pickup again. */
  async stop(user: User): Promise<void> {
    await this.deps.store.users.clearForward(user.id);
    // Which messages a destination refused is of no use without one.
    await this.deps.store.forwards.forgetRefusals(user.id);
    this.deps.logger.info('forward.stopped', { user: user.id });
  }

  /** Forgets the refusals, so the kept messages are offered to the destination once more. */
  async retryRefused(user: User): Promise<number> {
    const { store } = this.deps;
    const forgotten = await store.forwards.forgetRefusals(user.id);
    const forward = (await store.users.byId(user.id))?.forward;
    if (forward) await store.users.setForwardFailure(user.id, forward.address, null);
    this.deps.logger.info('forward.retry', { user: user.id, count: forgotten });
    await this.deps.nudge?.(user).catch(() => undefined);
    return forgotten;
  }

  async status(user: User): Promise<ForwardStatus> {
    const { store } = this.deps;
    const fresh = await store.users.byId(user.id);
    return {
      setting: fresh?.forward ?? null,
      refused: await store.forwards.refusedCount(user.id),
    };
  }

  private async sendOne(
    setting: { address: string; host: string | null },
    message: Buffer,
  ): Promise<SendOutcome> {
    const route = await resolveRoute(setting, this.deps.resolver);
    if (route.kind !== 'hosts') return route.outcome;
    const opened = await SmtpSession.open(route.endpoints, transportOptions(this.deps.config));
    if (!opened.ok) return opened.outcome;
    try {
      return await opened.session.send(setting.address, message);
    } finally {
      opened.session.close();
    }
  }
}

/** The sentence the user sees when the code could not be delivered. */
function problemText(outcome: Exclude<SendOutcome, { kind: 'delivered' }>): string {
  const unchanged = 'Nothing was changed.';
  if (outcome.kind === 'refused') {
    return `The destination refused the message with the code (${formatReply(outcome)}). Check the address. ${unchanged}`;
  }
  if (outcome.code !== null) {
    return `The destination asked to try again later (${outcome.code}). ${unchanged} Try again in a while.`;
  }
  const why: Record<typeof outcome.reason, string> = {
    dns: 'its mail server could not be looked up',
    proxy: 'the server’s Tor proxy is not answering',
    connect: 'its mail server could not be reached',
    timeout: 'its mail server did not answer in time',
    tls: 'the TLS handshake with its mail server failed',
    protocol: 'its mail server did not speak SMTP as expected',
    reply: 'its mail server asked to try again later',
    'private-host': 'it points at a private network address',
  };
  return `kzymy could not send the code: ${why[outcome.reason]}. ${unchanged}`;
}

/** The service of a running daemon, or null when the operator has not enabled forwarding. */
export function daemonForwardService(deps: DaemonDeps): ForwardService | null {
  if (!deps.config.forward.enabled) return null;
  return new ForwardService({
    config: deps.config,
    store: deps.store,
    logger: deps.logger.child('forward'),
    metrics: deps.metrics,
    clock: deps.clock,
    resolver: new Resolver(),
    nudge: (user) => deps.publisher.publish({ userId: user.id, uid: FORWARD_NUDGE_UID }),
    codeLimit: redisCodeLimit(deps.redis, deps.config.redis.prefix),
  });
}
