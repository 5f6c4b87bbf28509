/**
 * One target in its own process (started by fuzz/run.ts): a synchronous endless loop in the code
 * under test stops only this process, and the runner's watchdog notices that progress stopped.
 * Arguments: NAME RUNS SEED [PATH]. Messages to the parent: progress and the result.
 */
import { runEngine, type EngineResult } from './harness/engine';
import { loadTarget } from './harness/registry';
import { startEmbedded, type FuzzServices } from './harness/services';

export type WorkerMessage =
  | { type: 'progress'; inputs: number }
  | { type: 'result'; result: EngineResult }
  | { type: 'error'; error: string };

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

const noServices: FuzzServices = {
  deps: () => Promise.reject(new Error('this target did not ask for services')),
  close: () => Promise.resolve(),
};

async function main(): Promise<void> {
  const [name, runs, seed, path] = process.argv.slice(2);
  if (!name || !runs || !seed) throw new Error('usage: worker NAME RUNS SEED [PATH]');
  const target = loadTarget(name);
  const services = target.services ? await startEmbedded() : noServices;
  try {
    const context = await target.setup(services);
    try {
      await send({ type: 'progress', inputs: 0 });
      const result = await runEngine(target, context, {
        runs: Number(runs),
        seed: Number(seed),
        ...(path ? { path } : {}),
        onProgress: (inputs) => void send({ type: 'progress', inputs }),
      });
      await send({ type: 'result', result });
    } finally {
      await target.teardown?.(context);
    }
  } finally {
    await services.close();
  }
}

// Exits explicitly: a server target may leave a timer behind (an engine's idle timeout).
main().then(
  () => process.exit(0),
  async (error: unknown) => {
    const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
    await send({ type: 'error', error: text });
    process.exit(1);
  },
);
