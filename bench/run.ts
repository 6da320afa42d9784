/**
 * `npm run bench`: the micro-benchmarks, then every load scenario against Herald (a child process) and the bare
 * ceiling server, the sandbox providers (APNs, FCM, WebPush, HMS) in a third process. Writes bench/results/<timestamp>.json
 * and latest.json and prints the table. Every child process is stopped at the end, also on failure and on Ctrl-C.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopAllLoads } from "./load.js";
import { formatMicro, runMicro, type MicroResult } from "./micro.js";
import { parseOptions, USAGE } from "./options.js";
import { killAllNow, SandboxProcess, startBareServer, stopAll } from "./processes.js";
import {
  evaluateTargets,
  formatNotes,
  formatTable,
  formatTargets,
  LEGEND,
  machine,
  writeReport,
  type Report,
} from "./report.js";
import { addRatios, SCENARIOS } from "./scenarios.js";
import type { BenchContext, Row } from "./types.js";
import { round } from "./stats.js";

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    console.error(`bench: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { settings, quick, only } = options;
  const wanted = (id: string) => !only || only.has(id);
  const startedAt = new Date();
  const started = performance.now();
  const log = (message: string) =>
    console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${message}`);
  const dir = (workDir = mkdtempSync(join(tmpdir(), "herald-bench-")));

  let micro: MicroResult[] = [];
  if (wanted("micro")) {
    log("micro-benchmarks");
    micro = await runMicro({ timeMs: quick ? 300 : 1000 });
    console.log(formatMicro(micro));
  }

  const rows: Row[] = [];
  const scenarios = SCENARIOS.filter((s) => wanted(s.id));
  if (scenarios.length > 0) {
    log("starting the sandbox providers (APNs, FCM, WebPush, HMS) and the bare server");
    const [sandbox, bare] = await Promise.all([SandboxProcess.start(2), startBareServer()]);
    const ctx: BenchContext = { settings, sandbox, bare, dir, rows, log };
    for (const scenario of scenarios) {
      log(`scenario ${scenario.id}`);
      try {
        rows.push(...(await scenario.run(ctx)));
      } catch (error) {
        console.error(`  scenario ${scenario.id} failed: ${(error as Error).stack ?? error}`);
        rows.push({
          id: scenario.id,
          name: scenario.id,
          target: "herald",
          available: false,
          note: `failed: ${(error as Error).message}`,
        });
      }
    }
  }
  await stopAll();

  addRatios(rows);
  const targets = evaluateTargets(rows, micro);
  const report: Report = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    totalS: round((performance.now() - started) / 1000, 1),
    machine: machine(),
    settings: { ...settings, quick },
    micro,
    scenarios: rows,
    targets,
  };
  const path = writeReport(report);

  console.log(`\n${formatTable(rows)}\n\n${LEGEND}\n`);
  const notes = formatNotes(rows);
  if (notes) console.log(`${notes}\n`);
  console.log(formatTargets(targets));
  console.log(`\nWritten: ${path} (and latest.json); ${report.totalS} s in all.`);
  return rows.some((r) => r.note?.startsWith("failed")) ? 1 : 0;
}

/** The generated configs; removed when the process exits, however it exits. */
let workDir: string | undefined;

let interrupted = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`\nbench: ${signal}, stopping every child process…`);
    stopAllLoads();
    void stopAll().finally(() => process.exit(130));
  });
}
process.on("exit", () => {
  killAllNow();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

try {
  process.exitCode = await main();
} catch (error) {
  console.error(`bench: ${(error as Error).stack ?? error}`);
  stopAllLoads();
  await stopAll();
  process.exitCode = 1;
}
