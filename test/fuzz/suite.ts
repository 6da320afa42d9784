/**
 * A surface's fuzz properties as node:test tests: bounded runs with a fixed seed (printed, and replaced by
 * HERALD_FUZZ_SEED; HERALD_FUZZ_RUNS sets the runs per property), then a check that the server is still up.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { envSettings, type FuzzSurface, type FuzzTarget } from "./harness.js";

export function fuzzSuite(surface: FuzzSurface): void {
  const { seed, runsPerProperty } = envSettings();
  describe(`fuzzing ${surface.name}`, () => {
    let target: FuzzTarget;
    before(async () => {
      target = await surface.start();
    });
    after(() => target.stop());

    for (const property of surface.properties) {
      test(property.name, async (t) => {
        const numRuns = runsPerProperty ?? property.ciRuns;
        const result = await property.run(target, { numRuns, seed }, surface.name);
        t.diagnostic(`seed ${seed}: ${result.runs} runs, ${result.skipped} skipped, ${Math.round(result.timeMs)} ms`);
        if (result.failed) assert.fail(result.report);
      });
    }

    test("the server is still up afterwards and logged no error", async () => {
      await target.checkHealth();
      assert.deepEqual(target.takeErrors(), []);
    });
  });
}
