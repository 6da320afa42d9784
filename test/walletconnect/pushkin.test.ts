/**
 * The walletconnect pushkin (`type: walletconnect`) end to end: Herald A's app → Herald B's `/clients` API (a real
 * registry, a real signature check) → the sandbox APNs and FCM; and against a scripted fake push server for the
 * answers Herald B does not give on demand (5xx, 429, 400, tenant_suspended) and one that is not there.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { CLIENT_DELETED_BODY, WalletConnectServerSandbox } from "../../src/sandbox/walletConnectServer.js";
import { loadPushkins } from "../../src/pushkins/load.js";
import { parseConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { relayBody } from "../../src/pushkins/walletconnect/payload.js";
import { ENCRYPTED_TITLE } from "../../src/walletConnect/payload.js";
import { device, notification, startTestHerald, type TestHerald } from "../helpers/herald.js";
import { closedPort } from "../helpers/ports.js";
import { tempDir } from "../helpers/tempDir.js";
import {
  apnsToken,
  ed25519Pair,
  fcmToken,
  register,
  startWalletConnectHerald,
  sqliteStore,
  walletConnectSection,
  type Ed25519Pair,
  type TestStore,
} from "./helpers.js";

const APP = "org.example.wallet";
const ROOM = "!room:example.org";

let sandbox: Sandbox;
const dir = tempDir(after, "herald-wc-pushkin-");
let signer: Ed25519Pair;
let keyFile: string;
let store: TestStore;
let heraldB: TestHerald;
let heraldA: TestHerald;
let counter = 0;
const clientId = () => `z6MkPushkin${++counter}`;

function writeKey(pair: Ed25519Pair, name: string): string {
  const path = join(dir, name);
  writeFileSync(path, pair.privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
  return path;
}

function walletConnectApp(endpoint: string, extra: Record<string, unknown> = {}) {
  return { type: "walletconnect", endpoint, signing_key_file: keyFile, tag: 4242, ca: sandbox.files.ca, ...extra };
}

const message = (id = `$event${++counter}`) =>
  notification([device("", APP)], {
    event_id: id,
    room_id: ROOM,
    type: "m.room.message",
    sender: "@alice:example.org",
    counts: { unread: 2 },
  });

function notify(herald: TestHerald, pushkey: string, data?: Record<string, unknown>, eventId?: string) {
  const body = message(eventId);
  const devices = (body.notification as { devices: Record<string, unknown>[] }).devices;
  devices[0]!.pushkey = pushkey;
  if (data) devices[0]!.data = data;
  return herald.notify(body);
}

before(async () => {
  sandbox = await startSandbox();
  signer = ed25519Pair();
  keyFile = writeKey(signer, "signing.pem");
  store = sqliteStore();
  heraldB = await startWalletConnectHerald(sandbox, walletConnectSection(signer, store));
  heraldA = await startTestHerald({ request_deadline: 3, apps: { [APP]: walletConnectApp(heraldB.url) } });
});
after(async () => {
  await heraldA.stop();
  await heraldB.stop();
  await store.drop();
  await sandbox.close();
});
afterEach(() => {
  sandbox.apns.reset();
  sandbox.fcm.reset();
});

describe("walletconnect pushkin → Herald's /clients API → sandbox providers", () => {
  test("an always_raw APNs wallet gets the raw message: the data map as JSON, the room as topic, the app's tag", async () => {
    const id = clientId();
    const token = apnsToken();
    assert.equal((await register(heraldB.url, { client_id: id, type: "apns", token, always_raw: true })).status, 200);
    const response = await notify(heraldA, id);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { rejected: [] });
    const push = sandbox.apns.received[0]!;
    assert.equal(push.token, token);
    const payload = push.payload as { aps: unknown; topic: string; tag: number; message: string };
    assert.deepEqual(payload.aps, { alert: { title: ENCRYPTED_TITLE }, "content-available": 1, "mutable-content": 1 });
    assert.equal(payload.topic, ROOM);
    assert.equal(payload.tag, 4242);
    const data = JSON.parse(payload.message) as Record<string, string>;
    assert.equal(data.room_id, ROOM);
    assert.equal(data.sender, "@alice:example.org");
    assert.equal(data.unread, "2");
  });

  test("a wallet registered without always_raw gets the same message in the legacy shape (FCM)", async () => {
    const id = clientId();
    const token = fcmToken();
    await register(heraldB.url, { client_id: id, type: "fcm", token });
    assert.deepEqual(await (await notify(heraldA, id, { topic: "wallet-topic" })).json(), { rejected: [] });
    const data = sandbox.fcm.received[0]!.message.data as Record<string, string>;
    assert.equal(data.topic, "wallet-topic");
    assert.equal(data.flags, "1");
    assert.equal((JSON.parse(data.blob!) as Record<string, string>).room_id, ROOM);
  });

  test("the homeserver's retry of a notification is a duplicate at the push server: delivered, not pushed twice", async () => {
    const id = clientId();
    await register(heraldB.url, { client_id: id, type: "apns", token: apnsToken(), always_raw: true });
    const eventId = `$retried${++counter}`;
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(await (await notify(heraldA, id, undefined, eventId)).json(), { rejected: [] });
    }
    assert.equal(sandbox.apns.received.length, 1);
  });

  test("one notification for two devices reaches both: each body names its client, so the push server binds it there", async () => {
    const devices = [
      { id: clientId(), token: apnsToken() },
      { id: clientId(), token: apnsToken() },
    ];
    for (const { id, token } of devices) {
      assert.equal((await register(heraldB.url, { client_id: id, type: "apns", token, always_raw: true })).status, 200);
    }
    const body = notification(
      devices.map(({ id }) => device(id, APP)),
      { event_id: `$shared${++counter}`, room_id: ROOM, type: "m.room.message", counts: { unread: 1 } },
    );
    assert.deepEqual(await (await heraldA.notify(body)).json(), { rejected: [] });
    assert.deepEqual(sandbox.apns.received.map((push) => push.token).sort(), devices.map(({ token }) => token).sort());
  });

  test("a token the provider declares dead: the push server deletes the client, and the pushkey is rejected", async () => {
    const id = clientId();
    const token = apnsToken();
    await register(heraldB.url, { client_id: id, type: "apns", token, always_raw: true });
    sandbox.apns.script(token, { status: 410, reason: "Unregistered" });
    assert.deepEqual(await (await notify(heraldA, id)).json(), { rejected: [id] });
  });

  test("a push server that does not accept our key: 502, logged with the public key to hand over", async () => {
    const stranger = ed25519Pair();
    keyFile = writeKey(stranger, "stranger.pem");
    const herald = await startTestHerald({ request_deadline: 3, apps: { [APP]: walletConnectApp(heraldB.url) } });
    keyFile = join(dir, "signing.pem");
    try {
      const response = await notify(herald, clientId());
      assert.equal(response.status, 502);
      const line = herald.logs.find((l) => typeof l.fix === "string");
      assert.ok(line, "a log line with the fix");
      assert.match(String(line.fix), new RegExp(stranger.publicHex));
    } finally {
      await herald.stop();
    }
  });
});

describe("walletconnect pushkin against a scripted push server", () => {
  let server: WalletConnectServerSandbox;
  let herald: TestHerald;
  before(async () => {
    server = await WalletConnectServerSandbox.start({ ca: sandbox.ca, relayPublicKeyHex: signer.publicHex });
    herald = await startTestHerald({ request_deadline: 3, apps: { [APP]: walletConnectApp(server.url) } });
  });
  after(async () => {
    await herald.stop();
    await server.close();
  });
  afterEach(() => server.reset());

  test("sends POST /clients/{pushkey}, signed as the relay signs (checked independently), with both shapes", async () => {
    const id = "did:key:z6Mk/odd id";
    assert.deepEqual(await (await notify(herald, id)).json(), { rejected: [] });
    const received = server.received[0]!;
    assert.equal(received.clientId, id);
    const body = received.body as { topic: string; tag: number; message: string; id: string; payload: unknown };
    assert.equal(body.tag, 4242);
    assert.equal(body.id, createHash("sha256").update(body.message).digest("hex"));
    assert.deepEqual(body.payload, { topic: ROOM, flags: 1, blob: body.message });
    assert.equal((body as { client_id?: string }).client_id, id, "the body names its client");
    assert.match(String(received.headers["x-ed25519-timestamp"]), /^\d{10}$/);
  });

  test("5xx, then 202: retried and delivered; 5xx every time: 502, never rejected", async () => {
    const id = clientId();
    server.script(id, { status: 503 }, { status: 202 });
    assert.deepEqual(await (await notify(herald, id)).json(), { rejected: [] });
    assert.equal(server.received.length, 2);
    const failing = clientId();
    server.script(failing, { status: 500 });
    assert.equal((await notify(herald, failing)).status, 502);
    assert.equal(server.received.length, 5);
  });

  test("429 with Retry-After: waits, then delivered", async () => {
    const id = clientId();
    server.script(id, { status: 429, retryAfter: 1 }, { status: 202 });
    const started = Date.now();
    assert.deepEqual(await (await notify(herald, id)).json(), { rejected: [] });
    assert.ok(Date.now() - started >= 900);
  });

  test("202 client_deleted: rejected; 202 tenant_suspended, 400, 404: 502, not rejected", async () => {
    const dead = clientId();
    server.script(dead, { status: 202, body: CLIENT_DELETED_BODY });
    assert.deepEqual(await (await notify(herald, dead)).json(), { rejected: [dead] });
    const suspended = {
      status: "FAILURE",
      errors: [
        { name: "tenant_suspended", message: "Request Accepted, tenant suspended due to invalid configuration" },
      ],
      fields: [],
    };
    for (const answer of [
      { status: 202, body: suspended },
      { status: 400, body: { status: "FAILURE", errors: [] } },
      { status: 404 },
    ]) {
      const id = clientId();
      server.script(id, answer);
      assert.equal((await notify(herald, id)).status, 502, JSON.stringify(answer));
    }
  });

  test("202 SUCCESS (a client the push server does not know), 200 (a duplicate): delivered", async () => {
    for (const answer of [{ status: 202, body: { status: "SUCCESS", errors: null, fields: null } }, { status: 200 }]) {
      const id = clientId();
      server.script(id, answer);
      assert.deepEqual(await (await notify(herald, id)).json(), { rejected: [] });
    }
  });

  test("a push server that cannot be reached: 502", async () => {
    const port = await closedPort();
    const unreachable = await startTestHerald({
      request_deadline: 2,
      apps: { [APP]: walletConnectApp(`https://127.0.0.1:${port}`) },
    });
    try {
      assert.equal((await notify(unreachable, clientId())).status, 502);
    } finally {
      await unreachable.stop();
    }
  });
});

describe("walletconnect pushkin's payload and settings", () => {
  test("topic: data.topic, else the room id, else empty; nothing to say: skipped", () => {
    const n = { event_id: "$e", prio: "high" as const, counts: {}, devices: [] };
    const body = (data?: Record<string, unknown>, room: string | null = ROOM) => {
      const built = relayBody(
        { ...n, ...(room === null ? {} : { room_id: room }) },
        { app_id: APP, pushkey: "p", data },
        7,
        true,
      );
      assert.equal(built.kind, "body");
      return JSON.parse((built as { body: string }).body) as { topic: string; tag: number };
    };
    assert.equal(body({ topic: "mine" }).topic, "mine");
    assert.equal(body({ topic: 5 }).topic, ROOM);
    assert.equal(body(undefined, null).topic, "");
    assert.equal(body().tag, 7);
    assert.equal(
      relayBody({ prio: "high", counts: {}, devices: [] }, { app_id: APP, pushkey: "p" }, 0, true).kind,
      "nothing",
    );
  });

  test("a missing or non-ed25519 signing key stops the app's start with the file named", async () => {
    const rsaPem = join(dir, "not-ed25519.pem");
    const { generateKeyPairSync } = await import("node:crypto");
    writeFileSync(
      rsaPem,
      generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ type: "pkcs8", format: "pem" }),
    );
    for (const [file, expected] of [
      [join(dir, "missing.pem"), /does not exist/],
      [rsaPem, /must be ed25519/],
    ] as const) {
      const { config } = parseConfig(
        JSON.stringify({
          apps: { [APP]: { type: "walletconnect", endpoint: "https://push.example.org", signing_key_file: file } },
        }),
        join(dir, "sygnal.yaml"),
      );
      await assert.rejects(
        loadPushkins(config, new GatewayMetrics({ processMetrics: false }), createLogger("silent")),
        (error: Error) => expected.test(error.message) && error.message.includes(file),
      );
    }
  });
});
