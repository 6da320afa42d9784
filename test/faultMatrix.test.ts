/**
 * The fault matrix: every provider × every way a provider fails, over real sockets against the sandboxes. In each
 * case the device shares its request with a healthy app's device. Whatever the fault: the live pushkey is never in
 * `rejected`; the request is answered 502 (with the provider's Retry-After when it gave one) so the homeserver retries;
 * the healthy device is delivered in the same request; and the provider's next push goes through.
 *
 * Circuit breakers are off here so that each fault is seen on its own; test/circuitBreaker.test.ts covers them.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { SANDBOX_APPS, startSandbox, type Sandbox } from "../src/sandbox/index.js";
import { WalletConnectServerSandbox } from "../src/sandbox/walletConnectServer.js";
import { calls, resetCalls } from "./helpers/testPushkin.js";
import { device, startTestHerald, testApp, type TestHerald } from "./helpers/herald.js";

type Fault = "timeout" | "reset" | "TLS failure" | "5xx" | "429" | "GOAWAY" | "bad credentials" | "slow answer";

const DEADLINE_S = 1.5;
const RETRY_AFTER_S = 30;
const SLOW_MS = 300;
const CONTROL = "com.example.healthy";
const WALLETCONNECT = "org.example.wallet";

/** One device of a provider, and how to make its provider misbehave for it. */
interface Target {
  device: Record<string, unknown>;
  /** Makes every push to this device meet the fault. */
  inject(fault: Exclude<Fault, "TLS failure">): void;
  /** Pushes the provider received for this device. */
  received(): number;
}

interface Provider {
  name: string;
  /** The app id of the provider's app, and of a copy of it that does not trust the sandbox's CA. */
  app: string;
  /** GOAWAY is HTTP/2's: only the providers Herald speaks HTTP/2 to have it. */
  http2: boolean;
  target(): Target;
}

let sandbox: Sandbox;
let walletServer: WalletConnectServerSandbox;
let herald: TestHerald;
let counter = 0;
const next = () => ++counter;

function providers(): Provider[] {
  return [
    {
      name: "APNs",
      app: SANDBOX_APPS.apns,
      http2: true,
      target() {
        const hex = next().toString(16).padStart(64, "0");
        const answers = {
          timeout: { status: 200, hang: true },
          reset: { status: 200, reset: true },
          "5xx": { status: 503, reason: "ServiceUnavailable" },
          "429": { status: 429, reason: "TooManyRequests", retryAfter: RETRY_AFTER_S },
          GOAWAY: { status: 200, goaway: true },
          "bad credentials": { status: 403, reason: "InvalidProviderToken" },
          "slow answer": { status: 200, delayMs: SLOW_MS },
        };
        return {
          device: { app_id: SANDBOX_APPS.apns, pushkey: Buffer.from(hex, "hex").toString("base64") },
          inject: (fault) => sandbox.apns.script(hex, answers[fault]),
          received: () => sandbox.apns.received.filter((p) => p.token === hex).length,
        };
      },
    },
    {
      name: "FCM",
      app: SANDBOX_APPS.fcm,
      http2: true,
      target() {
        const token = `fault-matrix-fcm-${next()}`;
        const answers = {
          timeout: { status: 200, hang: true },
          reset: { status: 200, reset: true },
          "5xx": { status: 503 },
          "429": { status: 429, retryAfter: RETRY_AFTER_S },
          GOAWAY: { status: 200, goaway: true },
          "bad credentials": { status: 401 },
          "slow answer": { status: 200, delayMs: SLOW_MS },
        };
        return {
          device: { app_id: SANDBOX_APPS.fcm, pushkey: token },
          inject: (fault) => sandbox.fcm.script(token, answers[fault]),
          received: () => sandbox.fcm.received.filter((m) => m.token === token).length,
        };
      },
    },
    {
      name: "WebPush",
      app: SANDBOX_APPS.webpush,
      http2: false,
      target() {
        const subscription = sandbox.webpush.createSubscription();
        const answers = {
          timeout: { status: 201, hang: true },
          reset: { status: 201, reset: true },
          "5xx": { status: 503 },
          "429": { status: 429, retryAfter: RETRY_AFTER_S },
          "bad credentials": { status: 403 },
          "slow answer": { status: 201, delayMs: SLOW_MS },
        };
        return {
          device: {
            app_id: SANDBOX_APPS.webpush,
            pushkey: subscription.keys.p256dh,
            data: { endpoint: subscription.endpoint, auth: subscription.keys.auth },
          },
          inject: (fault) => sandbox.webpush.script(subscription.id, answers[fault as keyof typeof answers]),
          received: () => sandbox.webpush.received.filter((p) => p.subscriptionId === subscription.id).length,
        };
      },
    },
    {
      name: "HMS",
      app: SANDBOX_APPS.hms,
      http2: false,
      target() {
        const token = `fault-matrix-hms-${next()}`;
        const answers = {
          timeout: { hang: true },
          reset: { reset: true },
          "5xx": { httpStatus: 500, code: "81000001" },
          "429": { httpStatus: 429, retryAfter: RETRY_AFTER_S },
          "bad credentials": { code: "80200003" },
          "slow answer": { delayMs: SLOW_MS },
        };
        return {
          device: { app_id: SANDBOX_APPS.hms, pushkey: token },
          inject: (fault) => sandbox.hms.script(token, answers[fault as keyof typeof answers]),
          received: () => sandbox.hms.received.filter((m) => m.token === token).length,
        };
      },
    },
    {
      name: "Threema Gateway",
      app: SANDBOX_APPS.threema,
      http2: false,
      target() {
        const user = sandbox.threema.createRecipient();
        const answers = {
          timeout: { hang: true },
          reset: { reset: true },
          "5xx": { status: 500 },
          "429": { status: 429, retryAfter: RETRY_AFTER_S },
          "bad credentials": { status: 401 },
          "slow answer": { delayMs: SLOW_MS },
        };
        return {
          device: { app_id: SANDBOX_APPS.threema, pushkey: user.identity, data: { public_key: user.publicKeyHex } },
          inject: (fault) => sandbox.threema.script(user.identity, answers[fault as keyof typeof answers]),
          received: () => sandbox.threema.received.filter((m) => m.to === user.identity).length,
        };
      },
    },
    {
      name: "WalletConnect",
      app: WALLETCONNECT,
      http2: false,
      target() {
        const clientId = `z6MkFaultMatrix${next()}`;
        const answers = {
          timeout: { delayMs: DEADLINE_S * 4000 },
          reset: { reset: true },
          "5xx": { status: 500 },
          "429": { status: 429, retryAfter: RETRY_AFTER_S },
          "bad credentials": { status: 401 },
          "slow answer": { delayMs: SLOW_MS },
        };
        return {
          device: { app_id: WALLETCONNECT, pushkey: clientId },
          inject: (fault) => walletServer.script(clientId, answers[fault as keyof typeof answers]),
          received: () => walletServer.received.filter((m) => m.clientId === clientId).length,
        };
      },
    },
  ];
}

