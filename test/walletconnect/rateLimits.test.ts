/**
 * `walletconnect.rate_limits.per_address` over real sockets: each client address (a loopback address of its own, the
 * client socket bound to it) registers and deletes within its own budget, counted in the registry's rows and in
 * `herald_rate_limited_total`; exempt addresses and the relay's pushes are never limited; behind a trusted proxy the
 * address X-Forwarded-For names is the one counted, and a client cannot name its own. A limited address is answered
 * before its body is read.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { loadSqliteDriver } from "../../src/store/sqlite/driver.js";
import { relaySignatureHeaders } from "../../src/walletConnect/signature.js";
import { flood, statuses } from "../helpers/flood.js";
import { rawRequest, type TestHerald } from "../helpers/herald.js";
import { answerOf, connectFrom, stalledRequest } from "../helpers/rawHttp.js";
import { within } from "../helpers/waitFor.js";
import {
  ed25519Pair,
  sqliteStore,
  startWalletConnectHerald,
  SUCCESS,
  walletConnectSection,
  type TestStore,
} from "./helpers.js";

/** A day to refill one request: nothing comes back while a test runs. */
const LIMIT = { requests: 20, period: 20 * 86_400 };
const PROXY = "127.0.0.3";
const EXEMPT = "127.0.0.4";
/** How long a body may stall: far longer than a test waits, so that only an answer that did not wait for it arrives. */
const BODY_TIMEOUT_S = 120;

const relay = ed25519Pair();
let sandbox: Sandbox;
let store: TestStore;
let herald: TestHerald;
let counter = 0;

before(async () => {
  sandbox = await startSandbox();
  store = sqliteStore();
  herald = await startWalletConnectHerald(
    sandbox,
    walletConnectSection(relay, store, { rate_limits: { per_address: LIMIT } }),
    {
      http: {
        bind_addresses: ["127.0.0.1"],
        port: 0,
        trusted_proxies: [PROXY],
        exempt_addresses: [EXEMPT],
        body_timeout: BODY_TIMEOUT_S,
        body_min_rate: 0,
      },
    },
  );
});
after(async () => {
  await herald.stop();
  await sandbox.close();
  await store.drop();
});

interface Sent {
  status: number;
  body: unknown;
  retryAfter: string | undefined;
}

/** Registers a new noop client from `from`, optionally with an X-Forwarded-For header. */
async function registerFrom(from: string, forwardedFor?: string, id = `wallet-${++counter}`): Promise<Sent> {
  const res = await rawRequest(herald.url, {
    method: "POST",
    path: "/clients",
    body: JSON.stringify({ client_id: id, type: "noop", token: `token-${id}` }),
    headers: { "content-type": "application/json", ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}) },
    localAddress: from,
  });
  return { status: res.status, body: JSON.parse(res.body), retryAfter: res.headers["retry-after"] as string };
}

async function registryRows(): Promise<number> {
  const Driver = await loadSqliteDriver();
  const db = new Driver((store.config as { path: string }).path, { readonly: true });
  try {
    return db.prepare<[], number>("SELECT count(*) FROM clients").pluck().get() ?? 0;
  } finally {
    db.close();
  }
}

async function rateLimited(): Promise<number> {
  const metric = herald.herald.metrics.registry.getSingleMetric("herald_rate_limited_total");
  const values = (await metric?.get())?.values ?? [];
  return values.find((v) => v.labels.surface === "walletconnect" && v.labels.limit === "per_address")?.value ?? 0;
}

