/**
 * Credential problems, over real sockets: a credential file that cannot be loaded, an APNs certificate past its
 * expiry, credentials the provider refuses. Each is a 502 (never `rejected`), logged once at error with the app's
 * name and the fix, shown by `herald_credentials_ok{pushkin}`; Herald keeps serving the other apps.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { writeYaml } from "../src/config/yaml.js";
import { after, before, describe, test } from "node:test";
import type { Device, Notification } from "../src/core/notification.js";
import { CredentialFailure, type DispatchContext } from "../src/core/pushkin.js";
import { createLogger } from "../src/observability/logger.js";
import { GatewayMetrics } from "../src/observability/metrics.js";
import { createApnsPushkin } from "../src/pushkins/apns/index.js";
import { deviceToken, startApnsFixture, TOPIC, type ApnsFixture } from "./apns/apnsFixture.js";
import { runHerald } from "./helpers/processes.js";
import { tempDir } from "./helpers/tempDir.js";
import { calls, resetCalls } from "./helpers/testPushkin.js";
import { device, notification, startTestHerald, testApp, type TestHerald } from "./helpers/herald.js";

const DAY = 24 * 60 * 60_000;
const APNS = "com.example.apns";
const OTHER = "com.example.other";

async function metricsOf(herald: TestHerald): Promise<string> {
  return (await fetch(`${herald.metricsUrl}/metrics`)).text();
}

function errorLines(herald: TestHerald) {
  return herald.logs.filter((l) => l.level === 50 && typeof l.msg === "string" && l.msg.includes("credentials"));
}

describe("credential problems", () => {
  let apns: ApnsFixture;
  before(async () => {
    apns = await startApnsFixture();
  });
  after(() => apns.close());

  test("a key file that cannot be loaded: Herald starts, that app answers 502 naming the file, others work", async () => {
    const herald = await startTestHerald({
      metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
      apps: { [APNS]: apns.tokenApp({ keyfile: "/nonexistent/AuthKey.p8" }), [OTHER]: testApp() },
    });
    try {
      const logged = errorLines(herald);
      assert.equal(logged.length, 1, "one error line at start-up");
      assert.equal(logged[0]!.pushkin, APNS);
      assert.match(String(logged[0]!.msg), /\/nonexistent\/AuthKey\.p8' does not exist/);
      assert.match(String(logged[0]!.fix), /herald check-config/);
      assert.match(await metricsOf(herald), new RegExp(`herald_credentials_ok\\{pushkin="${APNS}"\\} 0`));

      resetCalls();
      const res = await herald.notify(notification([device(deviceToken(1).pushkey, APNS), device("k", OTHER)]));
      assert.equal(res.status, 502);
      const { error } = (await res.json()) as { error: string };
      assert.match(
        error,
        /the app's credentials were refused or cannot be used; the gateway's log says how to fix them/,
      );
      assert.doesNotMatch(error, /AuthKey/, "the file's path stays in the log");
      assert.deepEqual(
        calls.map((c) => c.pushkin),
        [OTHER],
        "the other app's device was sent",
      );
      assert.equal(errorLines(herald).length, 1, "not logged again at each push");
      assert.match(await metricsOf(herald), new RegExp(`herald_credential_failures_total\\{pushkin="${APNS}"\\} 1`));
    } finally {
      await herald.stop();
    }
  });

  test("credentials the provider refuses: 502 not rejected, the fix logged once, and recovery shown", async () => {
    const herald = await startTestHerald({
      metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
      request_deadline: 5,
      apps: { [APNS]: apns.tokenApp() },
    });
    try {
      const refused = deviceToken(2);
      apns.sandbox.script(refused.hex, { status: 403, reason: "InvalidProviderToken" });
      for (let i = 0; i < 2; i++) {
        const res = await herald.notify(notification([device(refused.pushkey, APNS)], { event_id: `$e${i}` }));
        assert.equal(res.status, 502);
        assert.match(((await res.json()) as { error: string }).error, /InvalidProviderToken/);
      }
      const logged = errorLines(herald);
      assert.equal(logged.length, 1);
      assert.equal(logged[0]!.pushkin, APNS);
      assert.match(String(logged[0]!.fix), /key_id and team_id/);
      assert.match(await metricsOf(herald), new RegExp(`herald_credentials_ok\\{pushkin="${APNS}"\\} 0`));

      const res = await herald.notify(notification([device(deviceToken(3).pushkey, APNS)], { counts: { unread: 1 } }));
      assert.equal(res.status, 200);
      assert.match(await metricsOf(herald), new RegExp(`herald_credentials_ok\\{pushkin="${APNS}"\\} 1`));
      assert.ok(herald.logs.some((l) => l.msg === `The credentials of app '${APNS}' are accepted again`));
    } finally {
      apns.sandbox.reset();
      await herald.stop();
    }
  });

  test("an APNs certificate past its expiry: nothing is sent, the failure says to renew it", async () => {
    // The sandbox CA's certificates are valid for a day: the pushkin's clock runs two days ahead.
    const pushkin = createApnsPushkin(
      {
        name: APNS,
        config: apns.certApp(),
        configDir: "/",
        proxy: undefined,
        metrics: new GatewayMetrics({ processMetrics: false }).registry,
        log: createLogger("silent"),
      },
      { now: () => Date.now() + 2 * DAY },
    );
    try {
      const problem = pushkin.credentialProblem();
      assert.ok(problem instanceof CredentialFailure);
      assert.match(problem.message, /the APNs certificate expired on/);
      assert.match(problem.fix, /renew the app's push certificate/);
      const n: Notification = { prio: "high", counts: { unread: 1 }, devices: [] };
      const d: Device = { app_id: APNS, pushkey: deviceToken(4).pushkey };
      const ctx: DispatchContext = {
        requestId: "t",
        signal: new AbortController().signal,
        deadline: Date.now() + 5000,
        log: createLogger("silent"),
      };
      await assert.rejects(pushkin.dispatch(n, d, ctx), CredentialFailure);
      assert.equal(apns.sandbox.received.length, 0, "nothing reached Apple");
    } finally {
      await pushkin.close();
    }
  });

  test("an expired certificate: check-config refuses it; serve starts, says so once with the fix, and sends nothing", async (t) => {
    const expired = await apns.ca.issueClientCertificate({ uid: TOPIC }, -1);
    const certfile = join(tempDir(t, "herald-expired-"), "expired.pem");
    writeFileSync(certfile, expired.certPem + expired.keyPem);
    const app = apns.certApp({ certfile });

    const config = join(dirname(certfile), "sygnal.yaml");
    writeFileSync(config, writeYaml({ apps: { [APNS]: app } }));
    const run = await runHerald(["check-config", "--config", config]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /apps\."com\.example\.apns": the APNs certificate expired on .*; to fix: renew/);

    const herald = await startTestHerald({
      metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
      apps: { [APNS]: app },
    });
    try {
      const logged = errorLines(herald);
      assert.equal(logged.length, 1);
      assert.match(String(logged[0]!.msg), /the APNs certificate expired on/);
      assert.match(await metricsOf(herald), new RegExp(`herald_credentials_ok\\{pushkin="${APNS}"\\} 0`));
      const res = await herald.notify(notification([device(deviceToken(5).pushkey, APNS)], { counts: { unread: 1 } }));
      assert.equal(res.status, 502);
      assert.equal(apns.sandbox.received.length, 0);
    } finally {
      await herald.stop();
    }
  });

  test("a certificate that is valid has no problem", async () => {
    const pushkin = createApnsPushkin({
      name: APNS,
      config: apns.certApp(),
      configDir: "/",
      proxy: undefined,
      metrics: new GatewayMetrics({ processMetrics: false }).registry,
      log: createLogger("silent"),
    });
    assert.equal(pushkin.credentialProblem(), undefined);
    await pushkin.close();
  });
});
