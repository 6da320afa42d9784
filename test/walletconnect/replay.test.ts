/**
 * A relay message replayed to other clients, over real sockets, on each registry (SQLite always, PostgreSQL when
 * HERALD_TEST_DATABASE_URL is set). The relay signs the timestamp and the body, not the client id in the path: a
 * signed request captured for one wallet verifies for any other. With `one_client_per_message` (the default) a message
 * that names no client goes to the first client it reaches, and no other; one that names its client (`client_id`, as
 * Herald's walletconnect pushkin sends it) goes to that client only.
 */
import assert from "node:assert/strict";
import * as nodeTest from "node:test";
import { describe } from "node:test";
import { sandboxForFile } from "../helpers/sandbox.js";
import {
  apnsToken,
  ed25519Pair,
  register,
  relayPush,
  SQLITE,
  storeKinds,
  walletConnectSection,
  walletConnectSuite,
} from "./helpers.js";

const relay = ed25519Pair();
const sandbox = await sandboxForFile();
let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}-${Date.now()}`;

/** A message in both shapes, as the relay may send it: a client reads the shape it registered for. */
const message = () => {
  const id = unique("message");
  return { topic: "topic", tag: 1108, message: `encrypted ${id}`, id, payload: { topic: "topic", flags: 1, blob: id } };
};

async function registerWallets(url: string, count: number, alwaysRaw = false) {
  const wallets: { id: string; token: string }[] = [];
  for (let i = 0; i < count; i++) {
    const wallet = { id: unique("wallet"), token: apnsToken() };
    const answer = await register(url, {
      client_id: wallet.id,
      type: "apns",
      token: wallet.token,
      always_raw: alwaysRaw,
    });
    assert.equal(answer.status, 200, answer.text);
    wallets.push(wallet);
  }
  return wallets;
}

const apnsTokens = () => sandbox.apns.received.map((push) => push.token);

for (const kind of storeKinds()) {
  describe(`relay messages replayed to other clients, on ${kind.name}`, () => {
    const { test, herald } = walletConnectSuite(sandbox, kind, (store) => walletConnectSection(relay, store));

    test("the same signed request replayed to other clients within the window: 200 with no body, nothing sent", async () => {
      const [victim, other] = await registerWallets(herald.url, 2);
      const [rawClient] = await registerWallets(herald.url, 1, true);
      const body = message();
      const signedAt = Date.now();
      const original = await relayPush(herald.url, victim!.id, body, relay, { nowMs: signedAt });
      assert.equal(original.status, 202, original.text);
      // Byte for byte the request the relay sent (ed25519 signs alike), to two other wallets: one that reads the
      // legacy shape, as the victim, and one that reads the raw shape of the same body.
      for (const target of [other!, rawClient!]) {
        const replay = await relayPush(herald.url, target.id, body, relay, { nowMs: signedAt });
        assert.equal(replay.status, 200, replay.text);
        assert.equal(replay.text, "");
      }
      assert.deepEqual(apnsTokens(), [victim!.token], "only the client it reached first got it");
      // The relay's own retry to the victim is still the duplicate it was.
      const retry = await relayPush(herald.url, victim!.id, body, relay);
      assert.deepEqual([retry.status, retry.text], [200, ""]);
      const metrics = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
      assert.match(metrics, /herald_walletconnect_relay_messages_total\{outcome="other_client"\} [2-9]/);
      assert.ok(
        herald.logs.some((line) => /pushed to another client of this project already/.test(String(line.msg))),
        "a warning says why",
      );
    });

    test("one signed message posted to ten clients at once is pushed once", async () => {
      const wallets = await registerWallets(herald.url, 10);
      const body = message();
      const signedAt = Date.now();
      const answers = await Promise.all(
        wallets.map((wallet) => relayPush(herald.url, wallet.id, body, relay, { nowMs: signedAt })),
      );
      const pushed = answers.filter((answer) => answer.status === 202);
      assert.equal(pushed.length, 1, JSON.stringify(answers.map((answer) => answer.status)));
      assert.equal(answers.filter((answer) => answer.status === 200 && answer.text === "").length, 9);
      assert.equal(sandbox.apns.received.length, 1);
    });

    test("the residual risk: a message replayed to another client before it reaches its own goes there, once", async () => {
      // The signature does not name the client: whoever posts a signed message first chooses where it goes. The
      // intended client's delivery, coming second, is answered as a message already pushed.
      const [intended, chosen, third] = await registerWallets(herald.url, 3);
      const body = message();
      assert.equal((await relayPush(herald.url, chosen!.id, body, relay)).status, 202);
      assert.deepEqual((await relayPush(herald.url, intended!.id, body, relay)).status, 200);
      assert.deepEqual((await relayPush(herald.url, third!.id, body, relay)).status, 200);
      assert.deepEqual(apnsTokens(), [chosen!.token]);
    });

    test("a body that names its client (client_id) is pushed to that client only; the same message naming each reaches each", async () => {
      const [first, second] = await registerWallets(herald.url, 2);
      const body = message();
      const misdirected = await relayPush(herald.url, second!.id, { ...body, client_id: first!.id }, relay);
      assert.equal(misdirected.status, 400);
      assert.deepEqual(misdirected.body, {
        status: "FAILURE",
        errors: [{ name: "field", message: "field is invalid" }],
        fields: [
          {
            field: "client_id",
            description: "names another client than the path's: this message is not for this client",
            location: "body",
          },
        ],
      });
      for (const wallet of [first!, second!]) {
        const named = await relayPush(herald.url, wallet.id, { ...body, client_id: `did:key:${wallet.id}` }, relay);
        assert.equal(named.status, 202, named.text);
      }
      assert.deepEqual(apnsTokens(), [first!.token, second!.token]);
    });
  });
}

describe("one_client_per_message: false", () => {
  const { herald } = walletConnectSuite(sandbox, SQLITE, (store) =>
    walletConnectSection(relay, store, { one_client_per_message: false }),
  );

  nodeTest.test(
    "each client on its own, as WalletConnect's push server: the same message reaches every client",
    async () => {
      const wallets = await registerWallets(herald.url, 3);
      const body = message();
      for (const wallet of wallets) assert.equal((await relayPush(herald.url, wallet.id, body, relay)).status, 202);
      assert.deepEqual(
        apnsTokens(),
        wallets.map((wallet) => wallet.token),
      );
      assert.equal((await relayPush(herald.url, wallets[0]!.id, body, relay)).status, 200, "still once per client");
    },
  );
});
