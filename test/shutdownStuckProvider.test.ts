/**
 * A shutdown that always ends: SIGTERM while a push waits on a provider that will never answer (it accepted the TCP
 * connection and never spoke, so TLS never completes; it never accepts the connection at all; the proxy never answers
 * the CONNECT). The in-flight request is answered, and `herald serve` (or its cluster) exits 0 by itself within
 * `shutdown_timeout` plus the documented margin, nothing left open.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer, connect, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { test, type TestContext } from "node:test";
import { stringify } from "yaml";
import { spawnHerald } from "./helpers/processes.js";
import { tempDir } from "./helpers/tempDir.js";
import { waitFor, within } from "./helpers/waitFor.js";

/** Shorter than shutdown_timeout: the request in flight is answered (502) at its deadline, before the drain ends. */
const DEADLINE_S = 3;
const SHUTDOWN_TIMEOUT_S = 5;
/** docs/reliability.md: the process is gone within shutdown_timeout and this. */
const SHUTDOWN_MARGIN_S = 4;
const APP = "org.example.ios";

interface StuckProvider {
  /** The APNs endpoint to give Herald, and a proxy when the fault is the proxy's. */
  endpoint: string;
  proxy?: string;
  /** The app to push to, when not an APNs app (an HTTP/1.1 provider). */
  app?: Record<string, unknown>;
}

/** A TCP server that accepts and never sends a byte: the TLS handshake never completes. */
async function silentServer(t: TestContext): Promise<Server> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    socket.on("error", () => {});
    sockets.push(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  return server;
}

const port = (server: Server) => (server.address() as { port: number }).port;

const stuck: [string, (t: TestContext) => Promise<StuckProvider>][] = [
  [
    "a provider that accepted TCP and never speaks",
    async (t) => ({ endpoint: `https://127.0.0.1:${port(await silentServer(t))}` }),
  ],
  [
    "a provider that never accepts the connection",
    async (t) => {
      // A listener whose process is stopped: once its backlog is full, the kernel drops the next SYNs unanswered.
      const listener = spawn(process.execPath, [
        "-e",
        "const s = require('net').createServer(); s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => console.log(s.address().port))",
      ]);
      t.after(() => listener.kill("SIGKILL"));
      const listening = await within(
        "the listener's port",
        new Promise<number>((resolve) => listener.stdout.once("data", (data: Buffer) => resolve(Number(String(data))))),
      );
      process.kill(listener.pid!, "SIGSTOP");
      const fillers = Array.from({ length: 4 }, () => connect(listening, "127.0.0.1").on("error", () => {}));
      t.after(() => fillers.forEach((socket) => socket.destroy()));
      await waitFor("the listener's backlog full", () => fillers.filter((socket) => socket.connecting).length >= 2);
      return { endpoint: `https://127.0.0.1:${listening}` };
    },
  ],
  [
    "an HTTP/1.1 provider whose token endpoint accepted TCP and never speaks (Huawei Push Kit)",
    async (t) => {
      const silent = `https://127.0.0.1:${port(await silentServer(t))}`;
      return {
        endpoint: silent,
        app: {
          type: "hms",
          app_id: "101234567",
          client_id: "101234567",
          client_secret: "s",
          endpoint: silent,
          token_endpoint: `${silent}/oauth2/v3/token`,
        },
      };
    },
  ],
  [
    "a proxy that never answers the CONNECT",
    async (t) => ({
      endpoint: "https://api.push.example.org",
      proxy: `http://127.0.0.1:${port(await silentServer(t))}`,
    }),
  ],
];

function writeConfig(dir: string, provider: StuckProvider, extra: Record<string, unknown> = {}): string {
  const keyfile = join(dir, "AuthKey.p8");
  writeFileSync(
    keyfile,
    generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }),
  );
  const config = join(dir, "sygnal.yaml");
  writeFileSync(
    config,
    stringify({
      http: { port: 0 },
      metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
      request_deadline: DEADLINE_S,
      shutdown_timeout: SHUTDOWN_TIMEOUT_S,
      ...(provider.proxy ? { proxy: provider.proxy } : {}),
      apps: {
        [APP]: provider.app ?? {
          type: "apns",
          endpoint: provider.endpoint,
          keyfile,
          key_id: "KEY1234567",
          team_id: "TEAM123456",
          topic: APP,
        },
      },
      ...extra,
    }),
  );
  return config;
}

