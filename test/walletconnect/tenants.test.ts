/**
 * WalletConnect's multi-tenant routes, `/{project id}/clients…`, which the official SDKs and the relay call: served
 * like `/clients` when no tenants are configured (any project, or those of `allowed_tenants`), and each project with
 * its own apps and its own clients under `tenants`. A project this server does not serve gets the original's answers.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SANDBOX_APPS } from "../../src/sandbox/index.js";
import { rawRequest } from "../helpers/herald.js";
import { sandboxForFile } from "../helpers/sandbox.js";
import {
  apnsToken,
  ed25519Pair,
  fcmToken,
  register,
  relayPush,
  SQLITE,
  SUCCESS,
  unregister,
  walletConnectSection,
  walletConnectSuite,
} from "./helpers.js";

const relay = ed25519Pair();
const sandbox = await sandboxForFile();
let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}`;
const legacy = () => ({ id: unique("message"), payload: { topic: "topic", flags: 1, blob: "ZW5jcnlwdGVk" } });
const invalidTenant = (id: string) => ({
  status: "FAILURE",
  errors: [
    {
      name: "tenant",
      message: `The provided Tenant ID, ${id}, is invalid. Please ensure it's valid and the url is in the format /:tenant_id/...path`,
    },
  ],
  fields: [{ field: "tenant_id", description: `Invalid Tenant ID, ${id}`, location: "path" }],
});

/** A Herald whose `walletconnect` section has `extra`, on a registry of its own, for the enclosing suite. */
function heraldWith(extra: Record<string, unknown>) {
  const { herald } = walletConnectSuite(sandbox, SQLITE, (store) => walletConnectSection(relay, store, extra));
  return () => herald.url;
}

describe("without tenants: any project is served like /clients", () => {
  const url = heraldWith({});

  test("a wallet registered under a project is pushed to through that project, and through /clients", async () => {
    const token = apnsToken();
    const id = unique("z6MkProject");
    const registered = await register(url(), { client_id: `did:key:${id}`, type: "apns", token }, {}, "f3b1c0de");
    assert.equal(registered.status, 200);
    assert.deepEqual(registered.body, SUCCESS);

    const message = legacy();
    assert.equal((await relayPush(url(), id, message, relay, { project: "f3b1c0de" })).status, 202);
    assert.deepEqual(
      sandbox.apns.received.map((push) => push.token),
      [token],
    );
    // One set of clients: the same message through /clients is a duplicate, and another project sees the wallet too.
    assert.equal((await relayPush(url(), id, message, relay)).status, 200);
    assert.equal((await relayPush(url(), id, legacy(), relay, { project: "another-project" })).status, 202);
    assert.equal(sandbox.apns.received.length, 2);
  });

  test("unregistering through the project deletes the client: the next push finds nobody", async () => {
    const id = unique("z6MkGone");
    await register(url(), { client_id: id, type: "fcm", token: fcmToken() }, {}, "f3b1c0de");
    const deleted = await unregister(url(), `did:key:${id}`, {}, "f3b1c0de");
    assert.equal(deleted.status, 200);
    assert.deepEqual(deleted.body, SUCCESS);
    assert.equal((await relayPush(url(), id, legacy(), relay, { project: "f3b1c0de" })).status, 202);
    assert.equal(sandbox.fcm.received.length, 0);
  });

  test("a relay message to a project without a valid signature: 401, as on /clients", async () => {
    const answer = await relayPush(url(), "z6MkAnyone", legacy(), undefined, { project: "f3b1c0de" });
    assert.equal(answer.status, 401);
  });

  test("another method on a project's routes: 405 naming the allowed ones", async () => {
    const onClients = await rawRequest(url(), { method: "GET", path: "/f3b1c0de/clients" });
    assert.equal(onClients.status, 405);
    assert.equal(onClients.headers.allow, "POST");
    const onClient = await rawRequest(url(), { method: "PUT", path: "/f3b1c0de/clients/z6Mk" });
    assert.equal(onClient.status, 405);
    assert.equal(onClient.headers.allow, "POST, DELETE");
  });
});

