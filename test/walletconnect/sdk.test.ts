/**
 * WalletConnect's own JavaScript SDK against Herald: `@walletconnect/core`'s EchoClient registers the device token
 * exactly as a wallet built on it (or on `@reown/walletkit`) does, with only its HTTP target moved from WalletConnect's
 * push server to Herald, at the connection level; the relay's signed message then reaches the sandbox APNs through the
 * project's route, and the wallet unregisters through it.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ECHO_URL, EchoClient } from "@walletconnect/core";
import pino from "pino";
import { Agent, getGlobalDispatcher, setGlobalDispatcher, type Dispatcher } from "undici";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import type { TestHerald } from "../helpers/herald.js";
import {
  apnsToken,
  ed25519Pair,
  relayPush,
  sqliteStore,
  startWalletConnectHerald,
  unregister,
  walletConnectSection,
  type TestStore,
} from "./helpers.js";

/** A WalletConnect Cloud project id: 32 hex digits. */
const PROJECT_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const relay = ed25519Pair();
let sandbox: Sandbox;
let store: TestStore;
let herald: TestHerald;
let previousDispatcher: Dispatcher;

/** Every request the process makes to WalletConnect's push server goes to Herald instead, over a real connection. */
class ToHerald extends Agent {
  constructor(private readonly herald: string) {
    super();
  }
  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const addressed = String(options.origin) === ECHO_URL;
    return super.dispatch(addressed ? { ...options, origin: this.herald } : options, handler);
  }
}

before(async () => {
  sandbox = await startSandbox();
  store = sqliteStore();
  herald = await startWalletConnectHerald(sandbox, walletConnectSection(relay, store));
  previousDispatcher = getGlobalDispatcher();
  setGlobalDispatcher(new ToHerald(herald.url));
});
after(async () => {
  setGlobalDispatcher(previousDispatcher);
  await herald.stop();
  await store.drop();
  await sandbox.close();
});

test("a wallet registered by @walletconnect/core's EchoClient receives the relay's message, then unregisters", async () => {
  const clientId = "did:key:z6MkqHeraldSdkWallet9kY2mN3pQ4rS5tU6vW7xY8zA";
  const token = apnsToken();
  const echo = new EchoClient(PROJECT_ID, pino({ level: "silent" }));
  await echo.registerDeviceToken({ clientId, token, notificationType: "apns", enableEncrypted: false });

  const message = { id: "sdk-message-1", payload: { topic: "sdk-topic", flags: 1, blob: "ZW5jcnlwdGVk" } };
  const id = clientId.slice("did:key:".length);
  const pushed = await relayPush(herald.url, id, message, relay, { project: PROJECT_ID });
  assert.equal(pushed.status, 202, pushed.text);
  assert.deepEqual(
    sandbox.apns.received.map((push) => [push.token, (push.payload as { topic?: string }).topic]),
    [[token, "sdk-topic"]],
    "the SDK's registration was stored under the project, and the push went to its token",
  );

  assert.equal((await unregister(herald.url, clientId, {}, PROJECT_ID)).status, 200);
  const after = await relayPush(herald.url, id, { ...message, id: "sdk-message-2" }, relay, { project: PROJECT_ID });
  assert.equal(after.status, 202);
  assert.equal(sandbox.apns.received.length, 1, "an unregistered wallet gets nothing");
});
