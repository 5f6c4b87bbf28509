/**
 * Summary statistics for the benchmarks. Every figure in docs/BENCHMARKS.md is the median of
 * several runs with its spread, so noise on a shared machine is visible rather than hidden.
 */

export interface Summary {
  /** Number of samples. */
  n: number;
  median: number;
  min: number;
  max: number;
  /** 25th and 75th percentiles (interquartile range). */
  q1: number;
  q3: number;
}

/** Linear-interpolated percentile (0..100) of unsorted samples; NaN for none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return percentileSorted(sorted, p);
}

function percentileSorted(sorted: readonly number[], p: number): number {
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (rank - lo);
}

export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) {
    return { n: 0, median: NaN, min: NaN, max: NaN, q1: NaN, q3: NaN };
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: percentileSorted(sorted, 50),
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    q1: percentileSorted(sorted, 25),
    q3: percentileSorted(sorted, 75),
  };
}

export function mean(samples: readonly number[]): number {
  return samples.reduce((sum, x) => sum + x, 0) / samples.length;
}

/**
 * Ratios `num[i] / den[i]` of paired runs (both measured in the same round, so a burst of load
 * from elsewhere hits both sides), summarized like any other figure.
 */
export function pairedRatios(num: readonly number[], den: readonly number[]): Summary {
  const n = Math.min(num.length, den.length);
  const ratios: number[] = [];
  for (let i = 0; i < n; i++) ratios.push((num[i] as number) / (den[i] as number));
  return summarize(ratios);
}

/** A number with about three significant digits: 0.0123, 1.23, 12.3, 1234. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a >= 0.01) return x.toFixed(3);
  return x.toPrecision(2);
}

/** "1.23 (1.10–1.40)": median with min–max across runs. */
export function fmtSummary(s: Summary, unit = ''): string {
  if (s.n === 0) return '–';
  const spread = s.n > 1 ? ` (${fmt(s.min)}–${fmt(s.max)})` : '';
  return `${fmt(s.median)}${unit}${spread}`;
}

/** High-resolution milliseconds since an arbitrary origin. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
