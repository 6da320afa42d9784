/**
 * `http.public_listener`: push-relay's /push (and WalletConnect's /clients) on listeners of their own, /notify on the
 * homeservers' alone, each side with its own connection caps, over real sockets.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { ConfigError, parseConfig } from "../src/config/load.js";
import { writeYaml } from "../src/config/yaml.js";
import type { Sandbox } from "../src/sandbox/index.js";
import { device, notification, rawRequest, testApp, type TestHerald } from "./helpers/herald.js";
import { startPushRelayHerald, type PushRelayHerald } from "./pushRelay/sandboxConfig.js";
import { answerOf, connectFrom } from "./helpers/rawHttp.js";
import { waitFor } from "./helpers/waitFor.js";

const NOTIFY = "/_matrix/push/v1/notify";
const FORM = { "Content-Type": "application/x-www-form-urlencoded" };
/** Each side may hold this many connections: a few, so that one side can be filled in a test. */
const MAX_CONNECTIONS = 3;

let sandbox: Sandbox;
let herald: TestHerald;
let relay: PushRelayHerald;
let publicUrl: string;

before(async () => {
  relay = await startPushRelayHerald({
    http: {
      bind_addresses: ["127.0.0.1"],
      port: 0,
      max_connections: MAX_CONNECTIONS,
      public_listener: { bind_addresses: ["127.0.0.1"], port: 0 },
    },
    apps: { "com.example.spqr": testApp() },
  });
  ({ sandbox, herald } = relay);
  publicUrl = `http://127.0.0.1:${herald.herald.publicAddresses[0]!.port}`;
});
after(() => relay.close());

/** GET /health on a connection of its own to `port`: the answer's text. */
async function healthOnNewConnection(port: number): Promise<string> {
  const socket = await connectFrom(port, "127.0.0.1");
  const answer = answerOf(socket);
  socket.write("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  return (await answer).text;
}

const publicPort = () => herald.herald.publicAddresses[0]!.port;

const fcmPush = (token: string) => new URLSearchParams({ type: "fcm", token, session: "s", version: "3" }).toString();

describe("http.public_listener", () => {
  test("/notify is served on the homeservers' listener, and not on the public one", async () => {
    const res = await herald.notify(notification([device("accept")]));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '{"rejected": []}');
    const onPublic = await rawRequest(publicUrl, {
      method: "POST",
      path: NOTIFY,
      body: JSON.stringify(notification([device("accept")])),
    });
    assert.equal(onPublic.status, 404);
  });

  test("/push is served on the public listener, and not on the homeservers' one", async () => {
    const push = (url: string, token: string) =>
      rawRequest(url, { method: "POST", path: "/push", headers: FORM, body: fcmPush(token) });
    assert.equal((await push(publicUrl, "fcm-token-public-listener-1")).status, 204);
    assert.equal(sandbox.fcm.received.length, 1);
    assert.equal((await push(herald.url, "fcm-token-public-listener-2")).status, 404);
    assert.equal(sandbox.fcm.received.length, 1);
  });

  test("/health answers on both", async () => {
    assert.equal((await rawRequest(herald.url, { method: "GET", path: "/health" })).status, 200);
    assert.equal((await rawRequest(publicUrl, { method: "GET", path: "/health" })).status, 200);
  });

  test("connections to the public listener count against its own cap, not the homeservers'", async () => {
    const held: Socket[] = [];
    try {
      for (let i = 0; i < MAX_CONNECTIONS; i++) {
        const socket = connect(publicPort(), "127.0.0.1");
        socket.on("error", () => {});
        held.push(socket);
        await new Promise((resolve) => socket.once("connect", resolve));
      }
      // Herald counts a connection when it accepts it, a moment after the client's connect.
      await waitFor("the public side to be full", async () =>
        (await healthOnNewConnection(publicPort())).startsWith("HTTP/1.1 503"),
      );
      const onMain = await healthOnNewConnection(herald.herald.addresses[0]!.port);
      assert.match(onMain, /^HTTP\/1\.1 200/, "the homeservers' side takes new connections");
    } finally {
      for (const socket of held) socket.destroy();
    }
  });
});

describe("the config", () => {
  const parse = (config: Record<string, unknown>) =>
    parseConfig(writeYaml({ apps: { "com.example.spqr": testApp() }, ...config }), "/tmp/herald-test.yaml", {});

  test("a public listener with no public surface to serve is refused, saying what to add", () => {
    assert.throws(
      () => parse({ http: { port: 5000, public_listener: { port: 5001 } } }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /http\.public_listener: there is no public surface to serve on it: add a push_relay or walletconnect section/.test(
          error.message,
        ),
    );
  });

  test("a public listener on the homeservers' port and interface is refused, naming both keys", () => {
    assert.throws(
      () =>
        parse({
          http: {
            bind_addresses: ["127.0.0.1"],
            port: 5000,
            public_listener: { bind_addresses: ["0.0.0.0"], port: 5000 },
          },
          push_relay: {
            threema_gateway: {
              base_url: "https://msgapi.threema.ch",
              identity: "*ABCDEFG",
              secret: "s",
              private_key_file: "k",
            },
          },
        }),
      (error: unknown) =>
        error instanceof ConfigError &&
        /http\.port and http\.public_listener\.port \(both 5000\): http\.bind_addresses\[0\] \('127\.0\.0\.1'\) and http\.public_listener\.bind_addresses\[0\] \('0\.0\.0\.0'\)/.test(
          error.message,
        ),
    );
  });
});
