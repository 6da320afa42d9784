/**
 * The results: the JSON file (bench/results/<timestamp>.json and latest.json) and the printed table, one line per
 * scenario, with the targets (informative PASS/FAIL, never asserted).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import type { FleetFigures } from "./fleet.js";
import type { MicroResult } from "./micro.js";
import type { NewConnectionsResult } from "./newConnections.js";
import type { AbuseFigures } from "./scenarios.js";
import type { Row, Settings } from "./types.js";

export const RESULTS_DIR = fileURLToPath(new URL("../../bench/results/", import.meta.url));

export interface Report {
  startedAt: string;
  finishedAt: string;
  totalS: number;
  machine: { cpus: number; model: string; node: string; platform: string };
  settings: Settings & { quick: boolean };
  micro: MicroResult[];
  scenarios: Row[];
  targets: Target[];
}

export interface Target {
  name: string;
  /** null: not measured; "info": a figure reported beside the targets, with no bar to pass. */
  pass: boolean | null | "info";
  value: string;
}

export function machine(): Report["machine"] {
  const list = cpus();
  return { cpus: list.length, model: list[0]?.model ?? "unknown", node: process.version, platform: process.platform };
}

/** Writes `<startedAt>.json` and `latest.json`; returns the first path. */
export function writeReport(report: Report): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const path = `${RESULTS_DIR}${report.startedAt.replace(/:/g, "-")}.json`;
  writeFileSync(path, json);
  writeFileSync(`${RESULTS_DIR}latest.json`, json);
  return path;
}

const ms = (value: number | undefined) => (value === undefined || Number.isNaN(value) ? "-" : value.toFixed(2));
const num = (value: number | null | undefined, digits = 0) =>
  value === undefined || value === null || Number.isNaN(value) ? "-" : value.toFixed(digits);

const COLUMNS: [title: string, width: number, cell: (row: Row) => string][] = [
  ["scenario", 40, (r) => r.name],
  ["conns", 5, (r) => num(r.connections)],
  ["req/s", 8, (r) => num(r.load?.reqPerS)],
  ["p50 ms", 7, (r) => ms(r.load?.latencyMs.p50)],
  ["p99 ms", 7, (r) => ms(r.load?.latencyMs.p99)],
  ["p99.9", 7, (r) => ms(r.load?.latencyMs.p999)],
  ["non2xx", 6, (r) => num(r.load?.non2xx)],
  ["bad", 4, (r) => num(r.load?.wrongBody)],
  ["t/o", 4, (r) => num(r.load?.timeouts)],
  ["conn", 4, (r) => (r.load ? String(r.load.resets + r.load.otherErrors) : "-")],
  ["RSS MB", 6, (r) => num(r.usage?.server.peakRssMb, 1)],
  ["CPU%", 5, (r) => num(r.usage?.server.cpuPercent)],
  ["µs/req", 6, (r) => num(cpuUsPerRequest(r))],
  ["sbx%", 5, (r) => num(r.usage?.sandboxCpuPercent)],
  ["gen%", 5, (r) => num(r.usage?.loadGeneratorCpuPercent)],
  ["oth%", 5, (r) => num(r.usage?.otherCpuPercent)],
  ["×ceil", 5, (r) => num(r.ratioToCeiling, 2)],
];

/** The server's CPU time per good answer (µs): its CPU share over the measured run divided by its req/s. */
export function cpuUsPerRequest(row: Row | undefined): number | undefined {
  const cpu = row?.usage?.server.cpuPercent;
  const rate = row?.load?.reqPerS;
  return cpu === undefined || !rate ? undefined : (cpu / 100) * (1e6 / rate);
}

export function formatTable(rows: Row[]): string {
  const line = (cells: string[]) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(COLUMNS[i]![1]) : cell.padStart(COLUMNS[i]![1]))).join(" ");
  const out = [line(COLUMNS.map(([title]) => title))];
  for (const row of rows) {
    if (!row.available) out.push(`${row.name.padEnd(COLUMNS[0]![1])} ${row.note ?? "not available"}`);
    else out.push(line(COLUMNS.map(([, , cell]) => cell(row))));
  }
  return out.join("\n");
}

export const LEGEND = `req/s: good answers (200 and the expected body) per second. non2xx: other statuses; bad: 2xx with another body;
t/o: timeouts; conn: connection errors (resets). RSS MB (peak) and CPU% (100 = one core): the server under test
(Herald and its worker processes, the bare server, or the floor); µs/req: its CPU time per good answer. sbx%: the
sandbox process (APNs, FCM, WebPush, HMS); gen%: the load generator; oth%: everything else on the machine (should be
near 0: other work makes the run unreliable; the fleet rows' Redis is not in it, but in their notes). ×ceil: req/s
over the ceiling's (for open-loop rows, over the ceiling at the same rate). The floor: Node's HTTP/1.1 server
relaying each /notify over Node's HTTP/2 client, nothing else.`;

