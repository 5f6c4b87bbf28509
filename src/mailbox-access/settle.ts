/**
 * The one bridge from kzymy's promise-based handlers to the callback contracts of WildDuck's
 * engines. The engines catch nothing: a throw inside a handler, or inside the engine code a
 * callback runs, would take the whole daemon down. `settle` runs the task, delivers its outcome
 * exactly once, and routes every error (ours or the engine's) to `onError` instead.
 */

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };
export type Deliver<T> = (outcome: Outcome<T>) => void;

export function settle<T>(
  task: () => Promise<T>,
  deliver: Deliver<T>,
  onError: (error: unknown) => void,
): void {
  let delivered = false;
  const once = (outcome: Outcome<T>): void => {
    if (delivered) return;
    delivered = true;
    try {
      deliver(outcome);
    } catch (thrown) {
      onError(thrown);
    }
  };
  let promise: Promise<T>;
  try {
    promise = task();
  } catch (thrown) {
    promise = Promise.reject(thrown);
  }
  promise.then(
    (value) => once({ ok: true, value }),
    (error: unknown) => {
      onError(error);
      once({ ok: false, error: error instanceof Error ? error : new Error('handler failed') });
    },
  );
}

/** Runs a fire-and-forget task; a rejection is reported, never left unhandled. */
export function detach(task: () => Promise<unknown>, onError: (error: unknown) => void): void {
  settle(task, () => undefined, onError);
}
