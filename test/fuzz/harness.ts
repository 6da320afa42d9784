/**
 * Runs fuzz properties against a live Herald over real HTTP: a surface (one HTTP API) starts its target and lists its
 * properties; the harness runs each with fast-check, counts the runs, catches errors the process did not expect, and
 * reports a shrunk counterexample with the seed and path that replay it.
 *
 * Adding a surface: a folder beside `notify/` with its arbitraries, its model of the expected answers, and a
 * `surface.ts` exporting a FuzzSurface; one line in `surfaces.ts`; a three-line `<name>.test.ts` calling fuzzSuite.
 */
import assert from "node:assert/strict";
import fc from "fast-check";

/** A running server under test. */
export interface FuzzTarget {
  port: number;
  /** Lines logged at error level or above since the last call (Herald logs its own bugs there). */
  takeErrors(): string[];
  /** Fails unless the server still answers its health check. */
  checkHealth(): Promise<void>;
  stop(): Promise<void>;
}

export interface PropertySpec<T> {
  name: string;
  /** Runs in the bounded run of `npm test`; the long run shares its total in the same proportions. */
  ciRuns: number;
  arbitrary: fc.Arbitrary<T>;
  /** Sends the value to the target and checks the answer; throws on a violation. */
  check(target: FuzzTarget, value: T): Promise<void>;
  /** The counterexample as a reader wants it: the request as it was sent. */
  show(value: T): string;
}

export interface RunSettings {
  numRuns: number;
  seed: number;
  /** A counterexample's path from an earlier report: replays that case only. */
  path?: string;
}

export interface PropertyResult {
  property: string;
  /** Runs that passed (or the runs up to the failure), and the requests sent while shrinking. */
  runs: number;
  shrinks: number;
  skipped: number;
  failed: boolean;
  seed: number;
  timeMs: number;
  /** When failed: what broke, the shrunk counterexample, and how to replay it. */
  report?: string;
}

export interface FuzzProperty {
  readonly name: string;
  readonly ciRuns: number;
  run(target: FuzzTarget, settings: RunSettings, surface: string): Promise<PropertyResult>;
}

export interface FuzzSurface {
  name: string;
  start(): Promise<FuzzTarget>;
  properties: FuzzProperty[];
}

export const DEFAULT_SEED = 20_261_202;

/** `HERALD_FUZZ_SEED` and `HERALD_FUZZ_RUNS` (runs per property) override the bounded run's settings. */
export function envSettings(env: NodeJS.ProcessEnv = process.env): { seed: number; runsPerProperty?: number } {
  const seed = env.HERALD_FUZZ_SEED ? Number(env.HERALD_FUZZ_SEED) : DEFAULT_SEED;
  const runs = env.HERALD_FUZZ_RUNS ? Number(env.HERALD_FUZZ_RUNS) : undefined;
  if (!Number.isInteger(seed)) throw new Error(`HERALD_FUZZ_SEED is not an integer: ${env.HERALD_FUZZ_SEED}`);
  if (runs !== undefined && !(Number.isInteger(runs) && runs > 0)) {
    throw new Error(`HERALD_FUZZ_RUNS is not a positive integer: ${env.HERALD_FUZZ_RUNS}`);
  }
  return runs === undefined ? { seed } : { seed, runsPerProperty: runs };
}

export function defineProperty<T>(spec: PropertySpec<T>): FuzzProperty {
  return {
    name: spec.name,
    ciRuns: spec.ciRuns,
    run: (target, settings, surface) => runProperty(spec, target, settings, surface),
  };
}

async function runProperty<T>(
  spec: PropertySpec<T>,
  target: FuzzTarget,
  settings: RunSettings,
  surface: string,
): Promise<PropertyResult> {
  const started = performance.now();
  const unexpected: unknown[] = [];
  const record = (error: unknown) => unexpected.push(error);
  const recordWarning = (warning: Error) => {
    if (warning.name !== "ExperimentalWarning") unexpected.push(warning);
  };
  process.on("uncaughtException", record);
  process.on("unhandledRejection", record);
  process.on("warning", recordWarning);
  target.takeErrors();
  try {
    const property = fc.asyncProperty(spec.arbitrary, async (value) => {
      await spec.check(target, value);
      assert.deepEqual(target.takeErrors(), [], "the server logged an error");
      await new Promise((resolve) => setImmediate(resolve)); // process warnings are emitted on the next tick
      assert.deepEqual(unexpected.splice(0).map(String), [], "the process met an uncaught error or a warning");
    });
    const details = await fc.check(property, {
      numRuns: settings.numRuns,
      seed: settings.seed,
      ...(settings.path === undefined ? {} : { path: settings.path }),
    });
    const result: PropertyResult = {
      property: spec.name,
      runs: details.numRuns,
      shrinks: details.numShrinks,
      skipped: details.numSkips,
      failed: details.failed,
      seed: details.seed,
      timeMs: performance.now() - started,
    };
    if (details.failed) result.report = failureReport(spec, details, surface);
    return result;
  } finally {
    process.off("uncaughtException", record);
    process.off("unhandledRejection", record);
    process.off("warning", recordWarning);
  }
}

function failureReport<T>(spec: PropertySpec<T>, details: fc.RunDetails<[T]>, surface: string): string {
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  const example = details.counterexample ? spec.show(details.counterexample[0]) : "(none)";
  return [
    `fuzz property "${surface}: ${spec.name}" failed after ${details.numRuns} runs (${details.numShrinks} shrinks)`,
    `  seed ${details.seed}, path ${details.counterexamplePath ?? "-"}`,
    `  replay: npm run fuzz -- --surface ${surface} --property '${spec.name}' --seed ${details.seed} --path '${details.counterexamplePath ?? ""}'`,
    `  counterexample: ${example}`,
    `  violation: ${error}`,
  ].join("\n");
}

/** Runs for each property when `total` runs are shared in proportion to their bounded runs (the rest to the first). */
export function shareRuns(properties: readonly FuzzProperty[], total: number): number[] {
  const sum = properties.reduce((s, p) => s + p.ciRuns, 0);
  const shares = properties.map((p) => Math.max(1, Math.floor((total * p.ciRuns) / sum)));
  shares[0]! += Math.max(0, total - shares.reduce((s, n) => s + n, 0));
  return shares;
}
