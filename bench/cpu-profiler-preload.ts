/**
 * BENCH ONLY — preloaded (`NODE_OPTIONS=--require …` for Haraka, which startHaraka spawns;
 * `--require` for the IMAP daemon) to record a V8 CPU profile of the main thread like
 * `node --cpu-prof` would: Node refuses `--cpu-prof` in NODE_OPTIONS. The profile covers the
 * whole life of the process and is written to $KZYMY_BENCH_CPU_PROFILE when it exits.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env.KZYMY_BENCH_CPU_PROFILE;
if (out) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.start');
  // The inspector answers a same-thread session synchronously, so this works inside 'exit'.
  process.once('exit', () => {
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(out, JSON.stringify(result.profile));
    });
  });
}