const MAX_LOAD_IDS = ["apns-1", "apns-10", "apns-1-latency", "isolation"];

export function evaluateTargets(rows: Row[], micro: MicroResult[]): Target[] {
  const get = (id: string) => rows.find((r) => r.id === id && r.available);
  const targets: Target[] = [];

  const apns1 = get("apns-1");
  const ratio = apns1?.ratioToCeiling;
  targets.push({
    name: "apns 1 device ≥ 35% of the ceiling's req/s",
    pass: ratio === undefined ? null : ratio >= 0.35,
    value: ratio === undefined ? "not measured" : `${(ratio * 100).toFixed(1)}%`,
  });

  // CPU per push, each read against the ceiling's CPU per request and the floor's per push, from the same run.
  const ceilingUs = cpuUsPerRequest(get("ceiling"));
  const floorUs = cpuUsPerRequest(get("floor"));
  const perPush = (id: string) => {
    const us = cpuUsPerRequest(get(id));
    if (us === undefined || ceilingUs === undefined) return { ratio: undefined, value: "not measured" };
    const ratio = us / ceilingUs;
    const vsFloor = floorUs === undefined ? "" : `, ${(us / floorUs).toFixed(2)}× the floor's ${floorUs.toFixed(0)} µs`;
    return {
      ratio,
      value: `${us.toFixed(0)} µs: ${ratio.toFixed(2)}× the ceiling's ${ceilingUs.toFixed(0)} µs${vsFloor}`,
    };
  };
  const apnsCpu = perPush("apns-1");
  targets.push({
    name: "apns 1 device: CPU per push ≤ 4× the ceiling's per request",
    pass: apnsCpu.ratio === undefined ? null : apnsCpu.ratio <= 4,
    value: apnsCpu.value,
  });
  if (floorUs !== undefined && ceilingUs !== undefined) {
    targets.push({
      name: "the floor (Node's HTTP/1.1 server and HTTP/2 client alone), CPU per push",
      pass: "info",
      value: `${floorUs.toFixed(0)} µs: ${(floorUs / ceilingUs).toFixed(2)}× the ceiling's ${ceilingUs.toFixed(0)} µs`,
    });
  }
  for (const id of ["fcm-1", "hms-1", "webpush-1"]) {
    const { value } = perPush(id);
    targets.push({ name: `${id.replace("-1", "")} 1 device: CPU per push`, pass: "info", value });
  }
  const one = cpuUsPerRequest(get("apns-1"));
  const ten = cpuUsPerRequest(get("apns-10"));
  const floorTen = cpuUsPerRequest(get("floor-10"));
  const floorTenVsOne =
    floorUs === undefined || floorTen === undefined ? "" : ` (the floor's: ${(floorTen / floorUs).toFixed(2)}×)`;
  targets.push({
    name: "apns 10 devices: CPU per request ≤ 4× 1 device's",
    pass: one === undefined || ten === undefined ? null : ten / one <= 4,
    value:
      one === undefined || ten === undefined
        ? "not measured"
        : `${ten.toFixed(0)} µs against ${one.toFixed(0)} µs: ${(ten / one).toFixed(2)}×${floorTenVsOne}`,
  });

  const openLoop = get("open-loop")?.extra;
  const added = openLoop?.addedP99Ms as number | undefined;
  const floorAdded = openLoop?.floorAddedP99Ms as number | undefined;
  targets.push({
    name: "added p99 (Herald − ceiling) at half max < 5 ms",
    pass: added === undefined ? null : added < 5,
    value:
      added === undefined
        ? "not measured"
        : `${added.toFixed(2)} ms` +
          (floorAdded === undefined ? "" : ` (the floor's at the same rate: ${floorAdded.toFixed(2)} ms)`),
  });

  // Closed-loop runs of one Herald process (workers: 2 sums three processes; the soak is judged by its slope).
  const maxLoad = rows.filter((r) => MAX_LOAD_IDS.includes(r.id) && r.available && r.usage);
  const peak = maxLoad.reduce<Row | undefined>(
    (top, r) => (!top || r.usage!.server.peakRssMb > top.usage!.server.peakRssMb ? r : top),
    undefined,
  );
  const floorRow = get("floor");
  const floorPeak = floorRow ? ` (the floor's: ${floorRow.usage!.server.peakRssMb.toFixed(1)} MB)` : "";
  targets.push({
    name: "Herald peak RSS < 150 MB at max load",
    pass: peak ? peak.usage!.server.peakRssMb < 150 : null,
    value: peak ? `${peak.usage!.server.peakRssMb.toFixed(1)} MB (${peak.name})${floorPeak}` : "not measured",
  });

  const idle = get("apns-1")?.usage?.server.idleRssMb;
  const floorIdle = floorRow?.usage?.server.idleRssMb;
  targets.push({
    name: "Herald idle RSS (one APNs app, after start-up)",
    pass: "info",
    value:
      idle === undefined
        ? "not measured"
        : `${idle.toFixed(1)} MB` + (floorIdle === undefined ? "" : ` (the floor's: ${floorIdle.toFixed(1)} MB)`),
  });

  const soak = get("soak")?.extra;
  const slope = soak?.rssSlopeMbPerMin as number | undefined;
  targets.push({
    name: `soak RSS slope < 1 MB/min after ${soak?.slopeFromS ?? "?"} s`,
    pass: slope === undefined || Number.isNaN(slope) ? null : Math.abs(slope) < 1,
    value:
      slope === undefined
        ? "not measured"
        : `${slope.toFixed(2)} MB/min; second half ${(soak!.rssSlopeSecondHalfMbPerMin as number).toFixed(2)} MB/min (RSS start ${soak!.rssStartMb} MB, peak ${soak!.rssPeakMb} MB, end ${soak!.rssEndMb} MB)`,
  });

  const attacked = get("abuse")?.extra?.homeserverErrors as number | undefined;
  targets.push({
    name: "abuse: no error to the homeserver beside the attack",
    pass: attacked === undefined ? null : attacked === 0,
    value: attacked === undefined ? "not measured" : `${attacked} errors`,
  });

  const truncation = micro.find((m) => m.name.startsWith("apns truncate"));
  targets.push({
    name: "truncation of a 512 KiB message < 10 ms",
    pass: truncation ? truncation.meanMs < 10 : null,
    value: truncation
      ? `mean ${truncation.meanMs.toFixed(3)} ms, p99 ${truncation.p99Ms.toFixed(3)} ms`
      : "not measured",
  });
  return targets;
}

