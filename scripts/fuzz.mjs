#!/usr/bin/env node
// The long fuzz run (`npm run fuzz`): the properties `npm test` runs a few hundred times, run --runs times in total
// (default 100,000), shared among the properties in the proportions of their bounded runs. Prints one line per
// property and a summary; on a failure, the shrunk counterexample and the command that replays it; exits 1.
//
//   npm run fuzz -- [--runs N] [--seed S] [--surface NAME] [--property NAME] [--path P]
//
// Without --seed, a new seed is drawn (and printed), so that each long run explores new cases.
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "100000" },
    seed: { type: "string" },
    surface: { type: "string" },
    property: { type: "string" },
    path: { type: "string" },
  },
});
const { surfaces } = await import("../dist/test/fuzz/surfaces.js");
const { shareRuns } = await import("../dist/test/fuzz/harness.js");

const total = Number(values.runs);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isInteger(total) || total < 1 || !Number.isInteger(seed)) {
  console.error("--runs and --seed take integers");
  process.exit(2);
}

const chosen = surfaces
  .filter((s) => values.surface === undefined || s.name === values.surface)
  .map((s) => ({
    surface: s,
    properties: s.properties.filter((p) => values.property === undefined || p.name === values.property),
  }))
  .filter(({ properties }) => properties.length > 0);
const all = chosen.flatMap(({ properties }) => properties);
if (all.length === 0) {
  console.error("no property matched");
  process.exit(2);
}
const runsEach = shareRuns(all, total);
const shares = new Map(all.map((p, i) => [p, runsEach[i]]));

console.log(`fuzz: ${total} runs in total over ${all.length} properties, seed ${seed}`);
const started = performance.now();
const results = [];
for (const { surface, properties } of chosen) {
  const target = await surface.start();
  try {
    for (const property of properties) {
      const settings = { numRuns: shares.get(property), seed, ...(values.path ? { path: values.path } : {}) };
      const result = await property.run(target, settings, surface.name);
      results.push({ surface: surface.name, ...result });
      const verdict = result.failed ? "FAILED" : "ok";
      console.log(
        `${verdict.padEnd(6)} ${surface.name}: ${property.name}\n       ${result.runs} runs, ${result.skipped} skipped, ${(result.timeMs / 1000).toFixed(1)} s`,
      );
      if (result.failed) console.log(result.report);
    }
    await target.checkHealth();
    const errors = target.takeErrors();
    if (errors.length > 0) {
      results.push({ surface: surface.name, property: "no error logged", runs: 0, failed: true });
      console.log(`FAILED ${surface.name}: errors logged after the runs:\n${errors.join("\n")}`);
    }
  } finally {
    await target.stop();
  }
}

const runs = results.reduce((sum, r) => sum + r.runs, 0);
const failures = results.filter((r) => r.failed).length;
const seconds = (performance.now() - started) / 1000;
console.log(
  `\nsummary: ${runs} runs, ${failures} failed ${failures === 1 ? "property" : "properties"}, ${seconds.toFixed(1)} s` +
    ` (${Math.round(runs / seconds)} runs/s), seed ${seed}, node ${process.version}`,
);
process.exit(failures > 0 ? 1 : 0);
