/** What every scenario receives and returns; bench/report.ts renders the returned reports. */
import type { StoreEngine } from '../src/store/store';

export interface BenchOptions {
  quick: boolean;
  /** Repetitions of each measurement; each figure is the median over these. */
  runs: number;
  /** The store engines measured side by side (each in its own services), in this order. */
  engines: StoreEngine[];
  /** Progress lines (stderr), so a long run shows where it is. */
  log(message: string): void;
}

/** A goal from the issue, recorded next to the result; never asserted. */
export interface Target {
  goal: string;
  result: string;
  /** null: could not be measured in this run. */
  met: boolean | null;
}

export interface ScenarioReport {
  id: string;
  title: string;
  /** Markdown: what was measured and how, in a few sentences. */
  method: string;
  columns: string[];
  rows: string[][];
  targets: Target[];
  /** Markdown paragraphs: findings, profiles, caveats. */
  notes: string[];
}

/** A scenario that could not run (missing tool, component not written yet): said, not hidden. */
export function skippedReport(id: string, title: string, reason: string): ScenarioReport {
  return {
    id,
    title,
    method: '',
    columns: [],
    rows: [],
    targets: [],
    notes: [`**Not measured in this run:** ${reason}`],
  };
}