function notify(port: number) {
  return fetch(`http://127.0.0.1:${port}/_matrix/push/v1/notify`, {
    method: "POST",
    body: JSON.stringify({
      notification: {
        event_id: "$stuck",
        type: "m.room.message",
        room_id: "!room:example.org",
        content: { msgtype: "m.text", body: "hello" },
        counts: { unread: 1 },
        devices: [{ app_id: APP, pushkey: Buffer.alloc(32, 7).toString("base64") }],
      },
    }),
  });
}

for (const [name, start] of stuck) {
  test(`SIGTERM with a push in flight to ${name}: the request is answered, and the process exits 0 in time`, async (t) => {
    const provider = await start(t);
    const herald = spawnHerald(t, ["serve", "--config", writeConfig(tempDir(t, "herald-stuck-"), provider)]);
    const api = Number((await herald.waitForOutput(/"port":(\d+),"msg":"Listening for push requests"/, "its port"))[1]);
    const metrics = Number(
      (await herald.waitForOutput(/"port":(\d+),"msg":"Serving Prometheus metrics"/, "metrics"))[1],
    );
    const answer = notify(api).then(
      (res) => res.status,
      () => "no answer",
    );
    await waitFor("the push in flight", async () => {
      const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
      return /^sygnal_requests_in_flight\{resource="V1NotifyHandler"\} 1$/m.test(text);
    });

    herald.child.kill("SIGTERM");
    const code = await within(
      "herald serve to exit by itself",
      herald.exited,
      (SHUTDOWN_TIMEOUT_S + SHUTDOWN_MARGIN_S) * 1000,
    );
    assert.equal(code, 0, herald.output().slice(-2000));
    assert.equal(await answer, 502, "the request in flight was answered: the homeserver retries it");
    assert.match(herald.stdout(), /"msg":"Shut down"/);
    assert.doesNotMatch(herald.stdout(), /Still running after shutdown/, "nothing was left open");
  });
}

test("SIGTERM to a cluster whose workers push to a provider that never speaks: every process exits 0 in time", async (t) => {
  const provider = { endpoint: `https://127.0.0.1:${port(await silentServer(t))}` };
  const config = writeConfig(tempDir(t, "herald-stuck-"), provider, { http: { port: 0, workers: 2 } });
  const herald = spawnHerald(t, ["serve", "--config", config]);
  await herald.waitForOutput(/All workers are serving/, "both workers serving", 30_000);
  const api = Number((await herald.waitForOutput(/"port":(\d+),"msg":"Listening for push requests"/, "its port"))[1]);
  const answers = Array.from({ length: 4 }, () =>
    notify(api).then(
      (res) => res.status,
      () => "no answer",
    ),
  );
  const metrics = Number(
    (await herald.waitForOutput(/"port":(\d+),"msg":"Serving Prometheus metrics of every worker"/, "metrics"))[1],
  );
  await waitFor("the pushes in flight", async () => {
    const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text();
    return /^sygnal_requests_in_flight\{resource="V1NotifyHandler"\} [1-9]/m.test(text);
  });

  herald.child.kill("SIGTERM");
  const code = await within(
    "the cluster to exit by itself",
    herald.exited,
    (SHUTDOWN_TIMEOUT_S + SHUTDOWN_MARGIN_S) * 1000,
  );
  assert.equal(code, 0, herald.output().slice(-2000));
  for (const status of await Promise.all(answers)) assert.equal(status, 502);
  assert.equal(herald.stdout().match(/"msg":"Shut down"/g)?.length, 2, "both workers shut down");
  assert.doesNotMatch(herald.stdout(), /Still running after shutdown/);
  assert.doesNotMatch(herald.stdout(), /Workers still running/, "the workers ended by themselves");
});
