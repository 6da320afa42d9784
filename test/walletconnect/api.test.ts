/**
 * WalletConnect's push-server API over real sockets, against the sandbox APNs and FCM, on each registry (SQLite always,
 * PostgreSQL when HERALD_TEST_DATABASE_URL is set, its tests reported skipped when not): every endpoint and error body, the relay's signature, dedup and
 * replays, registration races, each mapping as the sandbox receives it, and each provider answer.
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import { SANDBOX_APNS } from "../../src/sandbox/index.js";
import { ENCRYPTED_TITLE } from "../../src/walletConnect/payload.js";
import { messageIdOf } from "../../src/walletConnect/request.js";
import { sandboxForFile } from "../helpers/sandbox.js";
import {
  apnsToken,
  ed25519Pair,
  fcmToken,
  register,
  relayPush,
  storeKinds,
  SUCCESS,
  unregister,
  walletConnectSection,
  walletConnectSuite,
  walletIdentity,
  walletJwt,
} from "./helpers.js";

const relay = ed25519Pair();
const sandbox = await sandboxForFile();
let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}-${Date.now()}`;
const blob = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");

for (const kind of storeKinds()) {
  describe(`WalletConnect API on ${kind.name}`, () => {
    const { test, before, herald } = walletConnectSuite(sandbox, kind, (store) =>
      walletConnectSection(relay, store, { public_url: "https://push.example.org" }),
    );

    const registerClient = async (type: string, token: string, extra: Record<string, unknown> = {}) => {
      const id = unique("client");
      const answer = await register(herald.url, { client_id: `did:key:${id}`, type, token, ...extra });
      assert.equal(answer.status, 200, answer.text);
      return id;
    };
    const legacy = (extra: { flags?: number; blob?: string; id?: string } = {}) => ({
      id: extra.id ?? unique("msg"),
      payload: { topic: "topic-legacy", flags: extra.flags ?? 1, blob: extra.blob ?? "ZW5jcnlwdGVk" },
    });
    const raw = (message = unique("raw message")) => ({ topic: "topic-raw", tag: 1108, message });

    describe("POST /clients", () => {
      test("registers a client: 200 SUCCESS, did:key: stripped, the type in any case", async () => {
        const token = apnsToken();
        const answer = await register(herald.url, { client_id: "did:key:z6MkWallet1", type: "APNS", token });
        assert.equal(answer.status, 200);
        assert.deepEqual(answer.body, SUCCESS);
        assert.equal(answer.headers["content-type"], "application/json; charset=utf-8");
        const pushed = await relayPush(herald.url, "z6MkWallet1", legacy(), relay);
        assert.equal(pushed.status, 202);
        assert.equal(pushed.text, "");
        assert.equal(sandbox.apns.received[0]?.token, token);
      });

      test("an unknown type: 400 provider_not_available, not a valid provider, named as sent", async () => {
        const answer = await register(herald.url, { client_id: "c", type: "Pigeon", token: "t" });
        const message = "The requested provider (Pigeon) is not a valid provider";
        assert.equal(answer.status, 400);
        assert.deepEqual(answer.body, {
          status: "FAILURE",
          errors: [{ name: "provider_not_available", message }],
          fields: [{ field: "provider", description: message, location: "body" }],
        });
      });

      test("an empty token: 400 field error naming token", async () => {
        const answer = await register(herald.url, { client_id: "c", type: "fcm", token: "" });
        assert.equal(answer.status, 400);
        assert.deepEqual(answer.body, {
          status: "FAILURE",
          errors: [{ name: "field", message: "field is missing from request" }],
          fields: [{ field: "token", description: "missing from request", location: "body" }],
        });
      });

      test("a missing field: 400 naming it; a wrong type: 400 naming it", async () => {
        const missing = await register(herald.url, { client_id: "c", type: "fcm" });
        assert.equal(missing.status, 400);
        assert.deepEqual((missing.body as { fields: unknown }).fields, [
          { field: "token", description: "missing from request", location: "body" },
        ]);
        const wrong = await register(herald.url, { client_id: "c", type: "fcm", token: "t", always_raw: "yes" });
        assert.equal(wrong.status, 400);
        assert.deepEqual((wrong.body as { fields: unknown }).fields, [
          { field: "always_raw", description: "must be boolean or null", location: "body" },
        ]);
      });

      test("control characters (NUL) or unpaired surrogates in client_id or token: 400, nothing stored", async () => {
        for (const [field, body] of [
          ["token", { client_id: "c-nul", type: "fcm", token: "abc\u0000def" }],
          ["client_id", { client_id: "c\u0000nul", type: "fcm", token: fcmToken() }],
          ["token", { client_id: "c-surrogate", type: "fcm", token: "abc\ud800" }],
        ] as const) {
          const answer = await register(herald.url, body);
          assert.equal(answer.status, 400, JSON.stringify(body));
          assert.deepEqual(answer.body, {
            status: "FAILURE",
            errors: [{ name: "field", message: "field is invalid" }],
            fields: [{ field, description: "must not contain control characters", location: "body" }],
          });
        }
        assert.deepEqual((await relayPush(herald.url, "c-nul", legacy(), relay)).body, SUCCESS);
      });

      test("a client_id over 255 characters (did:key: aside) is 400; one of 255 can be pushed to and unregistered", async () => {
        // An id that long could never come back in a request path (DELETE and POST /clients/:id): Node refuses
        // request heads over 16 KiB, so such a client could neither be pushed to nor unregistered.
        const long = `z6Mk${"é".repeat(70_000)}`;
        const refused = await register(herald.url, { client_id: `did:key:${long}`, type: "noop", token: apnsToken() });
        assert.equal(refused.status, 400);
        assert.deepEqual(refused.body, {
          status: "FAILURE",
          errors: [{ name: "field", message: "field is invalid" }],
          fields: [{ field: "client_id", description: "must be at most 255 characters", location: "body" }],
        });
        const longest = unique("c").padEnd(255, "é");
        const token = apnsToken();
        const answer = await register(herald.url, { client_id: `did:key:${longest}`, type: "apns", token });
        assert.equal(answer.status, 200, answer.text);
        const pushed = await relayPush(herald.url, longest, legacy(), relay);
        assert.equal(pushed.status, 202, pushed.text);
        assert.equal(sandbox.apns.received[0]?.token, token);
        assert.deepEqual((await unregister(herald.url, `did:key:${longest}`)).body, SUCCESS);
        assert.deepEqual((await relayPush(herald.url, longest, legacy(), relay)).body, SUCCESS);
      });

      test("a token over 4,096 characters is 400 naming token; one of 4,096 is registered", async () => {
        // No provider's device token is that long; FCM refuses a message that holds one of 100,000 emoji (413), and the
        // relay would be answered 502 and retry for ever.
        const refused = await register(herald.url, {
          client_id: unique("c"),
          type: "fcm",
          token: "😀".repeat(100_000),
        });
        assert.equal(refused.status, 400);
        assert.deepEqual(refused.body, {
          status: "FAILURE",
          errors: [{ name: "field", message: "field is invalid" }],
          fields: [{ field: "token", description: "must be at most 4096 characters", location: "body" }],
        });
        const id = await registerClient("fcm", fcmToken().padEnd(4096, "x"));
        assert.equal((await relayPush(herald.url, id, legacy(), relay)).status, 202);
      });

      test("a body that is not a JSON object: 400 decode", async () => {
        for (const body of ["{not json", "[1,2]", '"text"']) {
          const answer = await register(herald.url, body);
          assert.equal(answer.status, 400);
          assert.equal((answer.body as { errors: { name: string }[] }).errors[0]?.name, "decode");
        }
      });

      test("the optional Authorization JWT: the wallet's own is accepted; another's, an expired one, another audience, garbage: 401", async () => {
        const wallet = walletIdentity();
        const other = walletIdentity();
        const body = { client_id: wallet.did, type: "noop", token: fcmToken() };
        const refused = {
          status: "FAILURE",
          errors: [{ name: "authentication", message: "the provided authentication is not sufficient" }],
          fields: [{ field: "authorization", description: "invalid authorization token", location: "header" }],
        };
        for (const authorization of [
          walletJwt(other),
          walletJwt(wallet, { exp: Math.floor(Date.now() / 1000) - 600 }),
          walletJwt(wallet, { iat: Math.floor(Date.now() / 1000) + 600 }),
          walletJwt(wallet, { aud: "https://elsewhere.example.org" }),
          `${walletJwt(wallet).slice(0, -4)}AAAA`,
          "not-a-jwt",
        ]) {
          const answer = await register(herald.url, body, { authorization });
          assert.equal(answer.status, 401, authorization);
          assert.deepEqual(answer.body, refused);
        }
        assert.equal((await register(herald.url, body, { authorization: walletJwt(wallet) })).status, 200);
        assert.equal((await register(herald.url, body, { authorization: `Bearer ${walletJwt(wallet)}` })).status, 200);
        assert.equal((await unregister(herald.url, wallet.clientId, { authorization: walletJwt(other) })).status, 401);
        assert.equal((await unregister(herald.url, wallet.did, { authorization: walletJwt(wallet) })).status, 200);
      });

      test("concurrent registrations of one token under different ids over HTTP leave one client", async () => {
        const token = fcmToken();
        const ids = Array.from({ length: 8 }, () => unique("racer"));
        const answers = await Promise.all(
          ids.map((id) => register(herald.url, { client_id: id, type: "noop", token })),
        );
        assert.deepEqual(
          answers.map((a) => a.status),
          ids.map(() => 200),
        );
        const pushes = await Promise.all(ids.map((id) => relayPush(herald.url, id, legacy(), relay)));
        const known = pushes.filter((p) => p.status === 202 && p.text === "");
        assert.equal(known.length, 1, JSON.stringify(pushes.map((p) => p.text)));
      });

      test("concurrent registrations of one id with different tokens leave one client, with one of the tokens", async () => {
        const id = unique("flipper");
        const tokens = Array.from({ length: 6 }, () => apnsToken());
        await Promise.all(tokens.map((token) => register(herald.url, { client_id: id, type: "apns", token })));
        assert.equal((await relayPush(herald.url, id, legacy(), relay)).status, 202);
        assert.equal(sandbox.apns.received.length, 1);
        assert.ok(tokens.includes(sandbox.apns.received[0]!.token));
      });
    });

    describe("DELETE /clients/:id", () => {
      test("deletes the client (200 SUCCESS); its pushes then answer 202 SUCCESS; an unknown id is 200 too", async () => {
        const id = await registerClient("noop", fcmToken());
        const deleted = await unregister(herald.url, `did:key:${id}`);
        assert.equal(deleted.status, 200);
        assert.deepEqual(deleted.body, SUCCESS);
        const pushed = await relayPush(herald.url, id, legacy(), relay);
        assert.equal(pushed.status, 202);
        assert.deepEqual(pushed.body, SUCCESS);
        assert.deepEqual((await unregister(herald.url, "nobody-ever")).body, SUCCESS);
        assert.equal((await unregister(herald.url, "bad\u0000id")).status, 200);
      });
    });

    describe("POST /clients/:id: the relay's signature", () => {
      const webhookFailed = {
        name: "webhook_validation_failed",
        message: "Failed to validate webhook, please ensure that all required headers are provided.",
      };
      const signatureField = { field: "X-Ed25519-Signature", description: "Missing signature", location: "header" };
      const timestampField = { field: "X-Ed25519-Timestamp", description: "Missing timestamp", location: "header" };
      const both = { status: "FAILURE", errors: [webhookFailed], fields: [signatureField, timestampField] };
      let id: string;
      before(async () => {
        id = await registerClient("apns", apnsToken());
      });

      test("one header missing: 401 naming that header", async () => {
        const noSignature = await relayPush(herald.url, id, legacy(), relay, { omit: ["X-Ed25519-Signature"] });
        assert.equal(noSignature.status, 401);
        assert.deepEqual(noSignature.body, { status: "FAILURE", errors: [webhookFailed], fields: [signatureField] });
        const noTimestamp = await relayPush(herald.url, id, legacy(), relay, { omit: ["X-Ed25519-Timestamp"] });
        assert.equal(noTimestamp.status, 401);
        assert.deepEqual(noTimestamp.body, { status: "FAILURE", errors: [webhookFailed], fields: [timestampField] });
      });

      test("both missing, not hex, the wrong length, another key, stale, from the future: 401 naming both", async () => {
        const cases: [string, Parameters<typeof relayPush>[4], typeof relay | undefined][] = [
          ["both missing", {}, undefined],
          ["not hex", { headers: { "X-Ed25519-Signature": "zz".repeat(64) } }, relay],
          ["wrong length", { headers: { "X-Ed25519-Signature": "ab".repeat(63) } }, relay],
          ["another key", {}, ed25519Pair()],
          ["stale", { nowMs: Date.now() - 600_000 }, relay],
          ["future", { nowMs: Date.now() + 600_000 }, relay],
          ["timestamp not a number", { headers: { "X-Ed25519-Timestamp": "yesterday" } }, relay],
        ];
        for (const [name, options, key] of cases) {
          const answer = await relayPush(herald.url, id, legacy(), key, options);
          assert.equal(answer.status, 401, name);
          assert.deepEqual(answer.body, both, name);
        }
        assert.equal(sandbox.apns.received.length, 0);
        const metrics = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
        for (const reason of ["missing", "malformed", "invalid", "stale"]) {
          assert.match(
            metrics,
            new RegExp(`herald_walletconnect_signature_failures_total\\{reason="${reason}"\\} [1-9]`),
          );
        }
      });

      test("a timestamp in milliseconds is read as such", async () => {
        const seen = herald.logs.length;
        const answer = await relayPush(herald.url, id, legacy(), relay, {
          headers: { "X-Ed25519-Timestamp": String(Date.now()) },
        });
        // The signature covers the timestamp: replacing it breaks it, but it is not refused as stale first.
        assert.equal(answer.status, 401);
        assert.match(JSON.stringify(herald.logs.slice(seen)), /does not verify/);
      });

      test("a replayed message is answered 200 with an empty body, and nothing is sent again", async () => {
        const body = legacy();
        assert.equal((await relayPush(herald.url, id, body, relay)).status, 202);
        const replay = await relayPush(herald.url, id, body, relay);
        assert.equal(replay.status, 200);
        assert.equal(replay.text, "");
        assert.equal(sandbox.apns.received.length, 1);
      });
    });

    describe("POST /clients/:id: bodies", () => {
      test("an unknown client: 202 SUCCESS", async () => {
        const answer = await relayPush(herald.url, "did:key:unknown", legacy(), relay);
        assert.equal(answer.status, 202);
        assert.deepEqual(answer.body, SUCCESS);
      });

      test("a client with always_raw and a legacy body, or without and a raw body: 400 naming the fields", async () => {
        const rawClient = await registerClient("noop", fcmToken(), { always_raw: true });
        const missingRaw = await relayPush(herald.url, rawClient, legacy(), relay);
        assert.equal(missingRaw.status, 400);
        assert.deepEqual(missingRaw.body, {
          status: "FAILURE",
          errors: [{ name: "field", message: "field is missing from request" }],
          fields: [
            { field: "missing topic, tag, or message field", description: "missing from request", location: "body" },
          ],
        });
        const legacyClient = await registerClient("noop", fcmToken());
        const missingLegacy = await relayPush(herald.url, legacyClient, raw(), relay);
        assert.equal(missingLegacy.status, 400);
        assert.equal(
          (missingLegacy.body as { fields: { field: string }[] }).fields[0]?.field,
          "missing id or payload field",
        );
        assert.equal((await relayPush(herald.url, legacyClient, { ...raw(), ...legacy() }, relay)).status, 202);
      });

      test("a body that is not JSON: 400 decode", async () => {
        const answer = await relayPush(herald.url, "anyone", "{nope", relay);
        assert.equal(answer.status, 400);
        assert.equal((answer.body as { errors: { name: string }[] }).errors[0]?.name, "decode");
      });

      test("a cleartext blob that is not base64 of {title, body}: 202 json error, nothing sent", async () => {
        const id = await registerClient("apns", apnsToken());
        const notBase64 = await relayPush(herald.url, id, legacy({ flags: 0, blob: "not base64!" }), relay);
        assert.equal(notBase64.status, 202);
        assert.deepEqual(notBase64.body, {
          status: "FAILURE",
          errors: [{ name: "json", message: "Decrypted notification does not decode as base64" }],
          fields: [],
        });
        const notJson = await relayPush(herald.url, id, legacy({ flags: 0, blob: blob({ title: 1 }) }), relay);
        assert.equal(
          (notJson.body as { errors: { message: string }[] }).errors[0]?.message,
          "Decrypted notification does not parse as JSON",
        );
        assert.equal(sandbox.apns.received.length, 0);
      });

      test("other methods: 405", async () => {
        const response = await fetch(`${herald.url}/clients`, { method: "GET" });
        assert.equal(response.status, 405);
        assert.equal(response.headers.get("allow"), "POST");
      });
    });

    describe("mapping to APNs", () => {
      test("raw: the fixed alert, content-available, mutable-content, topic, tag and message", async () => {
        const token = apnsToken();
        const id = await registerClient("apns", token, { always_raw: true });
        const body = raw("encrypted relay message");
        assert.equal((await relayPush(herald.url, id, body, relay)).status, 202);
        const push = sandbox.apns.received[0]!;
        assert.deepEqual(push.payload, {
          aps: { alert: { title: ENCRYPTED_TITLE }, "content-available": 1, "mutable-content": 1 },
          topic: "topic-raw",
          tag: 1108,
          message: "encrypted relay message",
        });
        assert.equal(push.token, token);
        assert.equal(push.topic, SANDBOX_APNS.topic);
        assert.equal(push.pushType, "alert");
        assert.equal(push.priority, "10");
        assert.equal(push.expiration, undefined);
        // The raw message's id is its SHA-256: the same message again is a duplicate.
        assert.equal((await relayPush(herald.url, id, { ...body, topic: "other" }, relay)).status, 200);
        assert.equal(messageIdOf({ shape: "raw", ...body }).length, 64);
      });

      test("legacy encrypted: the fixed alert with topic and blob", async () => {
        const id = await registerClient("apns-sandbox", apnsToken());
        await relayPush(herald.url, id, legacy({ flags: 1 | 4, blob: "c2VjcmV0" }), relay);
        assert.deepEqual(sandbox.apns.received[0]!.payload, {
          aps: { alert: { title: ENCRYPTED_TITLE }, "content-available": 1, "mutable-content": 1 },
          topic: "topic-legacy",
          blob: "c2VjcmV0",
        });
      });

      test("legacy cleartext: the blob's title and body, with topic", async () => {
        const id = await registerClient("apns", apnsToken());
        await relayPush(herald.url, id, legacy({ flags: 2, blob: blob({ title: "Sign", body: "A request" }) }), relay);
        assert.deepEqual(sandbox.apns.received[0]!.payload, {
          aps: { alert: { title: "Sign", body: "A request" }, "content-available": 1, "mutable-content": 1 },
          topic: "topic-legacy",
        });
      });

      test("a message over Apple's 4096 bytes: 400 body, nothing sent", async () => {
        const id = await registerClient("apns", apnsToken(), { always_raw: true });
        const answer = await relayPush(herald.url, id, raw("x".repeat(5000)), relay);
        assert.equal(answer.status, 400);
        assert.deepEqual(answer.body, {
          status: "FAILURE",
          errors: [{ name: "body", message: "Message payload is too large" }],
          fields: [],
        });
        assert.equal(sandbox.apns.requests, 0);
      });
    });

    describe("mapping to FCM v1", () => {
      const fcmCommon = { android: { priority: "HIGH" }, apns: { payload: { aps: { "content-available": 1 } } } };

      test("raw: data topic, tag (a string) and message", async () => {
        const token = fcmToken();
        const id = await registerClient("fcm", token, { always_raw: true });
        await relayPush(herald.url, id, raw("m"), relay);
        assert.deepEqual(sandbox.fcm.received[0]!.message, {
          token,
          data: { topic: "topic-raw", tag: "1108", message: "m" },
          ...fcmCommon,
        });
      });

      test("legacy encrypted: data topic, flags (a string) and blob", async () => {
        const token = fcmToken();
        const id = await registerClient("fcm", token);
        await relayPush(herald.url, id, legacy({ flags: 1, blob: "c2VjcmV0" }), relay);
        assert.deepEqual(sandbox.fcm.received[0]!.message, {
          token,
          data: { topic: "topic-legacy", flags: "1", blob: "c2VjcmV0" },
          ...fcmCommon,
        });
      });

      test("legacy cleartext: the same data, and a notification with the blob's title and body", async () => {
        const token = fcmToken();
        const id = await registerClient("fcm", token);
        const text = blob({ title: "Hello", body: "World", url: null });
        await relayPush(herald.url, id, legacy({ flags: 0, blob: text }), relay);
        assert.deepEqual(sandbox.fcm.received[0]!.message, {
          token,
          data: { topic: "topic-legacy", flags: "0", blob: text },
          notification: { title: "Hello", body: "World" },
          ...fcmCommon,
        });
      });
    });

    describe("provider answers", () => {
      test("a dead APNs token: 202 client_deleted, and the client is gone", async () => {
        const token = apnsToken();
        const id = await registerClient("apns", token);
        sandbox.apns.script(token, { status: 410, reason: "Unregistered" });
        const answer = await relayPush(herald.url, id, legacy(), relay);
        assert.equal(answer.status, 202);
        assert.deepEqual(answer.body, {
          status: "FAILURE",
          errors: [{ name: "client_deleted", message: "Request Accepted, client deleted due to invalid token" }],
          fields: [],
        });
        assert.deepEqual((await relayPush(herald.url, id, legacy(), relay)).body, SUCCESS);
      });

      test("a dead FCM token: 202 client_deleted, and the client is gone", async () => {
        const token = fcmToken();
        const id = await registerClient("fcm", token);
        sandbox.fcm.script(token, { status: 404 });
        assert.equal(((await relayPush(herald.url, id, legacy(), relay)).body as { status: string }).status, "FAILURE");
        assert.deepEqual((await relayPush(herald.url, id, legacy(), relay)).body, SUCCESS);
      });

      test("5xx until the deadline: retried, then 502 and the message forgotten; the relay's retry is delivered", async () => {
        const token = apnsToken();
        const id = await registerClient("apns", token);
        sandbox.apns.script(token, { status: 503 }, { status: 503 }, { status: 503 }, { status: 200 });
        const body = legacy();
        const failed = await relayPush(herald.url, id, body, relay);
        assert.equal(failed.status, 502);
        assert.equal((failed.body as { errors: { name: string }[] }).errors[0]?.name, "provider_unavailable");
        assert.equal(sandbox.apns.requests, 3);
        const retried = await relayPush(herald.url, id, body, relay);
        assert.equal(retried.status, 202);
        assert.equal(retried.text, "");
        assert.equal(sandbox.apns.received.length, 1);
      });

      test("credentials refused: 502 provider_credentials, logged with the fix, the client kept", async () => {
        const token = apnsToken();
        const id = await registerClient("apns", token);
        sandbox.apns.script(token, { status: 403, reason: "InvalidProviderToken" });
        const answer = await relayPush(herald.url, id, legacy(), relay);
        assert.equal(answer.status, 502);
        assert.equal((answer.body as { errors: { name: string }[] }).errors[0]?.name, "provider_credentials");
        assert.ok(herald.logs.some((line) => typeof line.fix === "string" && /key_id/.test(line.fix)));
        sandbox.apns.clearScripts();
        assert.equal((await relayPush(herald.url, id, legacy(), relay)).status, 202);
      });

      test("noop: 202, sent nowhere, its cleartext blob never read", async () => {
        const id = await registerClient("noop", fcmToken());
        const answer = await relayPush(herald.url, id, legacy({ flags: 0, blob: "not base64!" }), relay);
        assert.equal(answer.status, 202);
        assert.equal(answer.text, "");
        assert.equal(sandbox.apns.requests + sandbox.fcm.requests, 0);
      });
    });

    test("metrics: registrations, relay messages by outcome, deletions, registered clients", async () => {
      const metrics = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
      assert.match(metrics, /herald_walletconnect_registrations_total\{type="apns"\} [1-9]/);
      assert.match(metrics, /herald_walletconnect_relay_messages_total\{outcome="delivered"\} [1-9]/);
      assert.match(metrics, /herald_walletconnect_relay_messages_total\{outcome="duplicate"\} [1-9]/);
      assert.match(metrics, /herald_walletconnect_deletions_total\{reason="dead_token"\} [1-9]/);
      assert.match(metrics, /herald_walletconnect_deletions_total\{reason="unregistered"\} [1-9]/);
      assert.match(metrics, /herald_walletconnect_registered_clients [1-9]/);
    });
  });
}
