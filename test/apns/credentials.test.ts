/** APNs credentials: JWT lifetime against the sandbox's clock, and the checks that stop start-up. */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import type { Device, Notification } from "../../src/core/notification.js";
import { PushkinSetupError, type DispatchContext, type PushkinSetup } from "../../src/core/pushkin.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { createApnsPushkin } from "../../src/pushkins/apns/index.js";
import { readApnsSettings } from "../../src/pushkins/apns/settings.js";
import { tempDir } from "../helpers/tempDir.js";
import { deviceToken, startApnsFixture, type ApnsFixture } from "./apnsFixture.js";

const MINUTE = 60_000;
const log = createLogger("silent");

function setup(config: Record<string, unknown>, configDir = "/"): PushkinSetup {
  return {
    name: "com.example.apns",
    config,
    configDir,
    proxy: undefined,
    metrics: new GatewayMetrics({ processMetrics: false }).registry,
    log,
  };
}

function context(): DispatchContext {
  return { requestId: "test", signal: new AbortController().signal, deadline: Date.now() + 5000, log };
}

const notification: Notification = { prio: "high", counts: { unread: 1 }, devices: [], type: undefined };
const device = (n: number): Device => ({ app_id: "com.example.apns", pushkey: deviceToken(n).pushkey });

describe("the APNs JWT", () => {
  // Apple (and the sandbox) remember per key when its JWT last changed: each test gets its own sandbox.
  let apns: ApnsFixture;
  beforeEach(async () => {
    apns = await startApnsFixture();
  });
  afterEach(() => apns.close());

  /** The pushkin's clock and the sandbox's, moved apart at will. */
  function pushkinAt(clock: { ms: number }) {
    return createApnsPushkin(setup(apns.tokenApp()), { now: () => Date.now() + clock.ms });
  }

  test("is reused, re-signed before 60 minutes, and never replaced within 20", async () => {
    const clock = { ms: 0 };
    const pushkin = pushkinAt(clock);
    try {
      for (const minutes of [0, 10, 30, 49, 51, 70, 99, 102, 150]) {
        clock.ms = apns.clock.offsetMs = minutes * MINUTE;
        const outcome = await pushkin.dispatch(notification, device(minutes), context());
        assert.deepEqual(outcome, { kind: "delivered" }, `at ${minutes} min`);
      }
      // The sandbox answers 403 ExpiredProviderToken past 60 min and 429 TooManyProviderTokenUpdates within 20.
      assert.equal(apns.sandbox.received.length, 9);
    } finally {
      await pushkin.close();
    }
  });

  test("ExpiredProviderToken: a new JWT and one more try", async () => {
    const clock = { ms: 0 };
    const pushkin = pushkinAt(clock);
    try {
      apns.clock.offsetMs = 0;
      await pushkin.dispatch(notification, device(1), context());
      // Apple's clock runs ahead: it thinks the JWT is 61 minutes old, ours says 25.
      clock.ms = 25 * MINUTE;
      apns.clock.offsetMs = 61 * MINUTE;
      const requests = apns.sandbox.requests;
      assert.deepEqual(await pushkin.dispatch(notification, device(2), context()), { kind: "delivered" });
      assert.equal(apns.sandbox.requests - requests, 2, "refused once, then sent with a new JWT");
    } finally {
      await pushkin.close();
    }
  });

  test("ExpiredProviderToken for a JWT under 20 minutes old is a 502 that names the clock", async () => {
    const clock = { ms: 0 };
    const pushkin = pushkinAt(clock);
    try {
      apns.clock.offsetMs = 0;
      await pushkin.dispatch(notification, device(3), context());
      apns.clock.offsetMs = 61 * MINUTE;
      clock.ms = 5 * MINUTE;
      await assert.rejects(pushkin.dispatch(notification, device(4), context()), /clock/);
    } finally {
      await pushkin.close();
    }
  });
});

describe("APNs configuration checks", () => {
  const dir = tempDir(after, "herald-apns-config-");
  const p8 = join(dir, "AuthKey.p8");
  writeFileSync(
    p8,
    generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }),
  );
  const rsa = join(dir, "rsa.pem");
  writeFileSync(
    rsa,
    generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }),
  );
  const token = { type: "apns", keyfile: "AuthKey.p8", key_id: "K", team_id: "T", topic: "com.example.app" };

  const errors: [string, Record<string, unknown>, RegExp][] = [
    [
      "neither certificate nor key",
      { type: "apns" },
      /You must provide a path to an APNs certificate, or an APNs token\./,
    ],
    ["a key without key_id", { ...token, key_id: undefined }, /You must supply key_id\./],
    ["a key without team_id", { ...token, team_id: undefined }, /You must supply team_id\./],
    ["a key without topic", { ...token, topic: undefined }, /You must supply topic\./],
    ["a missing key file", { ...token, keyfile: "missing.p8" }, /The APNs key file '.*missing\.p8' does not exist\./],
    [
      "a key file that is not a key",
      { ...token, keyfile: "AuthKey.p8", ca: "missing-ca.pem" },
      /CA certificate '.*missing-ca\.pem' does not exist/,
    ],
    ["an RSA key", { ...token, keyfile: "rsa.pem" }, /not an ES256 \(P-256\) key/],
    [
      "a missing certificate",
      { type: "apns", certfile: "missing.pem" },
      /The APNs certificate '.*missing\.pem' does not exist\./,
    ],
    [
      "a certificate file without a key",
      { type: "apns", certfile: "AuthKey.p8" },
      /must hold a PEM certificate and its unencrypted private key/,
    ],
  ];
  for (const [name, config, message] of errors) {
    test(`${name} stops start-up`, () => {
      assert.throws(
        () => createApnsPushkin(setup(config, dir)),
        (e: unknown) => e instanceof PushkinSetupError && message.test(e.message),
      );
    });
  }

  test("platform chooses Apple's endpoint; endpoint overrides it", () => {
    assert.equal(readApnsSettings(token, dir).endpoint, "https://api.push.apple.com");
    assert.equal(
      readApnsSettings({ ...token, platform: "sandbox" }, dir).endpoint,
      "https://api.sandbox.push.apple.com",
    );
    assert.equal(readApnsSettings({ ...token, platform: "prod" }, dir).endpoint, "https://api.push.apple.com");
    assert.equal(
      readApnsSettings({ ...token, endpoint: "https://apns.internal:8443" }, dir).endpoint,
      "https://apns.internal:8443",
    );
  });

  test("a certificate's topic is its UID", async () => {
    const apns = await startApnsFixture();
    try {
      assert.equal(readApnsSettings({ type: "apns", certfile: apns.files.cert }, dir).topic, "com.example.app");
    } finally {
      await apns.close();
    }
  });
});