/** The app without its `ca`: Herald does not trust the sandbox's certificate, so every TLS handshake fails. */
const untrusted = (app: string) => `${app}.untrusted`;

function notify(devices: Record<string, unknown>[]) {
  return herald.notify({
    notification: {
      event_id: `$fault-${next()}`,
      room_id: "!room:example.org",
      type: "m.room.message",
      sender: "@a:example.org",
      content: { msgtype: "m.text", body: "hello" },
      counts: { unread: 1 },
      devices,
    },
  });
}

before(async () => {
  sandbox = await startSandbox();
  const signing = generateKeyPairSync("ed25519");
  const x = signing.publicKey.export({ format: "jwk" }).x!;
  walletServer = await WalletConnectServerSandbox.start({
    ca: sandbox.ca,
    relayPublicKeyHex: Buffer.from(x, "base64url").toString("hex"),
  });
  const keyFile = join(sandbox.dir, "walletconnect-signing.pem");
  writeFileSync(keyFile, signing.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });

  const apps: Record<string, Record<string, unknown>> = {
    ...sandbox.apps(),
    [WALLETCONNECT]: {
      type: "walletconnect",
      endpoint: walletServer.url,
      signing_key_file: keyFile,
      ca: sandbox.files.ca,
    },
  };
  for (const [id, app] of Object.entries({ ...apps })) {
    const { ca: _ca, ...withoutCa } = app;
    apps[untrusted(id)] = withoutCa;
  }
  apps[CONTROL] = testApp();
  herald = await startTestHerald({ request_deadline: DEADLINE_S, circuit_breaker: { enabled: false }, apps });
});

after(async () => {
  await herald.stop();
  await walletServer.close();
  await sandbox.close();
});

const FAULTS: Fault[] = ["timeout", "reset", "TLS failure", "5xx", "429", "GOAWAY", "bad credentials", "slow answer"];

for (const provider of providers()) {
  describe(`${provider.name} under faults`, () => {
    for (const fault of FAULTS.filter((f) => f !== "GOAWAY" || provider.http2)) {
      test(`${fault}: ${fault === "slow answer" ? "delivered within the deadline" : "502, never rejected"}; the other app's device is delivered; the next push goes through`, async () => {
        resetCalls();
        const target = provider.target();
        if (fault !== "TLS failure") target.inject(fault);
        const faulty = fault === "TLS failure" ? { ...target.device, app_id: untrusted(provider.app) } : target.device;
        const control = device(`accept-${next()}`, CONTROL);
        const res = await notify([faulty, control]);
        const body = (await res.json()) as { rejected?: string[]; error?: string };

        if (fault === "slow answer") {
          assert.equal(res.status, 200);
          assert.deepEqual(body.rejected, []);
          assert.equal(target.received(), 1, "the slow provider got the push");
        } else {
          assert.equal(res.status, 502, `answered ${res.status}: ${JSON.stringify(body)}`);
          assert.equal(body.rejected, undefined, "a failure has no 'rejected': no pusher is deleted");
          if (fault === "429") assert.equal(res.headers.get("retry-after"), String(RETRY_AFTER_S));
          if (fault === "timeout") assert.match(String(body.error), /deadline/, "the request waited out its deadline");
        }
        assert.ok(
          calls.some((c) => c.pushkey === control.pushkey),
          "the healthy app's device was sent in the same request",
        );

        const healthy = provider.target();
        const after = await notify([healthy.device]);
        assert.equal(after.status, 200, "the provider's next push is delivered");
        assert.equal(healthy.received(), 1);
      });
    }
  });
}
