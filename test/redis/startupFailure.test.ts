/**
 * A start-up that fails after the Redis client is connected closes that connection: left open, it would keep the
 * failed `herald serve` running instead of exiting 1.
 */
import assert from "node:assert/strict";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe } from "node:test";
import { parseConfig } from "../../src/config/load.js";
import type { HeraldConfig } from "../../src/config/types.js";
import { writeYaml } from "../../src/config/yaml.js";
import { ListenError } from "../../src/core/listen.js";
import { createLogger } from "../../src/observability/logger.js";
import { startHerald } from "../../src/server.js";
import { testApp } from "../helpers/herald.js";
import { repoRoot } from "../helpers/paths.js";
import { redis, unless } from "../helpers/services.js";
import { startTcpRelay, type TcpRelay } from "../helpers/tcpRelay.js";
import { within } from "../helpers/waitFor.js";
import { atPort } from "./redisFixture.js";

const service = await redis();
const { test } = unless(service.missing);

const log = createLogger("silent");

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup) await step();
  cleanup = [];
});

/** A relay in front of the test Redis, so that the test sees Herald's connection to it open and close. */
async function relayToRedis(): Promise<TcpRelay> {
  const target = new URL(service.url!);
  const relay = await startTcpRelay(Number(target.port || 6379), target.hostname);
  cleanup.push(() => relay.close());
  return relay;
}

function config(relay: TcpRelay, extra: Record<string, unknown>): HeraldConfig {
  const yaml = writeYaml({
    http: { bind_addresses: ["127.0.0.1"], port: 0 },
    apps: { "com.example.spqr": testApp() },
    redis: { url: atPort(service.url!, relay.port) },
    ...extra,
  });
  return parseConfig(yaml, join(repoRoot, "test-config.yaml"), {}).config;
}

async function assertRedisClosed(relay: TcpRelay): Promise<void> {
  assert.equal(relay.connections.length, 1, "Herald had connected to Redis before the failure");
  await within("Herald's connection to Redis to close", relay.connections[0]!.clientClosed);
}

describe("a start-up that fails after Redis is connected", () => {
  test("tracing that cannot start: the Redis connection is closed", async () => {
    const relay = await relayToRedis();
    const parsed = config(relay, {
      metrics: { opentelemetry: { enabled: true, endpoint: "http://127.0.0.1:4318/v1/traces" } },
    });
    // The config check refuses such an endpoint; past it, it stands for a tracing SDK that refuses to start.
    const broken = { ...parsed, tracing: { ...parsed.tracing!, endpoint: "not a url" } };
    await assert.rejects(startHerald(broken, log), /Could not parse user-provided export URL/);
    await assertRedisClosed(relay);
  });

  test("http.port taken: the Redis connection is closed", async () => {
    const relay = await relayToRedis();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    cleanup.push(() => new Promise((resolve) => taken.close(() => resolve())));
    const { port } = taken.address() as AddressInfo;
    await assert.rejects(
      startHerald(config(relay, { http: { bind_addresses: ["127.0.0.1"], port } }), log),
      ListenError,
    );
    await assertRedisClosed(relay);
  });
});
