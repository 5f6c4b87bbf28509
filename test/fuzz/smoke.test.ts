/**
 * Every fuzz target (fuzz/targets/), briefly: a fixed seed and a few hundred to a few thousand
 * inputs each, so that `npm test` catches a target that no longer builds or runs and replays the
 * same inputs every time. The long runs are `npm run fuzz` (docs/fuzzing.md).
 */
import { expect } from 'chai';
import { runEngine } from '../../fuzz/harness/engine';
import { loadTarget, targetNames } from '../../fuzz/harness/registry';
import { servicesFromEnvironment } from '../../fuzz/harness/services';

/** Fixed: the smoke test runs the same inputs on every run. */
const SMOKE_SEED = 13;

describe('fuzz: smoke run of every target (fixed seed)', function () {
  const names = targetNames();

  it('finds the targets', function () {
    expect(names.length).to.be.greaterThan(0);
  });

  for (const name of names) {
    it(`${name}: fixed-seed inputs run without a finding`, async function () {
      const target = loadTarget(name);
      this.timeout(60_000);
      const services = servicesFromEnvironment();
      try {
        const context = await target.setup(services);
        try {
          const result = await runEngine(target, context, {
            runs: target.smokeRuns,
            seed: SMOKE_SEED,
            slowFactor: 10,
          });
          expect(result.failure, JSON.stringify(result.failure, null, 2)).to.equal(null);
          expect(result.inputs).to.equal(target.smokeRuns);
        } finally {
          await target.teardown?.(context);
        }
      } finally {
        await services.close();
      }
    });
  }
});
