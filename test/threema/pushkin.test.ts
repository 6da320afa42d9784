/**
 * The Threema Gateway pushkin over real sockets against the sandbox gateway, which decrypts every message as the
 * user's phone would: the plaintext against the FCM v1 builder's map, push-relay's form, every answer row, devices that
 * can never be served, the deadline, and the configuration checks.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import nacl from "tweetnacl";
import { parseNotificationBody } from "../../src/api/notificationBody.js";
import { buildFcmData, stringValues } from "../../src/pushkins/fcm/payload.js";
import { SANDBOX_APPS, startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import type { ThreemaSandboxRecipient } from "../../src/sandbox/threemaGateway.js";
import { startTestHerald, type TestHerald } from "../helpers/herald.js";
import { fixturesDir, repoRoot } from "../helpers/paths.js";

const THREEMA = SANDBOX_APPS.threema;
const NO_BADGES = "com.example.threema.nobadges";
const WRONG_SECRET = "com.example.threema.wrongsecret";
const fixtures = JSON.parse(readFileSync(join(fixturesDir, "expected-provider-payloads.json"), "utf8")) as {
  cases: Record<string, { notification: Record<string, unknown> }>;
};
const FULL = fixtures.cases.full!;

function deviceOf(recipient: ThreemaSandboxRecipient, appId: string = THREEMA, data?: Record<string, unknown>) {
  return { app_id: appId, pushkey: recipient.identity, data: data ?? { public_key: recipient.publicKeyHex } };
}

/** The FCM v1 pushkin's data map for this notification and device. */
function fcmV1Data(fields: Record<string, unknown>, device: Record<string, unknown>, sendBadgeCounts = true) {
  const parsed = parseNotificationBody(Buffer.from(JSON.stringify({ notification: { ...fields, devices: [device] } })));
  assert.ok(parsed.ok);
  const built = buildFcmData(parsed.notification, parsed.notification.devices[0]!, "v1", sendBadgeCounts);
  assert.ok(built.kind === "data");
  return stringValues(built.data);
}