describe("walletconnect.rate_limits.per_address", () => {
  test("a flood of registrations from one address: 429 with Retry-After past the limit, and the registry stops growing", async () => {
    const rowsBefore = await registryRows();
    const limitedBefore = await rateLimited();
    const answers = await flood(50, () => registerFrom("127.0.0.2"));
    assert.deepEqual(statuses(answers), { 200: 20, 429: 30 });
    assert.ok(
      answers.slice(0, 20).every((a) => a.status === 200),
      "the burst first",
    );
    for (const refused of answers.slice(20)) {
      assert.deepEqual(refused.body, {
        status: "FAILURE",
        errors: [{ name: "too_many_requests", message: "Too many requests" }],
        fields: [],
      });
      // One request comes back every 86,400 s: the wait is that, to the second.
      assert.ok(/^\d+$/.test(refused.retryAfter ?? ""), `Retry-After: ${refused.retryAfter}`);
      assert.ok(Number(refused.retryAfter) > 86_000 && Number(refused.retryAfter) <= 86_400, refused.retryAfter);
    }
    assert.equal(await registryRows(), rowsBefore + 20);
    assert.equal((await rateLimited()) - limitedBefore, 30, "each 429 counted");

    // Deletions count in the same budget. A web wallet can read the answer, and when to come back.
    const deleted = await rawRequest(herald.url, {
      method: "DELETE",
      path: "/clients/x",
      headers: { origin: "https://wallet.example" },
      localAddress: "127.0.0.2",
    });
    assert.equal(deleted.status, 429);
    assert.equal(deleted.headers["access-control-allow-origin"], "*");
    assert.equal(deleted.headers["access-control-expose-headers"], "Retry-After");
    const other = await registerFrom("127.0.0.5");
    assert.equal(other.status, 200, "another address has its own budget");
    assert.deepEqual(other.body, SUCCESS);
  });

  test("deletions and the project routes share the address's budget; the relay's pushes are not counted", async () => {
    const from = "127.0.0.6";
    const id = `wallet-${++counter}`;
    assert.equal((await registerFrom(from, undefined, id)).status, 200);
    for (let i = 0; i < 19; i++) {
      const path = i % 2 ? `/clients/gone-${i}` : `/project-${i}/clients/gone-${i}`;
      assert.equal((await rawRequest(herald.url, { method: "DELETE", path, localAddress: from })).status, 200);
    }
    const project = await rawRequest(herald.url, {
      method: "POST",
      path: "/some-project/clients",
      body: JSON.stringify({ client_id: "another", type: "noop", token: "another-token" }),
      headers: { "content-type": "application/json" },
      localAddress: from,
    });
    assert.equal(project.status, 429);
    // The relay's pushes from that address are still served.
    for (let i = 0; i < 5; i++) {
      const body = Buffer.from(
        JSON.stringify({ id: `m${i}`, payload: { topic: "t", flags: 1, blob: "ZW5jcnlwdGVk" } }),
      );
      const pushed = await rawRequest(herald.url, {
        method: "POST",
        path: `/clients/${id}`,
        body,
        headers: { "content-type": "application/json", ...relaySignatureHeaders(body, relay.privateKey, Date.now()) },
        localAddress: from,
      });
      assert.equal(pushed.status, 202);
    }
    // A path of both shapes is the single-tenant route's: POST /clients/clients is a push, not a project's
    // registration, and DELETE /clients/clients a deletion; DELETE /{project}/clients is no route at all.
    const body = Buffer.from(JSON.stringify({ id: "m-both", payload: { topic: "t", flags: 1, blob: "ZW5jcnlwdGVk" } }));
    const pushedToBoth = await rawRequest(herald.url, {
      method: "POST",
      path: "/clients/clients",
      body,
      headers: { "content-type": "application/json", ...relaySignatureHeaders(body, relay.privateKey, Date.now()) },
      localAddress: from,
    });
    assert.equal(pushedToBoth.status, 202);
    assert.equal(
      (await rawRequest(herald.url, { method: "DELETE", path: "/clients/clients", localAddress: from })).status,
      429,
    );
    assert.equal(
      (await rawRequest(herald.url, { method: "DELETE", path: "/p/clients", localAddress: from })).status,
      405,
    );
  });

  test("a limited address is answered 429 without its body being read: a stalled body does not hold the answer", async (t) => {
    const from = "127.0.0.8";
    assert.deepEqual(statuses(await flood(LIMIT.requests, () => registerFrom(from))), { 200: LIMIT.requests });
    const port = Number(new URL(herald.url).port);
    for (const path of ["/clients", "/some-project/clients"]) {
      const socket = await connectFrom(port, from);
      t.after(() => socket.destroy());
      const answer = answerOf(socket);
      // 500 KB announced (within the 1 MiB limit), a few bytes sent, the rest never: a read would wait BODY_TIMEOUT_S.
      socket.write(stalledRequest(path, 500_000, '{"client_id":'));
      const { text } = await within(`the 429 to ${path} while the body is stalled`, answer, 10_000);
      assert.match(text, /^HTTP\/1\.1 429 /, path);
      assert.match(text, /\r\nconnection: close\r\n/i, "the rest of the body is not drained");
      assert.match(text, /\r\nretry-after: \d+\r\n/i);
      const json = text.slice(text.indexOf("\r\n\r\n") + 4);
      assert.deepEqual(JSON.parse(json), {
        status: "FAILURE",
        errors: [{ name: "too_many_requests", message: "Too many requests" }],
        fields: [],
      });
    }
  });

  test("an exempt address is not limited", async () => {
    const answers = await flood(40, () => registerFrom(EXEMPT));
    assert.deepEqual(statuses(answers), { 200: 40 });
  });

  test("behind a trusted proxy the client X-Forwarded-For names is counted, each client on its own", async () => {
    const answers = await flood(25, () => registerFrom(PROXY, "203.0.113.9, 198.51.100.7"));
    assert.deepEqual(statuses(answers), { 200: 20, 429: 5 });
    assert.equal((await registerFrom(PROXY, "198.51.100.8")).status, 200, "another client of the proxy");
    // The entry left of the proxy's is the client's own writing, and is not read.
    assert.equal((await registerFrom(PROXY, "203.0.113.10, 198.51.100.7")).status, 429);
    // The proxy itself, for requests of its own, has its own budget.
    assert.equal((await registerFrom(PROXY)).status, 200);
  });

  test("from an untrusted peer, a forged X-Forwarded-For changes nothing; a hint is logged once", async () => {
    let forged = 0;
    const answers = await flood(25, () => registerFrom("127.0.0.7", `198.51.100.${++forged}`));
    assert.deepEqual(statuses(answers), { 200: 20, 429: 5 });
    // Such a peer may be a reverse proxy nobody listed: the operator is told how to fix it, once.
    const hints = herald.logs.filter((line) => String(line.msg).includes("list it in http.trusted_proxies"));
    assert.equal(hints.length, 1);
    assert.equal(hints[0]!.address, "127.0.0.7");
    assert.equal(hints[0]!.limit, "walletconnect.rate_limits.per_address");
  });
});
