/**
 * Reads a V8 `.cpuprofile` (written by `node --cpu-prof`) and says where the time went: self
 * time per function and per module (package or project folder). Used to explain, in
 * docs/BENCHMARKS.md, a figure that falls short of its target.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  /** Share of all samples, 0..1. */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  functions: ProfileEntry[];
  modules: ProfileEntry[];
  /** Inclusive (self + callees) share per function, for "what calls the expensive part". */
  inclusive: ProfileEntry[];
  /** Every function's inclusive share, for `stageShare`. */
  allInclusive: ProfileEntry[];
  /** Every module's self share. */
  allModules: ProfileEntry[];
}

/**
 * Inclusive share of the functions whose label matches `pattern`, taking the largest match
 * (matches are usually nested: a function and the wrapper that calls it).
 */
export function stageShare(summary: ProfileSummary, pattern: RegExp): number {
  return Math.max(
    0,
    ...summary.allInclusive.filter((e) => pattern.test(e.name)).map((e) => e.share),
  );
}

/** Self share of the modules whose name matches `pattern`, summed. */
export function moduleShare(summary: ProfileSummary, pattern: RegExp): number {
  return summary.allModules.filter((e) => pattern.test(e.name)).reduce((a, e) => a + e.share, 0);
}

/** "name 12.3%, other 4.5%": profile entries as a report shows them. */
export function shares(entries: ProfileEntry[]): string {
  return entries.map((e) => `${e.name} ${(e.share * 100).toFixed(1)}%`).join(', ');
}

/** `node_modules/openpgp/dist/node/openpgp.cjs` → 'openpgp'; `dist/src/pgp/x.js` → 'src/pgp'. */
export function moduleOf(url: string): string {
  if (!url) return '(native / GC / idle)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] as string;
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/');
    const area = parts[0] === 'internal' ? (parts[1] ?? 'internal') : parts[0];
    return `node core (${area?.replace(/\.js$/, '')})`;
  }
  const own = /\/dist\/((?:src|bench|test|haraka-plugins)(?:\/[^/]+)?)\//.exec(url);
  if (own) return own[1] as string;
  return url
    .replace(/^file:\/\//, '')
    .split('/')
    .slice(-2)
    .join('/');
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${moduleOf(url)}:${lineNumber + 1}` : '';
  const name = functionName || '(anonymous)';
  return where ? `${name} (${where})` : name;
}

export function summarizeProfile(file: string, top = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);
  const selfCount = new Map<number, number>();
  for (const id of profile.samples) selfCount.set(id, (selfCount.get(id) ?? 0) + 1);
  // Idle time is not cost: leave "(idle)" samples out of the denominator.
  let total = 0;
  const fn = new Map<string, number>();
  const mod = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, count] of selfCount) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    total += count;
    add(fn, label(node), count);
    add(
      mod,
      node.callFrame.url ? moduleOf(node.callFrame.url) : node.callFrame.functionName,
      count,
    );
    // Count each function once per sample on its stack, however deep the recursion.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (!frame || !frame.callFrame.url) continue;
      const name = label(frame);
      if (seen.has(name)) continue;
      seen.add(name);
      add(incl, name, count);
    }
  }
  const rank = (m: Map<string, number>, limit = top): ProfileEntry[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, count]) => ({ name, share: total ? count / total : 0 }));
  return {
    totalMs: (profile.endTime - profile.startTime) / 1000,
    functions: rank(fn),
    modules: rank(mod),
    inclusive: rank(incl),
    allInclusive: rank(incl, Infinity),
    allModules: rank(mod, Infinity),
  };
}

function add(map: Map<string, number>, key: string, n: number): void {
  map.set(key, (map.get(key) ?? 0) + n);
}