describe("Threema Gateway pushkin", () => {
  let sandbox: Sandbox;
  let herald: TestHerald;
  const recipient = () => sandbox.threema.createRecipient();
  const notify = (device: Record<string, unknown>, fields: Record<string, unknown> = FULL.notification) =>
    herald.notify({ notification: { ...fields, devices: [device] } });
  const rejected = (pushkey: string) => `{"rejected": ["${pushkey}"]}`;

  before(async () => {
    sandbox = await startSandbox();
    const app = sandbox.apps()[THREEMA]!;
    herald = await startTestHerald({
      request_deadline: 5,
      metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
      apps: {
        [THREEMA]: app,
        [NO_BADGES]: { ...app, send_badge_counts: false },
        [WRONG_SECRET]: { ...app, secret: "not-the-secret" },
      },
    });
  });
  after(async () => {
    await herald.stop();
    await sandbox.close();
  });
  afterEach(() => sandbox.threema.reset());

  test("the phone decrypts 0xFE, the FCM v1 data map as JSON, and 0x01, from the gateway ID", async () => {
    const user = recipient();
    const device = deviceOf(user);
    assert.equal(await (await notify(device)).text(), '{"rejected": []}');
    const [received] = sandbox.threema.received;
    assert.ok(received);
    assert.equal(received.from, sandbox.threemaAccount.identity);
    assert.equal(received.to, user.identity);
    const data = fcmV1Data(FULL.notification, device);
    assert.deepEqual(received.json, data, "the FCM v1 pushkin's data map");
    assert.equal(received.type, 0xfe);
    assert.deepEqual(received.padding, Buffer.of(1));
    assert.deepEqual(
      received.plaintext,
      Buffer.concat([Buffer.of(0xfe), Buffer.from(JSON.stringify(data)), Buffer.of(1)]),
    );
  });

  test("push-relay's form: from, to, nonce, box, secret, noPush=1, noDeliveryReceipts=1, and Accept: JSON", async () => {
    const user = recipient();
    await notify(deviceOf(user));
    const [received] = sandbox.threema.received;
    assert.ok(received);
    assert.deepEqual(Object.keys(received.fields).sort(), [
      "box",
      "from",
      "noDeliveryReceipts",
      "noPush",
      "nonce",
      "to",
    ]);
    assert.equal(received.fields.noPush, "1");
    assert.equal(received.fields.noDeliveryReceipts, "1");
    assert.match(received.fields.nonce!, /^[0-9a-f]{48}$/);
    assert.match(received.fields.box!, /^([0-9a-f]{2})+$/);
    assert.equal(received.headers.accept, "application/json");
    assert.equal(received.headers["content-type"], "application/x-www-form-urlencoded");
  });

  test("each message has a fresh nonce", async () => {
    const user = recipient();
    await notify(deviceOf(user), { ...FULL.notification, event_id: "$one" });
    await notify(deviceOf(user), { ...FULL.notification, event_id: "$two" });
    const [first, second] = sandbox.threema.received;
    assert.ok(first && second);
    assert.notEqual(first.fields.nonce, second.fields.nonce);
  });

  test("a public key in capitals works; send_badge_counts: false leaves the counts out", async () => {
    const user = recipient();
    const device = deviceOf(user, NO_BADGES, { public_key: user.publicKeyHex.toUpperCase() });
    assert.equal(await (await notify(device)).text(), '{"rejected": []}');
    const json = sandbox.threema.received[0]?.json as Record<string, string>;
    assert.deepEqual(json, fcmV1Data(FULL.notification, device, false));
    assert.equal(json.unread, undefined);
  });

  test("a badge-only update with no counts to send: nothing is sent", async () => {
    const res = await notify(deviceOf(recipient()), { type: null, sender: "", counts: { unread: 0 } });
    assert.equal(await res.text(), '{"rejected": []}');
    assert.equal(sandbox.threema.requests, 0);
  });

  test("a data.default_payload that is not an object: rejected, nothing sent", async () => {
    const user = recipient();
    const res = await notify(deviceOf(user, THREEMA, { public_key: user.publicKeyHex, default_payload: "x" }));
    assert.equal(await res.text(), rejected(user.identity));
    assert.equal(sandbox.threema.requests, 0);
  });

  describe("devices that can never be served: rejected, nothing sent, the reason logged", () => {
    const zeroKey = "0".repeat(64);
    const cases: [string, (user: ThreemaSandboxRecipient) => Record<string, unknown>, RegExp][] = [
      ["a pushkey in small letters", (u) => ({ ...deviceOf(u), pushkey: u.identity.toLowerCase() }), /Threema ID/],
      ["a gateway ID as pushkey", (u) => ({ ...deviceOf(u), pushkey: `*${u.identity.slice(1)}` }), /Threema ID/],
      ["a pushkey of 7 characters", (u) => ({ ...deviceOf(u), pushkey: u.identity.slice(1) }), /Threema ID/],
      ["a pushkey of 9 characters", (u) => ({ ...deviceOf(u), pushkey: `${u.identity}A` }), /Threema ID/],
      ["no data", (u) => ({ app_id: THREEMA, pushkey: u.identity }), /public_key/],
      ["no public_key", (u) => deviceOf(u, THREEMA, { format: "event_id_only" }), /public_key/],
      ["a public_key of 63 hex characters", (u) => deviceOf(u, THREEMA, { public_key: zeroKey.slice(1) }), /64 hex/],
      ["a public_key that is not hex", (u) => deviceOf(u, THREEMA, { public_key: "g".repeat(64) }), /64 hex/],
      ["a public_key that is a number", (u) => deviceOf(u, THREEMA, { public_key: 1234 }), /64 hex/],
      ["an all-zero public_key", (u) => deviceOf(u, THREEMA, { public_key: zeroKey }), /degenerate/],
    ];
    for (const [name, device, why] of cases) {
      test(name, async () => {
        const broken = device(recipient());
        const res = await notify(broken);
        assert.equal(await res.text(), rejected(String(broken.pushkey)));
        assert.equal(sandbox.threema.requests, 0);
        const line = herald.logs.find((l) => l.msg === "Pushkey rejected" && why.test(String(l.why)));
        assert.ok(line, `a log line says why: ${String(why)}`);
      });
    }
  });

  describe("Threema Gateway's answers", () => {
    test("200: delivered, its message id logged at debug", async () => {
      const user = recipient();
      assert.equal(await (await notify(deviceOf(user))).text(), '{"rejected": []}');
      const messageId = sandbox.threema.received[0]?.messageId;
      assert.match(String(messageId), /^[0-9a-f]{16}$/);
      assert.ok(herald.logs.some((l) => l.level === 20 && l.message_id === messageId));
    });

    test("400 for an ID Threema does not know: rejected", async () => {
      const stranger = {
        identity: "STRANGER",
        publicKeyHex: Buffer.from(nacl.box.keyPair().publicKey).toString("hex"),
      };
      const res = await notify({
        app_id: THREEMA,
        pushkey: stranger.identity,
        data: { public_key: stranger.publicKeyHex },
      });
      assert.equal(await res.text(), rejected("STRANGER"));
      assert.equal(sandbox.threema.requests, 1);
    });

    test("400 (scripted, e.g. a revoked ID): rejected, not retried", async () => {
      const user = recipient();
      sandbox.threema.script(user.identity, { status: 400 });
      assert.equal(await (await notify(deviceOf(user))).text(), rejected(user.identity));
      assert.equal(sandbox.threema.requests, 1);
    });

    // The 502 says what kind of failure it was; the log says which, and how to fix it.
    const configurationErrors: [string, () => Promise<Response>, RegExp, RegExp][] = [
      [
        "401 (a wrong secret)",
        async () => notify(deviceOf(recipient(), WRONG_SECRET)),
        /^push provider failure: the app's credentials were refused or cannot be used \(the provider answered 401\)/,
        /identity and secret/,
      ],
      [
        "402 (no credits)",
        async () => {
          const { identity } = sandbox.threemaAccount;
          const credits = sandbox.threema.credits(identity);
          sandbox.threema.setCredits(identity, 0);
          try {
            return await notify(deviceOf(recipient()));
          } finally {
            sandbox.threema.setCredits(identity, credits);
          }
        },
        /^push provider failure: the provider answered 402$/,
        /402: the gateway account has no credits left/,
      ],
      [
        "413 (a box over Threema's limit)",
        async () => {
          const user = recipient();
          const big = { public_key: user.publicKeyHex, default_payload: { filler: "x".repeat(8000) } };
          return notify(deviceOf(user, THREEMA, big));
        },
        /^push provider failure: the provider answered 413$/,
        /413: the message is too long/,
      ],
    ];
    for (const [name, send, answer, message] of configurationErrors) {
      test(`${name}: 502, logged at error with the fix, never rejected nor retried`, async () => {
        const res = await send();
        assert.equal(res.status, 502);
        assert.match(String(((await res.json()) as { error: string }).error), answer);
        assert.equal(sandbox.threema.requests, 1);
        assert.ok(herald.logs.some((l) => l.level === 50 && message.test(String(l.msg))));
      });
    }

    test("5xx are retried with the same box, then delivered", async () => {
      const user = recipient();
      sandbox.threema.script(user.identity, { status: 500 }, { status: 503 }, {});
      assert.equal(await (await notify(deviceOf(user))).text(), '{"rejected": []}');
      assert.equal(sandbox.threema.requests, 3);
      assert.equal(sandbox.threema.received.length, 1);
      // A repeat of a message that did arrive is then dropped by the phone as a replayed nonce.
      const nonce = sandbox.threema.received[0]?.fields.nonce;
      assert.deepEqual(sandbox.threema.nonces, [nonce, nonce, nonce]);
    });

    test("429 waits its Retry-After, then delivered", async () => {
      const user = recipient();
      sandbox.threema.script(user.identity, { status: 429, retryAfter: 1 }, {});
      const started = Date.now();
      assert.equal(await (await notify(deviceOf(user))).text(), '{"rejected": []}');
      assert.ok(Date.now() - started >= 950);
      assert.equal(sandbox.threema.requests, 2);
    });

    test("429 with a Retry-After past the deadline: 502 at once, with the Retry-After", async () => {
      const user = recipient();
      sandbox.threema.script(user.identity, { status: 429, retryAfter: 30 });
      const res = await notify(deviceOf(user));
      assert.equal(res.status, 502);
      assert.equal(res.headers.get("retry-after"), "30");
      assert.equal(sandbox.threema.requests, 1);
    });

    test("5xx every time: 502 after three tries, not rejected", async () => {
      const user = recipient();
      sandbox.threema.script(user.identity, { status: 503 });
      const res = await notify(deviceOf(user));
      assert.equal(res.status, 502);
      assert.equal(sandbox.threema.requests, 3);
    });

    test("a reset connection is retried", async () => {
      const user = recipient();
      sandbox.threema.script(user.identity, { reset: true }, {});
      assert.equal(await (await notify(deviceOf(user))).text(), '{"rejected": []}');
      assert.equal(sandbox.threema.received.length, 1);
    });

    test("an answer /send_e2e never gives (404): 502, not rejected, not retried", async () => {
      const user = recipient();
      sandbox.threema.script(user.identity, { status: 404 });
      const res = await notify(deviceOf(user));
      assert.equal(res.status, 502);
      assert.equal(sandbox.threema.requests, 1);
    });
  });

  test("its metrics move", async () => {
    await notify(deviceOf(recipient()));
    const text = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
    assert.match(
      text,
      /^herald_threema_status_codes_total\{pushkin="org\.example\.herald\.demo\.threema",code="200"\} [1-9]/m,
    );
    assert.match(text, /^herald_threema_request_time_count [1-9]/m);
    assert.match(text, /^herald_active_threema_requests 0/m);
  });
});

