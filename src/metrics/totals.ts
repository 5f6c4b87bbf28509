/**
 * Totals read from the store at scrape time: messages and ciphertext bytes stored, accounts by
 * state. Each is a count over everyone — no user, address or key is a label. The store is asked
 * at most once a minute (on sqlite these read indexes only; on the embedded FerretDB they are
 * scans); a failed read keeps the previous values, and the age of the values is a gauge of its
 * own.
 */
import { Gauge, type PrometheusContentType, type Registry } from 'prom-client';
import { USER_STATES, type UserState } from '../store/types';

export interface TotalsSource {
  messages: { totals(): Promise<{ messages: number; bytes: number }> };
  users: { countByState(): Promise<Record<UserState, number>> };
}

export interface TotalsOptions {
  /** How old the values may be before a scrape reads the store again. */
  maxAgeMs?: number;
  now?: () => number;
}

export function registerStoreTotals(
  registry: Registry<PrometheusContentType>,
  source: TotalsSource,
  options: TotalsOptions = {},
): void {
  const maxAgeMs = options.maxAgeMs ?? 60_000;
  const now = options.now ?? Date.now;
  let readAt = 0;
  let reading: Promise<void> | undefined;
  const values = {
    messages: 0,
    bytes: 0,
    users: Object.fromEntries(USER_STATES.map((state) => [state, 0])) as Record<UserState, number>,
  };

  const refresh = (): Promise<void> => {
    if (now() - readAt < maxAgeMs) return Promise.resolve();
    reading ??= (async () => {
      try {
        const [totals, users] = await Promise.all([
          source.messages.totals(),
          source.users.countByState(),
        ]);
        values.messages = totals.messages;
        values.bytes = totals.bytes;
        values.users = users;
        readAt = now();
      } catch {
        // The store is down: the previous values stay, kzymy_store_totals_age_seconds grows.
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  };

  const registers = [registry];
  // Every daemon reports the same store: across processes, one value is the value.
  new Gauge({
    name: 'kzymy_stored_messages',
    help: 'Messages stored, waiting to be fetched, for all users together.',
    aggregator: 'max',
    registers,
    async collect() {
      await refresh();
      this.set(values.messages);
    },
  });
  new Gauge({
    name: 'kzymy_stored_bytes',
    help: 'Ciphertext bytes stored, for all users together.',
    aggregator: 'max',
    registers,
    async collect() {
      await refresh();
      this.set(values.bytes);
    },
  });
  new Gauge({
    name: 'kzymy_users',
    help: 'Accounts by state (pending: signed up, not activated yet).',
    labelNames: ['state'] as const,
    aggregator: 'max',
    registers,
    async collect() {
      await refresh();
      for (const state of USER_STATES) this.set({ state }, values.users[state] ?? 0);
    },
  });
  new Gauge({
    name: 'kzymy_store_totals_age_seconds',
    help: 'How old the stored-totals gauges are (they are read at most once a minute).',
    aggregator: 'max',
    registers,
    async collect() {
      await refresh();
      this.set(readAt === 0 ? -1 : (now() - readAt) / 1000);
    },
  });
}
