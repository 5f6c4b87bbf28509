/**
 * Runs one target's inputs with fast-check (the engine: docs/fuzzing.md says why this one) and
 * reports what happened. A crash is any exception escaping the target's `run` — including one
 * thrown from a callback while the input ran (an uncaught exception or unhandled rejection,
 * which would take a server process down) — or an input slower than the target's bound.
 * A failure is shrunk to a small input; seed and path replay it exactly.
 */
import * as fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import { InvariantError, type FuzzTarget } from './target';

export interface EngineOptions {
  /** Inputs to generate (fast-check numRuns). */
  runs: number;
  seed: number;
  /** Replays one failure found before (fast-check's counterexample path). */
  path?: string;
  /**
   * Multiplies the targets' time bounds. The smoke test in `npm test` uses a large factor: it
   * must not fail because a shared CI machine is busy; the fuzz runs keep the bounds.
   */
  slowFactor?: number;
  /** Called at most once a second with the number of inputs run so far. */
  onProgress?(inputs: number): void;
}

export interface Failure {
  /** The error of the shrunk counterexample. */
  error: string;
  /** fc.stringify of the shrunk input. */
  input: string;
  /** With the seed, replays exactly this failure: `npm run fuzz -- NAME --seed S --path P`. */
  path: string;
}

export interface EngineResult {
  target: string;
  seed: number;
  /** Generated inputs run (fast-check numRuns; shrinking runs are counted apart). */
  inputs: number;
  shrinks: number;
  ms: number;
  failure: Failure | null;
}

/** Collects errors that escape to the process while an input runs. */
class EscapeCatcher {
  private readonly escaped: unknown[] = [];
  private readonly onError = (error: unknown): void => {
    this.escaped.push(error);
  };

  arm(): void {
    process.on('uncaughtException', this.onError);
    process.on('unhandledRejection', this.onError);
  }

  disarm(): void {
    process.off('uncaughtException', this.onError);
    process.off('unhandledRejection', this.onError);
  }

  /** Throws the first escaped error (as a crash of the current input), then forgets them. */
  rethrow(): void {
    const first = this.escaped[0];
    if (this.escaped.length === 0) return;
    this.escaped.length = 0;
    const text = first instanceof Error ? (first.stack ?? first.message) : String(first);
    throw new InvariantError(`an error escaped to the process: ${text}`);
  }
}

export async function runEngine(
  target: FuzzTarget,
  context: unknown,
  options: EngineOptions,
): Promise<EngineResult> {
  const escapes = new EscapeCatcher();
  let reported = performance.now();
  const slowMs = target.slowMs * (options.slowFactor ?? 1);
  let count = 0;
  const property = fc.asyncProperty(target.inputs(context), async (input) => {
    count += 1;
    if (options.onProgress && performance.now() - reported >= 1000) {
      reported = performance.now();
      options.onProgress(count);
    }
    escapes.rethrow();
    const started = performance.now();
    try {
      await target.run(input, context);
    } finally {
      // An escaped error is the cause of whatever else went wrong with this input (a session
      // that never ended...): report it first, and never leave it for the next input.
      escapes.rethrow();
    }
    const took = performance.now() - started;
    if (took > slowMs) {
      throw new InvariantError(`one input took ${Math.round(took)} ms (bound ${slowMs} ms)`);
    }
  });
  const started = performance.now();
  escapes.arm();
  let details: fc.RunDetails<[unknown]>;
  try {
    details = await fc.check(property, {
      numRuns: options.runs,
      seed: options.seed,
      ...(options.path === undefined ? {} : { path: options.path }),
      // An input whose promise never settles (a lost callback) fails after this long; a
      // synchronous endless loop is caught by the runner's watchdog instead (fuzz/run.ts).
      timeout: slowMs * 4,
    });
  } finally {
    escapes.disarm();
  }
  const ms = Math.round(performance.now() - started);
  return {
    target: target.name,
    seed: options.seed,
    inputs: details.numRuns,
    shrinks: details.numShrinks,
    ms,
    failure: details.failed
      ? {
          error: describeError(details.errorInstance),
          input: details.counterexample === null ? '' : fc.stringify(details.counterexample[0]),
          path: details.counterexamplePath ?? '',
        }
      : null,
  };
}

function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  return String(error);
}
