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
import { projectRoot } from '../util/project-root';

/**
 * Why an SMTP recipient or message was refused (each maps to one reply in src/smtp). Also the
 * `reason` of the smtp.refused and smtp.tempfail log lines: a closed set.
 */
export const REFUSAL_REASONS = [
  'unknown_user',
  'account_inactive',
  'account_disabled',
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
  'forwarded',
] as const;
export type DeleteReason = (typeof DELETE_REASONS)[number];

/** Why a signup's proof of work was refused (src/web/pow.ts). */
export const POW_FAILURES = [
  'malformed',
  'forged',
  'expired',
  'too_easy',
  'wrong_solution',
  'replayed',
] as const;
export type PowFailure = (typeof POW_FAILURES)[number];
/** What became of one message (or one forwarding code) sent to a destination (src/forward/). */
export const FORWARD_RESULTS = ['delivered', 'deferred', 'refused'] as const;
export type ForwardResult = (typeof FORWARD_RESULTS)[number];

/** Where a login can fail. */
export const LOGIN_PROTOCOLS = ['imap', 'pop3', 'web', 'submission'] as const;
export type LoginProtocol = (typeof LOGIN_PROTOCOLS)[number];

/** Every listener kzymy runs (the two of IMAP and of POP3 apart). */
export const LISTENERS = ['smtp', 'imap', 'imaps', 'pop3', 'pop3s', 'web'] as const;
export type ListenerName = (typeof LISTENERS)[number];

/**
 * What a connection limit did (src/connection-limits/gate.ts, src/smtp/connection-limit.ts):
 * refused a newcomer, closed an idle connection to make room, closed one that did not log in in
 * time, refused a login over the per-user cap, refused a host over its own cap, cut a command
 * line that was too long.
 */
export const CONNECTION_LIMIT_ACTIONS = [
  'refused',
  'evicted',
  'login_timeout',
  'user_limit',
  'host_limit',
  'line_too_long',
] as const;
export type ConnectionLimitAction = (typeof CONNECTION_LIMIT_ACTIONS)[number];

/** The embedded services a kzymy process may start and restart (src/embedded/supervisor.ts). */
export const EMBEDDED_SERVICES = ['redis', 'ferretdb'] as const;
export type EmbeddedService = (typeof EMBEDDED_SERVICES)[number];

/**
 * Why a message submitted for sending as the nym was refused (each maps to one reply in
 * src/submission/decision.ts): a closed set, for the metrics and the log.
 */
export const SUBMISSION_REFUSALS = [
  'sending_off',
  'sender',
  'too_many_recipients',
  'unsigned',
  'wrong_key',
  'bad_signature',
  'stale_signature',
  'from',
  'identifying_signed_header',
  'malformed',
  'hourly_cap',
  'daily_cap',
  'relay_refused',
  'relay_unavailable',
  'tempfail',
] as const;
export type SubmissionRefusal = (typeof SUBMISSION_REFUSALS)[number];

