/**
 * Mocha's spec reporter plus one closing line in the plain form CI reads from any runner:
 * "tests: N passed, N failed, N skipped".
 */
import Mocha from 'mocha';

class KzymyReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const stats = runner.stats;
      if (!stats) return;
      process.stdout.write(
        `\ntests: ${stats.passes} passed, ${stats.failures} failed, ${stats.pending} skipped\n`,
      );
    });
  }
}

export = KzymyReporter;
