/**
 * `redis.sentinel`: Herald asks the sentinels where the primary is and shares its memory there; when Sentinel fails
 * over to a replica, Herald follows it by itself.
 */
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { notification, startTestHerald, testApp, type TestHerald } from "../helpers/herald.js";
import { startRedisServer, type RedisServer } from "../helpers/redisServer.js";
import { redisServer, unless } from "../helpers/services.js";
import { calls } from "../helpers/testPushkin.js";
import { waitFor } from "../helpers/waitFor.js";
import { keysUnder, metric, uniquePrefix } from "./redisFixture.js";

const { test, after } = unless(redisServer().missing);

const APP = "com.example.spqr";
const MASTER = "herald-test";
const servers: RedisServer[] = [];
let herald: TestHerald | undefined;

after(async () => {
  await herald?.stop();
  for (const server of servers) await server.close();
});

/** Asks one server, on a connection of its own; a failover closes connections, so a closed one answers undefined. */
async function ask<T>(server: RedisServer, question: (client: Redis) => Promise<T>): Promise<T | undefined> {
  const client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on("error", () => {});
  try {
    await client.connect();
    return await question(client);
  } catch {
    return undefined;
  } finally {
    client.disconnect();
  }
}

async function keysAt(server: RedisServer, prefix: string): Promise<number> {
  return (await ask(server, (client) => keysUnder(client, prefix)))?.length ?? 0;
}

async function infoOf(server: RedisServer, section: string): Promise<string> {
  return (await ask(server, (client) => client.info(section))) ?? "";
}

test("the primary is found through Sentinel, and followed when Sentinel fails over to a replica", async () => {
  // Replicas are sent the data at once, not after the default 5 s wait for others to join.
  const primary = await startRedisServer({ args: () => ["--repl-diskless-sync-delay", "0"] });
  servers.push(primary);
  const replica = await startRedisServer({ args: () => ["--replicaof", "127.0.0.1", String(primary.port)] });
  servers.push(replica);
  const sentinel = await startRedisServer({
    // Sentinel rewrites its config file: it must have one of its own.
    configFile: () =>
      [
        `sentinel monitor ${MASTER} 127.0.0.1 ${primary.port} 1`,
        `sentinel down-after-milliseconds ${MASTER} 5000`,
        `sentinel failover-timeout ${MASTER} 2000`,
      ].join("\n"),
    args: () => ["--sentinel"],
  });
  servers.push(sentinel);
  await waitFor("the replica to be in sync", async () =>
    (await infoOf(replica, "replication")).includes("master_link_status:up"),
  );

  const prefix = uniquePrefix();
  herald = await startTestHerald({
    apps: { [APP]: testApp() },
    redis: {
      url: "redis://primary/0",
      key_prefix: prefix,
      sentinel: { master_name: MASTER, nodes: [`127.0.0.1:${sentinel.port}`] },
    },
  });
  assert.equal(await metric(herald, "herald_shared_state_ok"), 1);
  const push = (event: string) =>
    herald!.notify(notification([{ app_id: APP, pushkey: "accept" }], { event_id: event, room_id: "!r" }));
  assert.equal((await push("$before")).status, 200);
  await waitFor("the delivery to be in the primary", async () => (await keysAt(primary, prefix)) === 1);

  // Sentinel refuses a failover (NOGOODSLAVE) until it has found the replica through the primary's INFO, which it
  // reads every few seconds: asked until it agrees.
  await waitFor(
    "Sentinel to start a failover",
    async () => (await ask(sentinel, (client) => client.call("SENTINEL", "FAILOVER", MASTER))) === "OK",
    { timeoutMs: 20_000, intervalMs: 250 },
  );
  await waitFor("the replica to be the primary", async () =>
    (await infoOf(replica, "replication")).includes("role:master"),
  );
  // The old primary is a replica now, refusing writes: only a Herald that followed can add keys to the new one.
  const known = await keysAt(replica, prefix);
  await waitFor(
    "a delivery to be written to the new primary",
    async () => {
      assert.equal((await push(`$after-${calls.length}`)).status, 200);
      return (await keysAt(replica, prefix)) > known;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  await waitFor("herald_shared_state_ok to be 1", async () => (await metric(herald!, "herald_shared_state_ok")) === 1);
});