describe("Threema Gateway configuration checks", () => {
  let sandbox: Sandbox;
  before(async () => {
    sandbox = await startSandbox();
  });
  after(() => sandbox.close());

  test("a private_key_file relative to the config file is read from there", async () => {
    const app = sandbox.apps()[THREEMA]!;
    const herald = await startTestHerald({
      apps: { [THREEMA]: { ...app, private_key_file: relative(repoRoot, sandbox.files.threemaKey) } },
    });
    try {
      const user = sandbox.threema.createRecipient();
      const res = await herald.notify({ notification: { ...FULL.notification, devices: [deviceOf(user)] } });
      assert.equal(await res.text(), '{"rejected": []}');
    } finally {
      await herald.stop();
    }
  });

  test("each missing or broken key stops start-up, naming it; a broken file fails only its app", async () => {
    const app = sandbox.apps()[THREEMA]!;
    const badKey = join(sandbox.dir, "bad.key");
    writeFileSync(badKey, `public:${"a".repeat(64)}\n`);
    const without = (key: string) => Object.fromEntries(Object.entries(app).filter(([name]) => name !== key));
    const cases: [Record<string, unknown>, RegExp][] = [
      [without("identity"), /\.identity: required key is missing/],
      [without("secret"), /\.secret: required key is missing/],
      [without("private_key_file"), /\.private_key_file: required key is missing/],
      [{ ...app, identity: "3MAPUSH1" }, /\.identity: expected a value matching/],
      [{ ...app, identity: "*3MAPUSH1" }, /\.identity: expected a value matching/],
      [{ ...app, endpoint: "msgapi.threema.ch" }, /\.endpoint: expected a value matching/],
      [{ ...app, max_connections: 0 }, /\.max_connections: must be >= 1/],
    ];
    for (const [config, message] of cases) {
      await assert.rejects(startTestHerald({ apps: { [THREEMA]: config } }), message);
    }
    const files: [Record<string, unknown>, RegExp][] = [
      [{ ...app, private_key_file: join(sandbox.dir, "nope.key") }, /private key file '.*nope\.key' does not exist/],
      [{ ...app, private_key_file: badKey }, /private key file '.*bad\.key' must hold 'private:'/],
      [{ ...app, ca: join(sandbox.dir, "nope.pem") }, /CA certificate file '.*nope\.pem' does not exist/],
    ];
    for (const [config, message] of files) {
      const herald = await startTestHerald({ apps: { [THREEMA]: config } });
      try {
        const user = sandbox.threema.createRecipient();
        const res = await herald.notify({ notification: { ...FULL.notification, devices: [deviceOf(user)] } });
        assert.equal(res.status, 502);
        const { error } = (await res.json()) as { error: string };
        assert.match(error, /the app's credentials were refused or cannot be used/);
        assert.doesNotMatch(error, /\.key|\.pem/, "the file stays in the log");
        assert.ok(
          herald.logs.some((l) => message.test(String(l.msg))),
          "the log names the file",
        );
      } finally {
        await herald.stop();
      }
    }
  });
});