export function formatTargets(targets: Target[]): string {
  const mark = (pass: Target["pass"]) => (pass === "info" ? "    " : pass === null ? "n/a " : pass ? "PASS" : "FAIL");
  return [
    "Targets (informative, not asserted):",
    ...targets.map((t) => `  ${mark(t.pass)}  ${t.name}: ${t.value}`),
  ].join("\n");
}

/** `{"408": 12, "503": 1}` as "12× 408, 1× 503"; "none" when empty. */
function tally(counts: Record<string, number> | undefined): string {
  const entries = Object.entries(counts ?? {});
  return entries.length ? entries.map(([key, count]) => `${count}× ${key}`).join(", ") : "none";
}

/** The abuse scenario's figures: the homeserver's ratios and errors, then what the attack got, from both sides. */
function abuseNotes(row: Row): string[] {
  const extra = row.extra as unknown as AbuseFigures;
  const { slowBodies: slow, pushFlood: flood, seconds } = extra.attack;
  const answers = Object.values(flood.statuses).reduce((a, b) => a + b, 0);
  const herald = extra.herald;
  const fresh = (n: NewConnectionsResult) =>
    `p50 ${ms(n.latencyMs.p50)} ms, max ${ms(n.latencyMs.max)} ms over ${n.requests}, ${n.errors} errors`;
  return [
    `abuse: homeserver at ${extra.reqPerSVsAlone.toFixed(2)}× the req/s and ${extra.p99VsAlone.toFixed(2)}× the p99 of the same load alone; homeserver errors: ${extra.homeserverErrors} (alone: ${extra.homeserverErrorsAlone}); attacker ${num(row.usage?.attackerCpuPercent)}% of a core, over ${seconds} s:`,
    `  the homeserver's new connections (one /notify each, every 0.5 s): ${fresh(extra.newConnections)} (alone: ${fresh(extra.newConnectionsAlone)})`,
    `  stalled bodies (${slow.connections} connections from ${slow.from}, /notify and /push): ${slow.held.mean} held on average (${slow.held.min}–${slow.held.max}), each ${slow.meanHoldMs} ms before its answer; ${slow.opened} opened; answers ${tally(slow.statuses)}; closed unanswered ${slow.closedUnanswered}; connection errors ${tally(slow.errors)}`,
    `  /push flood (${flood.connections} connections from ${flood.from}): ${answers} answers (${(answers / seconds).toFixed(0)}/s): ${tally(flood.statuses)}; errors ${tally(flood.errors)}; pushes the sandbox FCM accepted ${flood.pushesDelivered ?? "?"}`,
    `  Herald's metrics: connections open ${herald.connections.mean} on average (${herald.connections.min}–${herald.connections.max}); slow bodies ${tally(herald.slowBodies)}; shed ${tally(herald.loadShed)}; connections refused ${tally(herald.connectionsRefused)}`,
  ];
}

