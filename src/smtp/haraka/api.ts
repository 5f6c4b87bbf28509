/**
 * The small part of Haraka 3.3.4 that kzymy touches, typed. Haraka ships no type definitions;
 * everything here was read from node_modules/Haraka (plugins.js, connection.js, transaction.js)
 * and is pinned by the exact version in package.json and checked at plugin load (data-patch.ts).
 */

/** haraka-constants: what a hook passes to next(). */
export const HOOK_RESULT = {
  CONT: 900,
  DENY: 902,
  DENYSOFT: 903,
  OK: 906,
  /** 4xx, then Haraka closes the connection (connection.js connect_respond: 421). */
  DENYSOFTDISCONNECT: 909,
} as const;
export type HookResult = (typeof HOOK_RESULT)[keyof typeof HOOK_RESULT];

/** haraka-constants connection.state values we compare against. */
export const CONNECTION_STATE = { CMD: 1, DISCONNECTING: 99 } as const;

/**
 * A reply with its own code. Haraka's respond() duck-types this by the constructor's name
 * (connection.js: `msg.constructor.name === 'DSN'`), which is how a hook overrides the default
 * code Haraka would pick for DENY/DENYSOFT (e.g. 451 or 452 at RCPT instead of 450). It is the
 * same shape as the haraka-dsn package's class, without depending on a transitive package.
 */
export class DSN {
  constructor(
    readonly code: number,
    readonly reply: string,
  ) {}

  toString(): string {
    return this.reply;
  }
}

export type HookNext = (result?: HookResult, msg?: DSN | string) => void;

/** @haraka/email-address Address (envelope form). */
export interface HarakaAddress {
  user: string | null;
  /** Lowercased, IDNA A-label. */
  host: string | null;
  /** `user@host` with the host as the client wrote it; '' for the null sender. */
  readonly address: string;
  isNull(): boolean;
}

export interface HarakaTransaction {
  uuid: string;
  mail_from: HarakaAddress | null;
  rcpt_to: HarakaAddress[];
  data_bytes: number;
  discard_data: boolean;
  notes: Record<string, unknown>;
}

export interface HarakaSocket {
  once(event: 'close', listener: () => void): unknown;
  removeListener(event: 'close', listener: () => void): unknown;
}

export interface HarakaConnection {
  uuid: string;
  state: number;
  /**
   * The client's address: held in memory by Haraka, never written by kzymy; read for the
   * per-host connection count (connection-limit.ts) and for SPF (sender-auth.ts).
   */
  remote: { ip: string | null };
  /** EHLO/HELO: `host` as the client gave it. */
  hello?: { host?: string | null };
  transaction: HarakaTransaction | null;
  client: HarakaSocket;
  /** EHLO keywords; a `capabilities` hook may edit the list before it is sent. */
  capabilities: string[] | null;
  data_done(): void;
  accumulate_data(line: Buffer): void;
  respond(code: number, message: string, after?: () => void): void;
  disconnect(): void;
}

/** The `this` of a plugin's register() and hooks (plugins.js class Plugin). */
export interface HarakaPlugin {
  name: string;
  register_hook(hook: string, method: string, priority?: number): void;
  /** require() relative to Haraka's own directory (plugins.js Plugin#haraka_require). */
  haraka_require(name: string): unknown;
}

/** What the `log` hook receives (logger.js `item`): the formatted line and its level. */
export interface HarakaLogItem {
  level: string;
  data: string;
}

/** A hook as Haraka calls it: `plugin[method].call(plugin, next, object, params)`. */
export type HarakaHook<O, P> = (this: HarakaPlugin, next: HookNext, object: O, params: P) => void;
