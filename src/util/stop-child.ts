/** Stopping a child process we started: its own shutdown signal first, SIGKILL if it lingers. */
import type { ChildProcess } from 'node:child_process';

/**
 * Sends `signal` and resolves once the child has exited; after `graceMs` without an exit it is
 * killed outright. A child that has already exited resolves at once.
 */
export async function stopChild(
  child: ChildProcess,
  signal: NodeJS.Signals,
  graceMs: number,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill(signal);
  });
}