/**
 * The fleet rows: req/s against the same load without Redis ('apns-1', 'workers-2'), CPU per push of Redis and of
 * Herald (with Herald's without Redis), the commands Redis ran per push, and whether Herald was sharing through Redis.
 */
function fleetNotes(rows: Row[]): string[] {
  const fleet = rows.filter((r) => r.id.startsWith("fleet-") && r.available && r.extra);
  if (fleet.length === 0) return [];
  const notes = [
    "fleet: Redis on this machine, started by the scenario; the same load without Redis: 'apns-1' and 'workers-2' (the workers share through the primary); CPU per push the sandbox accepted:",
  ];
  for (const r of fleet) {
    const f = r.extra as unknown as FleetFigures;
    const refs = Object.values(f.withoutRedis);
    const vs = refs.map((ref) => `${ref.reqPerSRatio.toFixed(2)}× ${ref.id}`).join(", ");
    const herald = refs.map((ref) => `${ref.id} ${ref.heraldCpuUsPerPush.toFixed(1)}`).join(", ");
    const commands = Object.entries(f.redisCommands)
      .map(([command, calls]) => `${calls}× ${command}`)
      .join(", ");
    notes.push(
      `  ${r.name}: req/s ${vs || "(no row without Redis ran)"}; Redis ${num(f.redisCpuUsPerPush, 1)} µs of CPU a push${f.pushesFrom === "sandbox" ? "" : " (a good answer)"} (${num(r.usage?.redisCpuPercent)}% of a core), Herald ${num(f.heraldCpuUsPerPush, 1)} µs${herald ? ` (${herald})` : ""}; Redis commands a push ${f.redisCommandsPerPush.toFixed(2)} (${commands || "none"}) from ${f.heraldRedisClients} Herald client(s); herald_shared_state_ok ${f.sharedStateOk ?? "absent"}, failures ${tally(f.sharedStateFailures)}`,
    );
  }
  return notes;
}

/** The isolation, open-loop, abuse, tracing and fleet figures that do not fit in the table. */
export function formatNotes(rows: Row[]): string {
  const notes: string[] = [];
  const isolation = rows.find((r) => r.id === "isolation" && r.available);
  if (isolation?.extra) {
    const hanging = isolation.extra.hangingApp as { statuses: Record<string, number>; rate: number };
    const statuses = Object.entries(hanging.statuses)
      .map(([status, count]) => `${count}× ${status}`)
      .join(", ");
    const vs = isolation.extra.reqPerSVsApns1 as number | undefined;
    const p99 = isolation.extra.p99VsApns1 as number | undefined;
    notes.push(
      `isolation: healthy app at ${vs === undefined ? "?" : vs.toFixed(2)}× the req/s and ${p99 === undefined ? "?" : p99.toFixed(2)}× the p99 of 'apns 1 device, 0 ms'; hanging app (${hanging.rate}/s) got ${statuses || "no answers"}`,
    );
  }
  const open = rows.find((r) => r.id === "open-loop" && r.available);
  if (open?.extra) {
    notes.push(
      `open loop: ${open.extra.rate} req/s; added latency (Herald − ceiling): p99 ${ms(open.extra.addedP99Ms as number)} ms, p99.9 ${ms(open.extra.addedP999Ms as number)} ms; the floor's (floor − ceiling): p99 ${ms(open.extra.floorAddedP99Ms as number | undefined)} ms, p99.9 ${ms(open.extra.floorAddedP999Ms as number | undefined)} ms; late sends ${open.load?.lateSends ?? 0}`,
    );
  }
  const abuse = rows.find((r) => r.id === "abuse" && r.available);
  if (abuse?.extra) notes.push(...abuseNotes(abuse));
  const apart = rows.find((r) => r.id === "abuse-apart" && r.available)?.extra;
  if (apart) {
    const fresh = apart.newConnections as NewConnectionsResult;
    notes.push(
      `abuse, the attack on http.public_listener and /notify on its own listener: homeserver at ${(apart.reqPerSVsAlone as number).toFixed(2)}× the req/s and ${(apart.p99VsAlone as number).toFixed(2)}× the p99 alone; homeserver errors: ${apart.homeserverErrors as number}; new connections p50 ${ms(fresh.latencyMs.p50)} ms, max ${ms(fresh.latencyMs.max)} ms over ${fresh.requests}, ${fresh.errors} errors`,
    );
  }
  const tracing = rows.filter((r) => r.id.startsWith("tracing-") && r.available && r.extra);
  if (tracing.length > 0) {
    const parts = tracing.map(
      (r) => `${r.id} ${(r.extra!.reqPerSVsOff as number).toFixed(3)}× (${r.extra!.spansExported} spans)`,
    );
    notes.push(`tracing: req/s vs. the mean of the runs with tracing off: ${parts.join(", ")}`);
  }
  notes.push(...fleetNotes(rows));
  return notes.join("\n");
}
