/**
 * The one adapter between Haraka's callback hooks and kzymy's promise-returning checks.
 *
 * Haraka calls `hook(next, object, params)` and ignores what the hook returns: a rejected
 * promise from an async hook crashes the process, and a synchronous throw is logged and the
 * transaction goes on as if the plugin had said CONT (plugins.js run_next_hook). So no kzymy hook
 * is ever written against Haraka directly. This adapter:
 *
 * - awaits the handler, whatever it returns;
 * - turns any throw, rejection or timeout into DENYSOFT with 451 4.3.0 (fail closed);
 * - calls next() exactly once, and ignores a handler that settles after its timeout;
 * - aborts the handler's signal on timeout and when the client goes away, so a slow delivery
 *   can undo its writes instead of storing a message nobody was told about;
 * - logs the outcome with the connection id and never with an address, a key or content.
 */
import { errorKind, type Logger } from '../../log/logger';
import { REPLIES, tempfail, toHookResult, type Decision } from '../decision';
import type { HarakaHook, HarakaPlugin, HarakaSocket, HookNext } from './api';

export interface HookContext<O, P> {
  object: O;
  params: P;
  /** Aborted when the hook timed out or the client disconnected; check it before committing. */
  signal: AbortSignal;
}

/** Returns a decision, or undefined for "no opinion" (Haraka CONT). */
export type HookHandler<O, P> = (
  ctx: HookContext<O, P>,
) => Decision | undefined | Promise<Decision | undefined>;

export interface HookAdapterOptions {
  /** The Haraka hook name, for logs. */
  hook: string;
  timeoutMs: number;
  logger: Logger;
  /** Do not log each outcome (the `log` and `capabilities` hooks run too often to be news). */
  quiet?: boolean;
}

export class HookTimeoutError extends Error {
  override name = 'HookTimeoutError';
}

export class ClientGoneError extends Error {
  override name = 'ClientGoneError';
}

export function adaptHook<O, P>(
  handler: HookHandler<O, P>,
  options: HookAdapterOptions,
): HarakaHook<O, P> {
  const { hook, logger } = options;
  return function adaptedHook(this: HarakaPlugin, next: HookNext, object: O, params: P): void {
    const controller = new AbortController();
    const started = Date.now();
    const conn = connectionId(object);
    const socket = clientSocket(object);
    let finished = false;

    const onClose = (): void => controller.abort(new ClientGoneError('client disconnected'));
    socket?.once('close', onClose);
    const timer = setTimeout(() => {
      controller.abort(new HookTimeoutError(`${hook} hook timed out`));
      logger.warn('smtp.tempfail', { hook, conn, reason: 'timeout', ms: options.timeoutMs });
      finish(tempfail(REPLIES.localError), false);
    }, options.timeoutMs);

    function finish(decision: Decision | undefined, log: boolean): void {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      socket?.removeListener('close', onClose);
      if (log && !options.quiet) logDecision(logger, hook, conn, decision, Date.now() - started);
      const { result, msg } = toHookResult(decision);
      try {
        if (msg === undefined) next(result);
        else next(result, msg);
      } catch (error) {
        // next() runs Haraka's respond path synchronously; nothing sensible is left to do but
        // record it (Haraka has already written its reply or dropped the connection).
        logger.error('smtp.error', { hook, conn, where: 'next', error: errorKind(error) });
      }
    }

    let pending: Promise<Decision | undefined>;
    try {
      pending = Promise.resolve(handler({ object, params, signal: controller.signal }));
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (decision) => finish(decision, true),
      (error: unknown) => {
        if (finished) return;
        logger.error('smtp.error', { hook, conn, error: errorKind(error) });
        finish(tempfail(REPLIES.localError, error), false);
      },
    );
  };
}

/** Wires a handler to a hook on a plugin: `plugin[method] = adapted; register_hook(hook, method)`. */
export function wireHook<O, P>(
  plugin: HarakaPlugin,
  handler: HookHandler<O, P>,
  options: HookAdapterOptions,
): void {
  const method = `kzymy_${options.hook}`;
  (plugin as unknown as Record<string, unknown>)[method] = adaptHook(handler, options);
  plugin.register_hook(options.hook, method);
}

function logDecision(
  logger: Logger,
  hook: string,
  conn: string | undefined,
  decision: Decision | undefined,
  ms: number,
): void {
  if (decision === undefined) return;
  const code = decision.reply?.code;
  switch (decision.kind) {
    case 'accept':
      logger.debug('smtp.accepted', { hook, conn, code, ms });
      return;
    case 'reject':
      // A client's own doing (unknown address, too big): below our own failures.
      logger.info('smtp.refused', {
        hook,
        conn,
        code,
        enhanced: decision.reply.enhanced,
        reason: decision.metric,
        ms,
      });
      return;
    case 'tempfail':
      if (decision.clientCaused) {
        // A full mailbox is the sender's to retry, not a failure of ours.
        logger.info('smtp.refused', {
          hook,
          conn,
          code,
          enhanced: decision.reply.enhanced,
          temporary: true,
          ms,
        });
        return;
      }
      logger.warn('smtp.tempfail', {
        hook,
        conn,
        code,
        enhanced: decision.reply.enhanced,
        reason: decision.metric,
        error: decision.cause === undefined ? undefined : errorKind(decision.cause),
        ms,
      });
      return;
  }
}

function connectionId(object: unknown): string | undefined {
  const uuid = (object as { uuid?: unknown } | null)?.uuid;
  return typeof uuid === 'string' ? uuid : undefined;
}

function clientSocket(object: unknown): HarakaSocket | undefined {
  const client = (object as { client?: Partial<HarakaSocket> } | null)?.client;
  return client && typeof client.once === 'function' && typeof client.removeListener === 'function'
    ? (client as HarakaSocket)
    : undefined;
}
