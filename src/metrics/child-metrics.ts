/**
 * Metrics of a child process, gathered over its IPC channel, so that one admin listener per node
 * serves the whole node. Haraka runs in its own process (src/smtp/haraka/runner.ts): the counters
 * the SMTP side increments (accepted, refused, delivery latency) live there, and the parent's
 * /metrics asks the child for them at scrape time and adds them to its own (prom-client's
 * AggregatorRegistry: counters and histograms are summed, process gauges kept per their rule).
 *
 * The child needs an IPC channel: start it with child_process.fork, or spawn with an 'ipc'
 * stdio slot. Messages carry only metric JSON — the same text /metrics serves.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type PrometheusContentType, type Registry } from 'prom-client';

const REQUEST = 'kzymy.metrics.request';
const REPLY = 'kzymy.metrics.reply';

/** What the admin server serves: a prom-client Registry is one, and so is an aggregate. */
export interface MetricsSource {
  metrics(): Promise<string>;
  readonly contentType: string;
}

/** getMetricsAsJSON() output, kept opaque: only prom-client reads it. */
type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

interface Request {
  type: typeof REQUEST;
  id: string;
}
interface Reply {
  type: typeof REPLY;
  id: string;
  metrics: MetricsJson;
}

/** Child side: answer the parent's metrics requests. Returns a function that stops answering. */
export function answerMetricsRequests(
  registry: Registry<PrometheusContentType>,
  proc: NodeJS.Process = process,
): () => void {
  const listener = (message: unknown): void => {
    if (!isRequest(message) || !proc.send) return;
    registry.getMetricsAsJSON().then(
      (metrics) => {
        if (proc.connected) proc.send?.({ type: REPLY, id: message.id, metrics } satisfies Reply);
      },
      () => undefined,
    );
  };
  proc.on('message', listener);
  return () => {
    proc.off('message', listener);
  };
}

/** Parent side: one child's metrics, or undefined if it has no channel or does not answer. */
export function requestChildMetrics(
  child: ChildProcess,
  timeoutMs = 2000,
): Promise<MetricsJson | undefined> {
  if (!child.connected || !child.send) return Promise.resolve(undefined);
  const id = randomUUID();
  return new Promise((resolve) => {
    const finish = (value: MetricsJson | undefined): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(value);
    };
    const onMessage = (message: unknown): void => {
      if (isReply(message) && message.id === id) finish(message.metrics);
    };
    const onExit = (): void => finish(undefined);
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
    try {
      child.send({ type: REQUEST, id } satisfies Request, (error) => {
        if (error) finish(undefined);
      });
    } catch {
      finish(undefined);
    }
  });
}

/**
 * This process's registry plus its children's, as one MetricsSource. `children` is read at each
 * scrape, so a restarted child is picked up. A child that does not answer in time is left out of
 * that scrape (its counters reappear with the next one; Prometheus' rate() handles the gap).
 */
export function aggregatedMetrics(
  own: Registry<PrometheusContentType>,
  children: () => readonly ChildProcess[],
  timeoutMs = 2000,
): MetricsSource {
  return {
    contentType: own.contentType,
    async metrics() {
      const parts = await Promise.all([
        own.getMetricsAsJSON(),
        ...children().map((child) => requestChildMetrics(child, timeoutMs)),
      ]);
      const present = parts.filter((part): part is MetricsJson => part !== undefined);
      return AggregatorRegistry.aggregate<PrometheusContentType>(present).metrics();
    },
  };
}

function isRequest(message: unknown): message is Request {
  const m = message as Partial<Request> | null;
  return typeof m === 'object' && m !== null && m.type === REQUEST && typeof m.id === 'string';
}

function isReply(message: unknown): message is Reply {
  const m = message as Partial<Reply> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    m.type === REPLY &&
    typeof m.id === 'string' &&
    Array.isArray(m.metrics)
  );
}
