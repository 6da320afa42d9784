/**
 * The attacker of the abuse scenario, in a process of its own (forked by the benchmark), so that its thousands of
 * sockets do not share an event loop with the homeserver's load generator. It connects from loopback addresses other
 * than the homeserver's 127.0.0.1 (Linux routes all of 127/8 to the loopback) and runs two attacks on one Herald until
 * it is stopped:
 *
 * - **slow bodies**: `slowConnections` connections from `slowAddress`, each a POST head announcing a large body (but
 *   within the route's limit, so that it is not refused at once as too large), on /notify and on /push alternately,
 *   and the body's first bytes, then nothing more. A connection that Herald answers (408 once the body falls behind
 *   `http.body_min_rate`) or closes is replaced at once, so that the pressure stays on;
 * - **a /push flood**: `floodConnections` keep-alive connections from `floodAddress`, each sending a valid FCM push
 *   (push-relay's form, a new token every time) as soon as the previous one is answered.
 *
 * It reports `ready` once every slow connection has been opened, then answers the parent's requests over IPC: zero the
 * counters, read them. It exits when the parent goes.
 */
import { Agent, request } from "node:http";
import { connect, type Socket } from "node:net";
import { randomBytes } from "node:crypto";

export interface AttackOptions {
  /** Herald's base URL, e.g. http://127.0.0.1:5000 */
  url: string;
  slowConnections: number;
  slowAddress: string;
  floodConnections: number;
  floodAddress: string;
}

/** Counts since the last `zero`. */
export interface AttackStats {
  seconds: number;
  slow: {
    /** Connections made (the first ones and their replacements). */
    opened: number;
    /** Herald's answers, by status. */
    statuses: Record<string, number>;
    /** Connections Herald closed or reset without an answer. */
    closedUnanswered: number;
    /** Connections that could not be made, or broke, by error code. */
    errors: Record<string, number>;
    /** Connections open with their body stalled, sampled every 100 ms. */
    held: { mean: number; min: number; max: number };
    /** How long Herald held an answered connection, from its head sent to the answer (mean). */
    meanHoldMs: number;
  };
  flood: {
    /** Herald's answers, by status. */
    statuses: Record<string, number>;
    /** Requests that got no answer, by error code. */
    errors: Record<string, number>;
  };
}

export type AttackerRequest = { id: number; op: "zero" } | { id: number; op: "stats" };
export interface AttackerReply {
  id: number;
  stats?: AttackStats;
}

const NOTIFY_PATH = "/_matrix/push/v1/notify";
const PUSH_PATH = "/push";
/** Announced body lengths: large, but within /notify's 512 KiB and /push's 64 KiB. */
const NOTIFY_BODY_LENGTH = 500_000;
const PUSH_BODY_LENGTH = 60_000;
/** The slow connections are opened this many at a time, every RAMP_EVERY_MS, so as not to overflow the backlog. */
const RAMP_BATCH = 100;
const RAMP_EVERY_MS = 50;
/** A connection that could not be made is tried again after this pause (no busy loop on a refusing server). */
const RETRY_AFTER_ERROR_MS = 100;
const SAMPLE_EVERY_MS = 100;

function newCounts() {
  return {
    started: performance.now(),
    slowOpened: 0,
    slowStatuses: {} as Record<string, number>,
    slowClosedUnanswered: 0,
    slowErrors: {} as Record<string, number>,
    heldSamples: [] as number[],
    holdMsSum: 0,
    holdCount: 0,
    floodStatuses: {} as Record<string, number>,
    floodErrors: {} as Record<string, number>,
  };
}

let counts = newCounts();
/** Slow connections open now with their body stalled. */
let held = 0;

const bump = (record: Record<string, number>, key: string) => (record[key] = (record[key] ?? 0) + 1);

function slowHead(path: string, length: number, host: string): string {
  const type = path === PUSH_PATH ? "application/x-www-form-urlencoded" : "application/json";
  const first = path === PUSH_PATH ? "type=fcm&tok" : '{"notification": {"dev';
  return `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: ${type}\r\nContent-Length: ${length}\r\n\r\n${first}`;
}

