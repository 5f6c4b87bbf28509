/** Runs fixtures/store-child.js: another process delivering to a test's sqlite store. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export interface StoreChild {
  process: ChildProcess;
  /** Labels whose commit had returned, in the order the child reported them. */
  stored: { label: string; uid: number }[];
  /** Called with each report as it arrives (before the next is read). */
  onStored?: (report: { label: string; uid: number }) => void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

export function startStoreChild(
  file: string,
  userId: string,
  mode: 'whole' | 'pieces' | 'parallel',
  count: number,
  sizes: number | number[],
  prefix: string,
): StoreChild {
  const child = spawn(
    process.execPath,
    [
      join(__dirname, 'fixtures', 'store-child.js'),
      file,
      userId,
      mode,
      String(count),
      [sizes].flat().join(','),
      prefix,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const handle: StoreChild = {
    process: child,
    stored: [],
    exited: new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal, stderr })),
    ),
  };
  let rest = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString('utf8')).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const report = JSON.parse(line) as { stored: string; uid: number };
      const entry = { label: report.stored, uid: report.uid };
      handle.stored.push(entry);
      handle.onStored?.(entry);
    }
  });
  return handle;
}
