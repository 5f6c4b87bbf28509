/**
 * kzymy's Prometheus metrics, on prom-client (a pinned, well-kept library, rather than our own
 * text-format writer). Each process has its own registry, passed in like every other dependency;
 * nothing here is global, so tests build as many as they like.
 *
 * Privacy rule (docs/architecture.md, invariant "Nothing that locates a user"): no metric has a per-user, per-address
 * or per-client label. Every label value comes from a closed set declared below, so the number of
 * series is fixed at start-up and a metric can never be used to count one person's mail. A value
 * outside its set is not recorded; it is counted in `kzymy_metrics_invalid_label_total` instead,
 * because a metrics call must never throw into the SMTP or IMAP path that made it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type PrometheusContentType,
} from 'prom-client';
import { projectRoot } from '../embedded/paths';

/** Why an SMTP recipient or message was refused (each maps to one reply in src/smtp). */
export const REFUSAL_REASONS = [
  'unknown_user',
  'disabled_address',
  'foreign_domain',
  'quota',
  'size',
  'too_many_recipients',
  'tempfail',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** The mailbox protocols a message can be fetched by. */
export const FETCH_PROTOCOLS = ['imap', 'pop3'] as const;
export type FetchProtocol = (typeof FETCH_PROTOCOLS)[number];

/** Why a stored message was deleted (docs/fetching.md). */
export const DELETE_REASONS = [
  'fetched',
  'expunged',
  'grace_expired',
  'retention',
  'user_deleted',
] as const;
export type DeleteReason = (typeof DELETE_REASONS)[number];

/** Where a login can fail. */
export const LOGIN_PROTOCOLS = ['imap', 'pop3', 'web'] as const;
export type LoginProtocol = (typeof LOGIN_PROTOCOLS)[number];

/**
 * Delivery latency buckets, in seconds, from the end of DATA to the ciphertext being stored.
 * Encryption is about 1-2 ms for a small message and 0.2 s for 25 MB (docs/BENCHMARKS.md); storage adds a
 * round trip or a few. Fixed, so every node's histogram aggregates with every other's.
 */
export const DELIVERY_SECONDS_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
] as const;

export interface MetricsOptions {
  /**
   * Also collect prom-client's process and Node.js metrics (CPU, memory, event-loop lag, GC).
   * They describe the process, never a user. Default true.
   */
  processMetrics?: boolean;
  /** Shown in kzymy_build_info; defaults to the package version. */
  version?: string;
}

/** The typed face the rest of kzymy increments; the registry itself is for the admin server. */
export interface KzymyMetrics {
  readonly registry: Registry<PrometheusContentType>;
  /** A message was stored for one recipient and the sender will get (or got) 250. */
  messageAccepted(): void;
  messageRefused(reason: RefusalReason): void;
  messageFetched(protocol: FetchProtocol): void;
  /** `count` messages deleted at once (a sweep or an EXPUNGE removes several). */
  messagesDeleted(reason: DeleteReason, count?: number): void;
  /** Seconds from the end of DATA to the message being stored. */
  observeDeliverySeconds(seconds: number): void;
  /** Starts the delivery clock at the end of DATA; call the result once the message is stored. */
  startDeliveryTimer(): () => void;
  loginFailed(protocol: LoginProtocol): void;
}

export function createMetrics(options: MetricsOptions = {}): KzymyMetrics {
  const registry = new Registry<PrometheusContentType>();
  const registers = [registry];

  const invalidLabel = new Counter({
    name: 'kzymy_metrics_invalid_label_total',
    help: 'Metric updates dropped because a label value was outside its closed set (a kzymy bug).',
    labelNames: ['metric'] as const,
    registers,
  });
  const accepted = new Counter({
    name: 'kzymy_messages_accepted_total',
    help: 'Messages encrypted and stored, one per recipient account.',
    registers,
  });
  const refused = new Counter({
    name: 'kzymy_messages_refused_total',
    help: 'Recipients or messages refused at SMTP, by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const fetched = new Counter({
    name: 'kzymy_messages_fetched_total',
    help: 'Messages fetched by a client, by protocol.',
    labelNames: ['protocol'] as const,
    registers,
  });
  const deleted = new Counter({
    name: 'kzymy_messages_deleted_total',
    help: 'Stored messages deleted, by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const delivery = new Histogram({
    name: 'kzymy_delivery_seconds',
    help: 'Time from the end of DATA to the encrypted message being stored.',
    buckets: [...DELIVERY_SECONDS_BUCKETS],
    registers,
  });
  const loginFailures = new Counter({
    name: 'kzymy_login_failures_total',
    help: 'Failed logins, by protocol (never by account or client).',
    labelNames: ['protocol'] as const,
    registers,
  });
  const buildInfo = new Gauge({
    name: 'kzymy_build_info',
    help: 'Always 1; the label carries the kzymy version.',
    labelNames: ['version'] as const,
    // Summed across the processes of a node it would read 2; every process has the same version.
    aggregator: 'first',
    registers,
  });
  buildInfo.set({ version: options.version ?? packageVersion() }, 1);

  // Every series exists from the start at 0, so a rate() over a fresh process is defined and a
  // dashboard shows "none" rather than "no data".
  for (const reason of REFUSAL_REASONS) refused.inc({ reason }, 0);
  for (const protocol of FETCH_PROTOCOLS) fetched.inc({ protocol }, 0);
  for (const reason of DELETE_REASONS) deleted.inc({ reason }, 0);
  for (const protocol of LOGIN_PROTOCOLS) loginFailures.inc({ protocol }, 0);

  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const member = <T extends string>(set: readonly T[], value: string, metric: string): boolean => {
    if ((set as readonly string[]).includes(value)) return true;
    invalidLabel.inc({ metric });
    return false;
  };

  return {
    registry,
    messageAccepted: () => accepted.inc(),
    messageRefused: (reason) => {
      if (member(REFUSAL_REASONS, reason, 'kzymy_messages_refused_total')) refused.inc({ reason });
    },
    messageFetched: (protocol) => {
      if (member(FETCH_PROTOCOLS, protocol, 'kzymy_messages_fetched_total'))
        fetched.inc({ protocol });
    },
    messagesDeleted: (reason, count = 1) => {
      if (!Number.isFinite(count) || count < 0) {
        invalidLabel.inc({ metric: 'kzymy_messages_deleted_total' });
        return;
      }
      if (member(DELETE_REASONS, reason, 'kzymy_messages_deleted_total'))
        deleted.inc({ reason }, count);
    },
    observeDeliverySeconds: (seconds) => {
      if (Number.isFinite(seconds) && seconds >= 0) delivery.observe(seconds);
    },
    startDeliveryTimer: () => {
      const start = process.hrtime.bigint();
      let done = false;
      return () => {
        if (done) return;
        done = true;
        delivery.observe(Number(process.hrtime.bigint() - start) / 1e9);
      };
    },
    loginFailed: (protocol) => {
      if (member(LOGIN_PROTOCOLS, protocol, 'kzymy_login_failures_total'))
        loginFailures.inc({ protocol });
    },
  };
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}
