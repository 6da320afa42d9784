/**
 * `http.workers: 2` keeps the guarantees of one process: the workers share one duplicate-suppression and dead-token
 * memory, held by the primary (src/core/clusterMemory.ts). A real `herald serve` cluster pushes to the sandbox APNs,
 * which counts what it is asked; every request comes on a new connection, so that the workers take them in turn.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { stringify } from "yaml";
import { MESSAGE_EVENT, notification } from "./helpers/herald.js";
import { spawnHerald, type HeraldProcess } from "./helpers/processes.js";
import { tempDir } from "./helpers/tempDir.js";
import { deviceToken, startApnsFixture, TOPIC } from "./apns/apnsFixture.js";

/** Requests of each round: with the workers taking connections in turn, each worker gets several. */
const ROUND = 8;

test("two workers push an event to a device once, and ask the provider about a dead token once, a restarted worker too", async (t) => {
  const apns = await startApnsFixture();
  t.after(() => apns.close());
  const config = join(tempDir(t, "herald-workers-memory-"), "sygnal.yaml");
  writeFileSync(config, stringify({ http: { port: 0, workers: 2 }, apps: { [TOPIC]: apns.tokenApp() } }));
  const herald = spawnHerald(t, ["serve", "--config", config]);
  await herald.waitForOutput(/All workers are serving/, "both workers serving", 30_000);
  const port = Number((await herald.waitForOutput(/"port":(\d+),"msg":"Listening for push requests"/, "its port"))[1]);

  const device = deviceToken(1);
  const deadDevice = deviceToken(2);
  apns.sandbox.script(deadDevice.hex, { status: 410, reason: "Unregistered" });
  const pushesTo = (hex: string) => apns.sandbox.received.filter((push) => push.token === hex).length;
  /** The same event to a device, then a new event each time to a dead one; which workers served each half. */
  const round = async (name: string) => {
    const sameEvent = await servedBy(herald, async () => {
      for (let i = 0; i < ROUND; i++)
        assert.equal(await notify(port, "$same-event", device.pushkey), '{"rejected": []}');
    });
    const deadToken = await servedBy(herald, async () => {
      for (let i = 0; i < ROUND; i++)
        assert.equal(
          await notify(port, `$${name}-${i}`, deadDevice.pushkey),
          `{"rejected": ["${deadDevice.pushkey}"]}`,
        );
    });
    assert.equal(pushesTo(device.hex), 1, `${name}: the event was pushed to the device once`);
    assert.equal(apns.sandbox.requests, 2, `${name}: the provider was asked about the dead token once`);
    return { sameEvent, deadToken };
  };

  const first = await round("first round");
  assert.equal(first.sameEvent.length, 2, "both workers got the same event");
  assert.deepEqual(first.deadToken.sort(), [...first.sameEvent].sort(), "both workers got the dead token");

  const [killed, survivor] = first.sameEvent;
  process.kill(killed!, "SIGKILL");
  await herald.waitForOutput(/A worker died; starting another/, "the primary replacing the worker");
  await herald.waitForOutput(/("msg":"Listening for push requests"[^]*){3}/, "the new worker listening");
  const afterRestart = await round("after a restart");
  for (const served of [afterRestart.sameEvent, afterRestart.deadToken]) {
    assert.equal(served.length, 2, "both workers served");
    assert.ok(served.includes(survivor!) && !served.includes(killed!), "the survivor and the restarted worker served");
  }

  herald.child.kill("SIGTERM");
  assert.equal(await herald.exited, 0);
});

async function notify(port: number, eventId: string, pushkey: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/_matrix/push/v1/notify`, {
    method: "POST",
    headers: { Connection: "close" },
    body: JSON.stringify(notification([{ app_id: TOPIC, pushkey }], { event_id: eventId, ...MESSAGE_EVENT })),
  });
  return res.text();
}

/** The workers (pids) whose access log shows a request while `requests` ran. */
async function servedBy(herald: HeraldProcess, requests: () => Promise<void>): Promise<number[]> {
  const before = herald.stdout().length;
  await requests();
  const pids = herald
    .stdout()
    .slice(before)
    .split("\n")
    .filter((line) => line.includes('"msg":"Handled request"'))
    .map((line) => (JSON.parse(line) as { pid: number }).pid);
  return [...new Set(pids)];
}
