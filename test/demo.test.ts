/**
 * `herald demo`: with no credentials, pushes reach the sandbox APNs, FCM, WebPush, Huawei and Threema services and are
 * shown in plain words, through /notify, through push-relay's /push and through WalletConnect's /clients.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { runHerald, spawnHerald } from "./helpers/processes.js";
import { tempDir } from "./helpers/tempDir.js";

test("herald demo shows pushes arriving in the sandbox APNs, FCM, WebPush, Huawei and Threema services, /push wake-ups and a WalletConnect message too, and stops on Ctrl-C", async (t) => {
  // Its own temporary directory, to see that the demo leaves nothing behind when it stops.
  const tmp = tempDir(t, "herald-demo-");
  const demo = spawnHerald(t, ["demo", "--port", "0"], { TMPDIR: tmp });
  await demo.waitForOutput(/Ctrl-C stops the demo/, "the demo's instructions", 30_000);
  const output = demo.output();
  const port = Number(output.match(/curl -s -X POST http:\/\/127\.0\.0\.1:(\d+)\/_matrix\/push\/v1\/notify/)?.[1]);
  assert.ok(port > 0, "the curl examples name the port Herald listens on");
  assert.match(
    output,
    /sandbox APNs received a push for device c0ffee00dead… \(topic org\.example\.herald\.demo, priority 10\): alert MSG_FROM_USER_IN_ROOM_WITH_CONTENT \["Major Tom","Mission Control","Hello from Herald"\], badge 1/,
  );
  assert.match(
    output,
    /sandbox FCM received a push for device fcm-demo-tok… \(project herald-sandbox, priority high\): "Major Tom: Hello from Herald", unread 1/,
  );
  assert.match(
    output,
    /sandbox WebPush decrypted a message for subscription \S+ \(urgency normal, TTL 900\): "Major Tom: Hello from Herald", unread 1/,
  );
  assert.match(
    output,
    /sandbox HMS received a push for device hms-demo-tok… \(urgency HIGH\): "Major Tom: Hello from Herald", unread 1/,
  );
  assert.match(
    output,
    /sandbox Threema Gateway decrypted a message for HERALD42 from \*[0-9A-Z]{7} \(type 0xFE\): "Major Tom: Hello from Herald", unread 1/,
  );
  assert.match(output, /Herald answered 200 \{"rejected": \[\]\}/);

  // The dead-token example it prints is answered in "rejected".
  const deadCurl = output.split("\n").find((l) => l.includes("-d '") && l.includes("3q0A"));
  const body = deadCurl?.slice(deadCurl.indexOf("'") + 1, deadCurl.lastIndexOf("'"));
  const res = await fetch(`http://127.0.0.1:${port}/_matrix/push/v1/notify`, { method: "POST", body });
  assert.match(await res.text(), /^\{"rejected": \["3q0A/);

  // Threema Web's wake-ups through push-relay's /push, one per provider.
  assert.match(
    output,
    /sandbox FCM received a push for device fcm-demo-tok… \(project herald-sandbox, priority HIGH\): Threema Web wake-up for session 9f86d081… \(protocol version 3\)\n {4}data \{"wcs":"9f86d081884c7d659a2feaa0c55ad015","wca":"demo","wct":"\d+","wcv":"3"\}\n {2}Herald answered 204 to type=fcm/,
  );
  assert.match(
    output,
    /sandbox APNs received a push for device c0ffee00dead… \(topic org\.example\.herald\.demo, alert\): Threema Web wake-up for session 9f86d081… \(protocol version 3\)\n {4}payload \{"aps":\{"alert":"Threema Web Wakeup","sound":"default","mutable-content":1\},"3mw":\{"wcs":"9f86d081884c7d659a2feaa0c55ad015","wca":"demo","wct":\d+,"wcv":3\}\}\n {2}Herald answered 204 to type=apns/,
  );
  assert.match(
    output,
    /sandbox HMS received a push for device hms-demo-tok… \(urgency NORMAL\): Threema Web wake-up for session 9f86d081… \(protocol version 3\)\n {4}data \{"wcs":"9f86d081884c7d659a2feaa0c55ad015","wca":"demo","wct":\d+,"wcv":3\}\n {2}Herald answered 204 to type=hms/,
  );
  assert.match(
    output,
    /sandbox Threema Gateway decrypted a message for HERALD42 from \*[0-9A-Z]{7} \(type 0xFE\): Threema Web wake-up for session 9f86d081… \(protocol version 3\)\n {4}plaintext \{"wcs":"9f86d081884c7d659a2feaa0c55ad015","wca":"demo","wct":\d+,"wcv":3\}\n {2}Herald answered 204 to type=threema-gateway/,
  );
  // The /push curl example it prints is answered 204 (curl -d sends a form).
  const pushCurl = output.split("\n").find((l) => l.includes("-d 'type=fcm"));
  const form = pushCurl?.slice(pushCurl.indexOf("'") + 1, pushCurl.lastIndexOf("'"));
  const pushed = await fetch(`http://127.0.0.1:${port}/push`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: form,
  });
  assert.equal(pushed.status, 204);

  // WalletConnect: a wallet registered, and the relay's signed message as the sandbox APNs received it.
  assert.match(output, /Herald answered 200 \{"status":"SUCCESS","errors":null,"fields":null\} to POST \/clients/);
  assert.match(
    output,
    /sandbox APNs received a push for device 0a11e7000000… \(topic org\.example\.herald\.demo, alert\): WalletConnect message on topic demo-topic, alert "Sign request: dapp\.example asks you to sign a message"/,
  );
  assert.match(output, /Herald answered 202 to the relay's POST \/clients\/did:key:z6MkHeraldDemoWallet/);
  // The curl examples it prints work: a registration, and the relay's next message (202, then 200: a duplicate).
  const lines = output.split("\n");
  const quoted = (line: string | undefined) => line?.slice(line.indexOf("'") + 1, line.lastIndexOf("'")) ?? "";
  const registration = quoted(lines.find((l) => l.includes('-d \'{"client_id"')));
  const registered = await fetch(`http://127.0.0.1:${port}/clients`, { method: "POST", body: registration });
  assert.equal(registered.status, 200);
  const relayCurl = lines.findIndex((l) => l.includes("curl") && l.includes("/clients/did:key:z6MkHeraldDemoWallet"));
  const headers = Object.fromEntries(
    lines.slice(relayCurl + 1, relayCurl + 3).map((l) => quoted(l).split(": ") as [string, string]),
  );
  const relayBody = quoted(lines[relayCurl + 3]);
  const relayUrl = `http://127.0.0.1:${port}/clients/did:key:z6MkHeraldDemoWallet`;
  for (const expected of [202, 200]) {
    const relayed = await fetch(relayUrl, { method: "POST", headers, body: relayBody });
    assert.equal(relayed.status, expected);
  }
  await demo.waitForOutput(/alert "Session proposal: dapp\.example wants to connect"/, "the relay's second message");

  // The send-test command it prints works on the config it wrote.
  const sendTestLine = lines.find((l) => l.includes(" send-test --config "))!;
  const args = sendTestLine.trim().split(/\s+/).slice(2);
  const run = await runHerald(args);
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /Delivered: the provider accepted the push/);

  demo.child.kill("SIGINT");
  assert.equal(await demo.exited, 0);
  assert.deepEqual(readdirSync(tmp), [], "the demo removed its sandbox's files");
});
