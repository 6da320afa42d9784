/**
 * `rediss://`: Herald shares its memory through a Redis that speaks only TLS, trusting the CA `redis.ca` names; a
 * Redis whose certificate does not chain to it is unusable (logged, pushes go on), never trusted.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after as afterFile } from "node:test";
import { connect } from "node:tls";
import { Redis } from "ioredis";
import { createSandboxCa } from "../../src/sandbox/ca.js";
import { notification, startTestHerald, testApp, type TestHerald } from "../helpers/herald.js";
import { startRedisServer, type RedisServer } from "../helpers/redisServer.js";
import { redisServer, unless } from "../helpers/services.js";
import { tempDir } from "../helpers/tempDir.js";
import { calls, resetCalls } from "../helpers/testPushkin.js";
import { keysUnder, logged, metric, uniquePrefix, UNUSABLE } from "./redisFixture.js";

const { test, before, after } = unless(redisServer().missing);

const APP = "com.example.spqr";
const files = tempDir(afterFile, "herald-redis-tls-");
const caFile = join(files, "ca.pem");
const otherCaFile = join(files, "other-ca.pem");
let server: RedisServer;
let herald: TestHerald | undefined;

before(async () => {
  const ca = await createSandboxCa();
  const certificate = await ca.issueServerCertificate(["127.0.0.1"]);
  writeFileSync(caFile, ca.certPem);
  writeFileSync(otherCaFile, (await createSandboxCa()).certPem);
  writeFileSync(join(files, "redis.crt"), certificate.certPem);
  writeFileSync(join(files, "redis.key"), certificate.keyPem);
  server = await startRedisServer({
    args: (port) => [
      ...["--port", "0", "--tls-port", String(port), "--tls-auth-clients", "no"],
      ...["--tls-cert-file", join(files, "redis.crt"), "--tls-key-file", join(files, "redis.key")],
      ...["--tls-ca-cert-file", caFile],
    ],
    ready: (port) => pingsOverTls(port),
  });
});

after(async () => {
  await herald?.stop();
  await server?.close();
});

function start(redis: Record<string, unknown>): Promise<TestHerald> {
  resetCalls();
  return startTestHerald({ apps: { [APP]: testApp() }, redis });
}

function pingsOverTls(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1", ca: readCa() }, () => socket.write("PING\r\n"));
    const done = (ok: boolean) => (socket.destroy(), resolve(ok));
    socket.setTimeout(1000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("data", (data: Buffer) => done(data.toString().startsWith("+PONG")));
  });
}

function readCa(): string {
  return readFileSync(caFile, "utf8");
}

test("rediss:// with redis.ca: the memory is shared through Redis over TLS", async () => {
  const prefix = uniquePrefix();
  herald = await start({ url: `rediss://127.0.0.1:${server.port}`, ca: caFile, key_prefix: prefix });
  assert.equal(await metric(herald, "herald_shared_state_ok"), 1);
  const answer = await herald.notify(
    notification([{ app_id: APP, pushkey: "accept" }], { event_id: "$tls", room_id: "!r" }),
  );
  assert.equal(answer.status, 200);
  assert.equal(calls.length, 1);
  const client = new Redis(`rediss://127.0.0.1:${server.port}`, { tls: { ca: readCa() }, lazyConnect: true });
  try {
    await client.connect();
    const keys = await keysUnder(client, prefix);
    assert.equal(keys.length, 1);
    assert.match(keys[0]!, new RegExp(`^${prefix}v1:delivered:[A-Za-z0-9_-]{27}$`));
  } finally {
    client.disconnect();
  }
  await herald.stop();
  herald = undefined;
});

test("rediss:// with a CA Redis's certificate does not chain to: Redis is unusable, said once, and pushes go on", async () => {
  herald = await start({ url: `rediss://127.0.0.1:${server.port}`, ca: otherCaFile, key_prefix: uniquePrefix() });
  assert.equal(await metric(herald, "herald_shared_state_ok"), 0);
  const answer = await herald.notify(notification([{ app_id: APP, pushkey: "accept" }]));
  assert.equal(answer.status, 200);
  assert.equal(calls.length, 1);
  const warnings = logged(herald, UNUSABLE);
  assert.equal(warnings.length, 1);
  assert.match(String(warnings[0]!.reason), /certificate/);
  await herald.stop();
  herald = undefined;
});
