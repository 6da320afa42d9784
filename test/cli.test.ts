/** The `herald` command as an operator runs it: exit codes, messages, SYGNAL_CONF, and SIGTERM under load. */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { after, describe, test, type TestContext } from "node:test";
import { readVapidKeys } from "../src/pushkins/webpush/settings.js";
import { testPushkinPath } from "./helpers/paths.js";
import { runHerald, spawnHerald } from "./helpers/processes.js";
import { tempDir } from "./helpers/tempDir.js";
import { waitFor } from "./helpers/waitFor.js";

const herald = runHerald;
const dir = tempDir(after, "herald-cli-");
let configs = 0;

function configFile(yaml: string): string {
  const path = join(dir, `sygnal-${++configs}.yaml`);
  writeFileSync(path, yaml);
  return path;
}

const GOOD = `apps:\n  com.example.spqr:\n    type: ${testPushkinPath}\n`;

describe("herald check-config", () => {
  test("accepts a valid config and lists its apps", async () => {
    const run = await herald(["check-config", "--config", configFile(GOOD)]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /configuration OK, 1 app\(s\):\n {2}com\.example\.spqr/);
  });
  test("says where the public surfaces listen when they have listeners of their own", async () => {
    const config = [
      "http: {port: 5000, public_listener: {bind_addresses: ['0.0.0.0'], port: 5080}}",
      "walletconnect: {validate_signatures: false}",
      GOOD,
    ].join("\n");
    const run = await herald(["check-config", "--config", configFile(config)]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /public surfaces on their own listener \(http\.public_listener\): 0\.0\.0\.0 port 5080; \/notify on http\.port alone/,
    );
  });
  test("reads SYGNAL_CONF when --config is not given", async () => {
    const run = await herald(["check-config"], { SYGNAL_CONF: configFile(GOOD) });
    assert.equal(run.code, 0, run.stderr);
  });
  test("prints warnings for unknown keys and still succeeds", async () => {
    const run = await herald(["check-config", "--config", configFile(`colour: blue\n${GOOD}`)]);
    assert.equal(run.code, 0);
    assert.match(run.stderr, /warning: colour: unknown key, ignored/);
  });
  test("warns that the FCM legacy API is shut down, naming the app", async () => {
    const run = await herald([
      "check-config",
      "--config",
      configFile("apps:\n  im.example.android: {type: gcm, api_key: K}\n"),
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /warning: apps\."im\.example\.android": API version not set in config, defaulting to legacy/,
    );
    assert.match(
      run.stderr,
      /warning: apps\."im\.example\.android": the FCM legacy API was shut down by Google in 2024/,
    );
  });
  test("exits 1 on a wrong type, naming the key", async () => {
    const run = await herald(["check-config", "--config", configFile(`http: {port: five}\n${GOOD}`)]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /http\.port: expected an integer, found string "five"/);
  });
  test("exits 1 when the file does not exist", async () => {
    const run = await herald(["check-config", "--config", "/nonexistent/sygnal.yaml"]);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /\/nonexistent\/sygnal\.yaml:\n {2}- cannot read the configuration file: the file does not exist/,
    );
  });
  test("exits 1 when a pushkin cannot be built, naming the app", async () => {
    const run = await herald(["check-config", "--config", configFile(`${GOOD}    fail_setup: true\n`)]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /apps\."com\.example\.spqr": this test pushkin was told to fail at setup/);
  });
  test("says type: gcm is meant when an app has type: fcm", async () => {
    const run = await herald(["check-config", "--config", configFile("apps:\n  im.example.android:\n    type: fcm\n")]);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /apps\."im\.example\.android": type 'fcm' is not a built-in pushkin: did you mean type: gcm\?/,
    );
  });
  test("says api_version: v1 is missing when an app has FCM v1's keys without it", async () => {
    const run = await herald([
      "check-config",
      "--config",
      configFile("apps:\n  im.example.android: {type: gcm, project_id: p, service_account_file: sa.json}\n"),
    ]);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /apps\."im\.example\.android": No API key set in config \(api_version is not set, .*: add api_version: v1\)/,
    );
  });
  test("exits 1 when a pushkin type is neither built in nor a loadable module", async () => {
    const run = await herald(["check-config", "--config", configFile("apps:\n  a:\n    type: ./missing-pushkin.js\n")]);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /apps\."a": type '\.\/missing-pushkin\.js' is not a built-in pushkin .* could not be loaded as a module/,
    );
  });
});