/** What became of a message submitted for sending as the nym. */
export const SUBMISSION_OUTCOMES = ['sent', ...SUBMISSION_REFUSALS] as const;
export type SubmissionOutcome = (typeof SUBMISSION_OUTCOMES)[number];

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
  /**
   * Counts a protocol's open connections at every scrape: `count` is asked then (the servers'
   * connection sets). Returns the function that stops counting (the listener closed).
   */
  watchSessions(protocol: FetchProtocol, count: () => number): () => void;
  /** An account was created by the web signup (pending until activated). */
  signupCreated(): void;
  powFailed(reason: PowFailure): void;
  /** A sweep finished at `at`. */
  sweepFinished(at: Date): void;
  connectionLimited(listener: ListenerName, action: ConnectionLimitAction): void;
  /** Connections a listener holds now. */
  connectionsOpen(listener: ListenerName, count: number): void;
  /** An embedded service died and was started again. */
  serviceRestarted(service: EmbeddedService): void;
  /** One message sent to a forwarding destination: 250, 4xx or no connection, or 5xx. */
  forwardAttempted(result: ForwardResult): void;
  /** One code message sent to a destination being set up. */
  forwardCodeSent(result: ForwardResult): void;
  /** A message submitted for sending: sent, or why not (never by user or recipient). */
  submission(outcome: SubmissionOutcome): void;
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
  const sessionSources = new Map<FetchProtocol, Set<() => number>>(
    FETCH_PROTOCOLS.map((protocol) => [protocol, new Set()]),
  );
  new Gauge({
    name: 'kzymy_sessions',
    help: 'Open IMAP and POP3 connections of this process, by protocol.',
    labelNames: ['protocol'] as const,
    registers,
    collect() {
      for (const [protocol, sources] of sessionSources) {
        let total = 0;
        for (const source of sources) total += source();
        this.set({ protocol }, total);
      }
    },
  });
  const signups = new Counter({
    name: 'kzymy_signups_total',
    help: 'Accounts created by the web signup (pending until activated).',
    registers,
  });
  const powFailures = new Counter({
    name: 'kzymy_pow_failures_total',
    help: 'Signup proofs of work refused, by reason.',
    labelNames: ['reason'] as const,
    registers,
  });
  const lastSweep = new Gauge({
    name: 'kzymy_sweeper_last_run_timestamp_seconds',
    help: 'When this process last finished a sweep (Unix time); 0 before the first.',
    // Across the processes of a node, the latest run is the one that tells.
    aggregator: 'max',
    registers,
  });
  lastSweep.set(0);
  const connectionLimits = new Counter({
    name: 'kzymy_connection_limits_total',
    help: 'Connections refused or closed by a limit, by listener and action (never by client).',
    labelNames: ['listener', 'action'] as const,
    registers,
  });
  const connectionsOpen = new Gauge({
    name: 'kzymy_connections_open',
    help: 'Connections each listener holds now.',
    labelNames: ['listener'] as const,
    registers,
  });
  const serviceRestarts = new Counter({
    name: 'kzymy_service_restarts_total',
    help: 'Embedded services (redis-server, FerretDB) that died and were started again.',
    labelNames: ['service'] as const,
    registers,
  });
  const forwards = new Counter({
    name: 'kzymy_forwards_total',
    help: 'Messages sent to forwarding destinations, by result (never by user or destination).',
    labelNames: ['result'] as const,
    registers,
  });
  const forwardCodes = new Counter({
    name: 'kzymy_forward_codes_total',
    help: 'Codes mailed to new forwarding destinations, by result.',
    labelNames: ['result'] as const,
    registers,
  });
  const submissions = new Counter({
    name: 'kzymy_submissions_total',
    help: 'Messages submitted for sending as the nym, by outcome (sent, or why not).',
    labelNames: ['outcome'] as const,
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
  for (const reason of POW_FAILURES) powFailures.inc({ reason }, 0);
  for (const service of EMBEDDED_SERVICES) serviceRestarts.inc({ service }, 0);
  for (const listener of LISTENERS)
    for (const action of CONNECTION_LIMIT_ACTIONS) connectionLimits.inc({ listener, action }, 0);
  for (const result of FORWARD_RESULTS) {
    forwards.inc({ result }, 0);
    forwardCodes.inc({ result }, 0);
  }
  for (const outcome of SUBMISSION_OUTCOMES) submissions.inc({ outcome }, 0);

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
    watchSessions: (protocol, count) => {
      const sources = sessionSources.get(protocol);
      if (!sources) {
        invalidLabel.inc({ metric: 'kzymy_sessions' });
        return () => undefined;
      }
      sources.add(count);
      return () => sources.delete(count);
    },
    signupCreated: () => signups.inc(),
    powFailed: (reason) => {
      if (member(POW_FAILURES, reason, 'kzymy_pow_failures_total')) powFailures.inc({ reason });
    },
    sweepFinished: (at) => lastSweep.set(at.getTime() / 1000),
    connectionLimited: (listener, action) => {
      if (
        member(LISTENERS, listener, 'kzymy_connection_limits_total') &&
        member(CONNECTION_LIMIT_ACTIONS, action, 'kzymy_connection_limits_total')
      )
        connectionLimits.inc({ listener, action });
    },
    connectionsOpen: (listener, count) => {
      if (member(LISTENERS, listener, 'kzymy_connections_open') && Number.isFinite(count))
        connectionsOpen.set({ listener }, count);
    },
    serviceRestarted: (service) => {
      if (member(EMBEDDED_SERVICES, service, 'kzymy_service_restarts_total'))
        serviceRestarts.inc({ service });
    },
    forwardAttempted: (result) => {
      if (member(FORWARD_RESULTS, result, 'kzymy_forwards_total')) forwards.inc({ result });
    },
    forwardCodeSent: (result) => {
      if (member(FORWARD_RESULTS, result, 'kzymy_forward_codes_total'))
        forwardCodes.inc({ result });
    },
    submission: (outcome) => {
      if (member(SUBMISSION_OUTCOMES, outcome, 'kzymy_submissions_total'))
        submissions.inc({ outcome });
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
