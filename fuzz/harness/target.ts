/**
 * What a fuzz target is: inputs (a fast-check arbitrary), one function that runs an input
 * against the real code, and what counts as a crash. Adding a target is one file in
 * fuzz/targets/ that default-exports defineTarget({...}); the runner and the smoke test in
 * `npm test` find it by itself (fuzz/harness/registry.ts). docs/fuzzing.md has the list.
 */
import type * as fc from 'fast-check';
import type { FuzzServices } from './services';

/**
 * Thrown by a target when an input breaks an invariant (a round trip that does not give the
 * bytes back, a status code outside the documented set...). Any other exception that escapes
 * `run` is a crash as well; expected errors are caught inside `run`.
 */
export class InvariantError extends Error {
  override name = 'InvariantError';
}

/** Throws InvariantError with `message` unless `condition` holds. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(message);
}

export interface TargetSpec<Input, Context> {
  /** Kebab-case, the same as the file name. */
  name: string;
  /** The code under test, in one line (for reports and docs/fuzzing.md). */
  covers: string;
  /** Whether the target needs a real store (SQLite) and the embedded Redis (fuzz/harness/services.ts). */
  services?: boolean;
  /** Prepares what every input shares (keys, a server, an account); once per process. */
  setup(services: FuzzServices): Promise<Context>;
  /** The inputs. */
  inputs(context: Context): fc.Arbitrary<Input>;
  /** Runs one input; throws on a crash (see InvariantError). */
  run(input: Input, context: Context): Promise<void> | void;
  teardown?(context: Context): Promise<void>;
  /** Inputs run by the smoke test in `npm test` (seconds for all targets together). */
  smokeRuns: number;
  /** An input taking longer than this is a finding (a hang or a super-linear blow-up). */
  slowMs: number;
}

/** A target with its types erased, as the registry and the runner hold it. */
export type FuzzTarget = TargetSpec<unknown, unknown>;

export function defineTarget<Input, Context>(spec: TargetSpec<Input, Context>): FuzzTarget {
  return spec as unknown as FuzzTarget;
}