describe("herald serve", () => {
  test("exits 1 on a broken config, naming the key", async () => {
    const run = await herald(["serve", "--config", configFile("apps: {}\n")]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /apps: no apps are configured/);
  });
  test("exits 1 when its port is taken", async (t) => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    t.after(() => taken.close());
    const { port } = taken.address() as AddressInfo;
    const run = await herald(["serve", "--config", configFile(`http: {port: ${port}}\n${GOOD}`)]);
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      new RegExp(
        `Start-up failed: http\\.port: cannot listen on 127\\.0\\.0\\.1 port ${port}: EADDRINUSE, the port is already in use .*: choose another http\\.port, or stop what holds the port`,
      ),
    );
  });
  test("exits 1 when the metrics port is taken, naming metrics.prometheus.port", async (t) => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    t.after(() => taken.close());
    const { port } = taken.address() as AddressInfo;
    const metrics = `metrics: {prometheus: {enabled: true, address: 127.0.0.1, port: ${port}}}\n`;
    const run = await herald(["serve", "--config", configFile(`http: {port: 0}\n${metrics}${GOOD}`)]);
    assert.equal(run.code, 1);
    assert.match(
      run.stdout,
      /Start-up failed: metrics\.prometheus\.port: cannot listen on 127\.0\.0\.1 port \d+: EADDRINUSE/,
    );
  });
  test("refuses, before listening, a metrics port equal to http.port, naming both keys", async () => {
    const file = configFile(`http: {port: 5999}\nmetrics: {prometheus: {enabled: true, port: 5999}}\n${GOOD}`);
    for (const command of ["serve", "check-config"]) {
      const run = await herald([command, "--config", file]);
      assert.equal(run.code, 1, command);
      assert.match(
        run.stderr,
        /- http\.port and metrics\.prometheus\.port \(both 5999\): .*: give metrics\.prometheus\.port a port of its own/,
        command,
      );
      assert.doesNotMatch(run.stdout, /EADDRINUSE/, command);
    }
  });
  test("finishes a request in flight on SIGTERM, then exits 0", async (t) => {
    const server = await startServe(t);
    const inFlight = server.notify("slow:1500");
    await server.waitForOutput(/test pushkin: dispatching/, "the request inside the pushkin, which takes 1.5 s");
    server.child.kill("SIGTERM");
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '{"rejected": []}');
    assert.equal(await server.exited, 0);
    assert.match(server.output(), /"msg":"Shut down"/);
  });

  test("a second signal, of either kind, exits at once with 1", async (t) => {
    const server = await startServe(t);
    const inFlight = server.notify("stubborn:5000").catch(() => "cut");
    await server.waitForOutput(/test pushkin: dispatching/, "the request inside the pushkin");
    server.child.kill("SIGTERM");
    await server.waitForOutput(/Signal received/, "the first signal's log line");
    server.child.kill("SIGINT");
    assert.equal(await server.exited, 1);
    assert.equal(await inFlight, "cut");
  });
});

/** `herald serve` on a free port, once it listens; killed when the test ends if it is still running. */
async function startServe(t: TestContext, yaml = `http: {port: 0}\n${GOOD}`) {
  const server = spawnHerald(t, ["serve", "--config", configFile(yaml)]);
  const listening = await server.waitForOutput(/"port":(\d+),"msg":"Listening for push requests"/, "its port");
  const port = Number(listening[1]);
  return {
    ...server,
    port,
    notify: (pushkey: string) =>
      fetch(`http://127.0.0.1:${port}/_matrix/push/v1/notify`, {
        method: "POST",
        body: JSON.stringify({ notification: { devices: [{ app_id: "com.example.spqr", pushkey }] } }),
      }),
  };
}