/** One slow connection, replaced by a new one when it ends. */
function slowConnection(options: AttackOptions, target: URL, index: number): void {
  const onPush = index % 2 === 1;
  const head = slowHead(onPush ? PUSH_PATH : NOTIFY_PATH, onPush ? PUSH_BODY_LENGTH : NOTIFY_BODY_LENGTH, target.host);
  const socket: Socket = connect({
    host: target.hostname,
    port: Number(target.port),
    localAddress: options.slowAddress,
  });
  let stalledAt: number | undefined;
  let answered = false;
  let failed = false;
  socket.once("connect", () => {
    counts.slowOpened++;
    held++;
    stalledAt = performance.now();
    socket.write(head);
  });
  socket.once("data", (chunk: Buffer) => {
    answered = true;
    if (stalledAt !== undefined) {
      held--;
      counts.holdMsSum += performance.now() - stalledAt;
      counts.holdCount++;
    }
    bump(counts.slowStatuses, /^HTTP\/1\.[01] (\d{3})/.exec(chunk.toString("latin1", 0, 16))?.[1] ?? "unparsable");
  });
  // Herald closes after its answer: close this side too, so that the replacement comes at once.
  socket.on("end", () => socket.destroy());
  socket.on("error", (error: NodeJS.ErrnoException) => {
    failed = true;
    bump(counts.slowErrors, error.code ?? error.message);
  });
  socket.once("close", () => {
    if (stalledAt !== undefined && !answered) {
      held--;
      counts.slowClosedUnanswered++;
    }
    if (stopping) return;
    if (failed && stalledAt === undefined)
      setTimeout(() => slowConnection(options, target, index), RETRY_AFTER_ERROR_MS);
    else slowConnection(options, target, index);
  });
}

/** One flood connection's loop: a push, its answer, the next push. */
async function flood(target: URL, agent: Agent, session: string, tokenBase: string) {
  for (let n = 0; !stopping; n++) {
    const body = `type=fcm&token=${tokenBase}-${n}&session=${session}&version=3`;
    const outcome = await new Promise<{ status?: number; error?: string }>((resolve) => {
      const req = request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: PUSH_PATH,
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          res.resume();
          res.once("end", () => resolve({ status: res.statusCode }));
          res.once("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
        },
      );
      req.once("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
      req.end(body);
    });
    if (outcome.status !== undefined) bump(counts.floodStatuses, String(outcome.status));
    else {
      bump(counts.floodErrors, outcome.error ?? "unknown");
      await new Promise((resolve) => setTimeout(resolve, RETRY_AFTER_ERROR_MS));
    }
  }
}

function stats(): AttackStats {
  const samples = counts.heldSamples;
  const mean = samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : held;
  return {
    seconds: Math.round(performance.now() - counts.started) / 1000,
    slow: {
      opened: counts.slowOpened,
      statuses: counts.slowStatuses,
      closedUnanswered: counts.slowClosedUnanswered,
      errors: counts.slowErrors,
      held: {
        mean: Math.round(mean),
        min: samples.length ? Math.min(...samples) : held,
        max: samples.length ? Math.max(...samples) : held,
      },
      meanHoldMs: counts.holdCount ? Math.round(counts.holdMsSum / counts.holdCount) : 0,
    },
    flood: { statuses: counts.floodStatuses, errors: counts.floodErrors },
  };
}

let stopping = false;

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2] ?? "{}") as AttackOptions;
  const target = new URL(options.url);

  process.on("message", (message: AttackerRequest) => {
    if (message.op === "zero") counts = newCounts();
    process.send!({ id: message.id, ...(message.op === "stats" ? { stats: stats() } : {}) } satisfies AttackerReply);
  });
  process.once("disconnect", () => {
    stopping = true;
    process.exit(0);
  });
  setInterval(() => counts.heldSamples.push(held), SAMPLE_EVERY_MS).unref();

  const agent = new Agent({
    keepAlive: true,
    maxSockets: Math.max(1, options.floodConnections),
    localAddress: options.floodAddress,
  });
  const session = randomBytes(32).toString("hex");
  for (let i = 0; i < options.floodConnections; i++) {
    void flood(target, agent, session, `bench-flood-${randomBytes(12).toString("base64url")}-${i}`);
  }
  for (let i = 0; i < options.slowConnections; i += RAMP_BATCH) {
    for (let j = i; j < Math.min(options.slowConnections, i + RAMP_BATCH); j++) slowConnection(options, target, j);
    await new Promise((resolve) => setTimeout(resolve, RAMP_EVERY_MS));
  }
  process.send!({ type: "ready" });
}

await main();
