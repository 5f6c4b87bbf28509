/**
 * BENCH ONLY — preloaded (`NODE_OPTIONS=--require …` for Haraka, which startHaraka spawns;
 * `--require` for the IMAP daemon) to record a V8 CPU profile of the main thread like
 * `node --cpu-prof` would: Node refuses `--cpu-prof` in NODE_OPTIONS. The profile is written to
 * $KZYMY_BENCH_CPU_PROFILE when the process exits. It covers the whole life of the process, or
 * with KZYMY_BENCH_CPU_PROFILE_ON_SIGNAL=1 only what follows a SIGUSR2, so that a warmed-up
 * process is profiled without its start-up (loading modules dominates a short profile).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const out = process.env.KZYMY_BENCH_CPU_PROFILE;
if (out) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  const start = (): void => session.post('Profiler.start');
  if (process.env.KZYMY_BENCH_CPU_PROFILE_ON_SIGNAL === '1') process.once('SIGUSR2', start);
  else start();
  // The inspector answers a same-thread session synchronously, so this works inside 'exit'.
  process.once('exit', () => {
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(out, JSON.stringify(result.profile));
    });
  });
}