describe("herald serve with http.workers", () => {
  test("two workers share the port, the primary aggregates their metrics, SIGTERM drains both", async (t) => {
    const server = await startServe(
      t,
      `http: {port: 0, workers: 2}\nmetrics: {prometheus: {enabled: true, address: 127.0.0.1, port: 0}}\n${GOOD}`,
    );
    await server.waitForOutput(/All workers are serving/, "both workers serving");
    const metricsPort = Number(
      server.output().match(/"port":(\d+),"msg":"Serving Prometheus metrics of every worker"/)?.[1],
    );
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`http://127.0.0.1:${server.port}/_matrix/push/v1/notify`, {
          method: "POST",
          headers: { Connection: "close" },
          body: JSON.stringify({ notification: { devices: [{ app_id: "com.example.spqr", pushkey: "accept" }] } }),
        }).then((res) => res.text()),
      ),
    );
    assert.deepEqual(new Set(answers), new Set(['{"rejected": []}']));
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /^sygnal_notifications_received_total 20$/m);
    // Gauges that every worker holds alike are not summed: one app, credentials fine, circuit closed.
    assert.match(metrics, /^herald_credentials_ok\{pushkin="com.example.spqr"\} 1$/m);
    assert.match(metrics, /^herald_circuit_breaker_state\{pushkin="com.example.spqr"\} 0$/m);
    // The access log is written asynchronously: a worker's last lines may still be on their way.
    const handled = () =>
      server
        .output()
        .split("\n")
        .filter((line) => line.includes('"msg":"Handled request"'));
    await waitFor("the 20 requests' access-log lines", () => handled().length === 20);
    const servedBy = new Set(handled().map((line) => (JSON.parse(line) as { pid: number }).pid));
    assert.equal(servedBy.size, 2, "both workers served requests");
    server.child.kill("SIGTERM");
    assert.equal(await server.exited, 0);
    assert.equal(server.output().match(/"msg":"Shut down"/g)?.length, 2);
  });

  test("a worker that dies while serving is replaced, and the port keeps answering", async (t) => {
    const server = await startServe(t, `http: {port: 0, workers: 2}\n${GOOD}`);
    await server.waitForOutput(/All workers are serving/, "both workers serving");
    const workerPid = (
      JSON.parse(
        server
          .output()
          .split("\n")
          .find((l) => l.includes('"worker":1'))!,
      ) as { pid: number }
    ).pid;
    process.kill(workerPid, "SIGKILL");
    await server.waitForOutput(/A worker died; starting another/, "the primary replacing the worker");
    await server.waitForOutput(
      /("msg":"Listening for push requests"[^]*){3}/,
      "the new worker listening (a third 'Listening' line)",
    );
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`http://127.0.0.1:${server.port}/_matrix/push/v1/notify`, {
        method: "POST",
        headers: { Connection: "close" },
        body: JSON.stringify({ notification: { devices: [{ app_id: "com.example.spqr", pushkey: "accept" }] } }),
      });
      assert.equal(await res.text(), '{"rejected": []}');
    }
    server.child.kill("SIGTERM");
    assert.equal(await server.exited, 0);
  });

  test("a worker that cannot start fails start-up with 1", async () => {
    const run = await herald([
      "serve",
      "--config",
      configFile(`http: {port: 0, workers: 2}\n${GOOD}    fail_setup: true\n`),
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /A worker could not start; stopping/);
  });
});

describe("herald vapid-keys", () => {
  test("writes a key the webpush pushkin accepts, prints its applicationServerKey, and never overwrites", async () => {
    const out = join(dir, "vapid.pem");
    const run = await herald(["vapid-keys", "--out", out]);
    assert.equal(run.code, 0, run.stderr);
    const printed = run.stdout.match(/applicationServerKey[^\n]*\n {2}([A-Za-z0-9_-]+)/)?.[1];
    assert.equal(printed, readVapidKeys(out).publicKey);
    assert.equal(Buffer.from(printed!, "base64url").length, 65, "an uncompressed P-256 point");
    const check = await herald([
      "check-config",
      "--config",
      configFile(`apps:\n  web: {type: webpush, vapid_private_key: ${out}, vapid_contact_email: a@b.c}\n`),
    ]);
    assert.equal(check.code, 0, check.stderr);
    const again = await herald(["vapid-keys", "--out", out]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /the file exists/);
  });
});

describe("herald", () => {
  test("exits 2 on an unknown command, with the usage", async () => {
    const run = await herald(["frobnicate"]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unknown command 'frobnicate'/);
  });
  test("prints the usage with --help", async () => {
    const run = await herald(["--help"]);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /usage: herald <command>/);
  });
});
