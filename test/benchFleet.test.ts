/** The benchmark's fleet scenario, without its load: Redis's counts, the notes it prints, its redis-server. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Redis } from "ioredis";
import { commandCalls, commandDeltas, findOnPath, type FleetFigures } from "../bench/fleet.js";
import { parseOptions, USAGE } from "../bench/options.js";
import { startRedisServer, stop } from "../bench/processes.js";
import { formatNotes } from "../bench/report.js";
import type { Row } from "../bench/types.js";
import { redisServer, unless } from "./helpers/services.js";

/** Skipped with why where the machine has no redis-server; failed with why under CI=true. */
const withRedisServer = unless(redisServer().missing);

const INFO = (mget: number, set: number, info: number) =>
  [
    "# Commandstats",
    `cmdstat_mget:calls=${mget},usec=10,usec_per_call=0.50,rejected_calls=0,failed_calls=0`,
    `cmdstat_set:calls=${set},usec=20,usec_per_call=1.00,rejected_calls=0,failed_calls=0`,
    `cmdstat_info:calls=${info},usec=5,usec_per_call=5.00,rejected_calls=0,failed_calls=0`,
    "cmdstat_client|setname:calls=2,usec=1,usec_per_call=0.50,rejected_calls=0,failed_calls=0",
    "",
  ].join("\r\n");

describe("the fleet scenario", () => {
  test("counts Redis's commands from INFO commandstats, its own INFO and what did not move left out", () => {
    assert.deepEqual(commandCalls(INFO(3, 4, 1)), { mget: 3, set: 4, info: 1, "client|setname": 2 });
    const deltas = commandDeltas(commandCalls(INFO(3, 4, 1)), commandCalls(INFO(103, 104, 2)));
    assert.deepEqual(deltas, { mget: 100, set: 100 });
    assert.deepEqual(Object.keys(commandDeltas({}, { set: 1, mget: 1 })), ["mget", "set"]);
    assert.deepEqual(commandDeltas({}, { mget: 5 }), { mget: 5 });
  });

  test("finds redis-server on the PATH, or says there is none", () => {
    const dir = mkdtempSync(join(tmpdir(), "herald-bench-path-"));
    try {
      assert.equal(findOnPath("redis-server", dir), undefined);
      assert.equal(findOnPath("node", `${dir}:${join(process.execPath, "..")}`), join(process.execPath, "..", "node"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("notes each fleet row against the rows without Redis, with Redis's CPU and commands per push", () => {
    const figures: FleetFigures = {
      pushes: 10_000,
      pushesFrom: "sandbox",
      redisCpuUsPerPush: 21.5,
      heraldCpuUsPerPush: 190.25,
      redisCommands: { mget: 10_000, set: 10_000 },
      redisCommandsPerPush: 2,
      heraldRedisClients: 2,
      sharedStateOk: 1,
      sharedStateFailures: {},
      withoutRedis: {
        apns1: { id: "apns-1", reqPerSRatio: 1.1, heraldCpuUsPerPush: 180 },
        workers2: { id: "workers-2", reqPerSRatio: 0.9, heraldCpuUsPerPush: 230 },
      },
    };
    const row: Row = {
      id: "fleet-workers-2-redis",
      name: "apns 1 device, http.workers: 2, redis",
      target: "herald",
      available: true,
      extra: { ...figures },
    };
    const skipped: Row = { id: "fleet-redis", name: "apns 1 device, redis", target: "herald", available: false };
    const notes = formatNotes([skipped, row]).split("\n");
    assert.match(notes[0]!, /^fleet: .*'apns-1' and 'workers-2'/);
    assert.equal(
      notes[1],
      "  apns 1 device, http.workers: 2, redis: req/s 1.10× apns-1, 0.90× workers-2; Redis 21.5 µs of CPU a push " +
        "(-% of a core), Herald 190.3 µs (apns-1 180.0, workers-2 230.0); Redis commands a push 2.00 " +
        "(10000× mget, 10000× set) from 2 Herald client(s); herald_shared_state_ok 1, failures none",
    );
    assert.equal(notes.length, 2);
    assert.equal(formatNotes([skipped]), "");
  });

  withRedisServer.test("starts redis-server without persistence, answering on loopback, and stops it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "herald-bench-redis-"));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const redis = await startRedisServer(findOnPath("redis-server")!, dir);
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      await client.connect();
      assert.equal(await client.ping(), "PONG");
      assert.deepEqual(await client.config("GET", "save"), ["save", ""]);
      assert.deepEqual(await client.config("GET", "appendonly"), ["appendonly", "no"]);
    } finally {
      client.disconnect();
      await stop(redis.child);
    }
    assert.notEqual(redis.child.exitCode ?? redis.child.signalCode, null);
  });
});

describe("the benchmark's usage", () => {
  test("lists the fleet scenario, and its example of --herald-node-args parses as written", () => {
    assert.match(USAGE, /workers-2, fleet,/);
    const example = /e\.g\. (--herald-node-args="[^"]*")/.exec(USAGE)?.[1];
    assert.ok(example, USAGE);
    // As a shell passes it: the quotes removed, one argument.
    const { settings } = parseOptions([example.replaceAll('"', "")]);
    assert.deepEqual(settings.heraldNodeArgs, ["--cpu-prof", "--cpu-prof-dir=/tmp/prof"]);
  });
});