describe("allowed_tenants: only the projects listed", () => {
  const url = heraldWith({ allowed_tenants: ["project-ok"] });

  test("a listed project is served like /clients", async () => {
    const id = unique("z6MkListed");
    const token = fcmToken();
    assert.equal((await register(url(), { client_id: id, type: "fcm", token }, {}, "project-ok")).status, 200);
    assert.equal((await relayPush(url(), id, legacy(), relay, { project: "project-ok" })).status, 202);
    assert.equal(sandbox.fcm.received[0]?.token, token);
  });

  test("another project: registration refused with the original's answer; its deletions and pushes reach nobody", async () => {
    const answer = await register(url(), { client_id: "z6MkNot", type: "fcm", token: fcmToken() }, {}, "project-no");
    assert.equal(answer.status, 400);
    assert.deepEqual(answer.body, invalidTenant("project-no"));

    // A client of /clients is not reachable, nor deletable, through a project that is not served.
    const id = unique("z6MkDefault");
    await register(url(), { client_id: id, type: "fcm", token: fcmToken() });
    assert.equal((await unregister(url(), id, {}, "project-no")).status, 200);
    assert.equal((await relayPush(url(), id, legacy(), relay, { project: "project-no" })).status, 202);
    assert.equal(sandbox.fcm.received.length, 0, "nothing was pushed through the project that is not served");
    assert.equal((await relayPush(url(), id, legacy(), relay)).status, 202);
    assert.equal(sandbox.fcm.received.length, 1, "the client is still registered");
  });
});

describe("tenants: each project with its own apps and its own clients", () => {
  const url = heraldWith({
    providers: { apns: SANDBOX_APPS.apns },
    tenants: {
      "project-a": { providers: { apns: SANDBOX_APPS.apns } },
      "project-b": { providers: { fcm: SANDBOX_APPS.fcm } },
    },
  });

  test("the same client id in two projects is two clients, each pushed through its project's app", async () => {
    const apns = apnsToken();
    const fcm = fcmToken();
    assert.equal(
      (await register(url(), { client_id: "z6MkShared", type: "apns", token: apns }, {}, "project-a")).status,
      200,
    );
    assert.equal(
      (await register(url(), { client_id: "z6MkShared", type: "fcm", token: fcm }, {}, "project-b")).status,
      200,
    );
    const message = legacy();
    assert.equal((await relayPush(url(), "z6MkShared", message, relay, { project: "project-a" })).status, 202);
    assert.equal((await relayPush(url(), "z6MkShared", message, relay, { project: "project-b" })).status, 202);
    assert.deepEqual(
      sandbox.apns.received.map((push) => push.token),
      [apns],
    );
    assert.deepEqual(
      sandbox.fcm.received.map((push) => push.token),
      [fcm],
    );
    // /clients is a third set of clients: it knows no z6MkShared.
    assert.equal((await relayPush(url(), "z6MkShared", legacy(), relay)).status, 202);
    assert.equal(sandbox.apns.received.length + sandbox.fcm.received.length, 2);
  });

  test("a push type the project has no app for: 400 provider_not_available, though another project has one", async () => {
    const answer = await register(url(), { client_id: "z6MkNoFcm", type: "fcm", token: fcmToken() }, {}, "project-a");
    assert.equal(answer.status, 400);
    assert.equal((answer.body as { errors: { name: string }[] }).errors[0]?.name, "provider_not_available");
  });

  test("a project that is not configured: the original's answer", async () => {
    const answer = await register(url(), { client_id: "z6Mk", type: "apns", token: apnsToken() }, {}, "project-z");
    assert.equal(answer.status, 400);
    assert.deepEqual(answer.body, invalidTenant("project-z"));
  });

  test("a dead token deletes the client of its project only", async () => {
    const token = apnsToken();
    await register(url(), { client_id: "z6MkDead", type: "apns", token }, {}, "project-a");
    await register(url(), { client_id: "z6MkDead", type: "apns", token });
    sandbox.apns.script(token, { status: 410, reason: "Unregistered" }, { status: 200 });
    const deleted = await relayPush(url(), "z6MkDead", legacy(), relay, { project: "project-a" });
    assert.equal(deleted.status, 202);
    assert.equal((deleted.body as { errors: { name: string }[] }).errors[0]?.name, "client_deleted");
    assert.equal((await relayPush(url(), "z6MkDead", legacy(), relay)).status, 202);
    assert.equal(sandbox.apns.received.length, 1, "the /clients client was pushed to: it was not deleted");
  });
});
