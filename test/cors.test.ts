/**
 * CORS, as a browser meets it: the preflight of a page calling push-relay's /push (Threema Web) or WalletConnect's
 * /clients routes (a web wallet) is answered 204 with the methods and headers allowed, and every answer, errors
 * included, names the origin allowed; /notify, which homeservers call, never answers CORS.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { SANDBOX_FCM, startSandbox, type Sandbox } from "../src/sandbox/index.js";
import { rawRequest, startTestHerald, type RawResponse, type TestHerald } from "./helpers/herald.js";
import { waitFor } from "./helpers/waitFor.js";
import { ed25519Pair, sqliteStore, walletConnectSection, type TestStore } from "./walletconnect/helpers.js";

const PAGE = "https://wallet.example.org";
let sandbox: Sandbox;

before(async () => {
  sandbox = await startSandbox();
});
after(() => sandbox.close());

/** A Herald with /push and /clients, and `http` settings of the test's; stopped after the suite. */
function heraldWith(http: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  let herald: TestHerald;
  let store: TestStore;
  before(async () => {
    store = sqliteStore();
    herald = await startTestHerald({
      http: { bind_addresses: ["127.0.0.1"], port: 0, ...http },
      apps: sandbox.apps(),
      push_relay: {
        fcm: {
          service_account_key_base64: readFileSync(sandbox.files.serviceAccount).toString("base64"),
          project_id: SANDBOX_FCM.projectId,
          endpoint: sandbox.fcm.url,
          ca: sandbox.files.ca,
        },
      },
      walletconnect: walletConnectSection(ed25519Pair(), store),
      ...extra,
    });
  });
  after(async () => {
    await herald.stop();
    await store.drop();
  });
  return (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
    rawRequest(herald.url, { method, path, headers, ...(body === undefined ? {} : { body }) });
}

/** A browser's preflight before a cross-origin `method` with a JSON body. */
const preflight = (method: string, origin = PAGE) => ({
  Origin: origin,
  "Access-Control-Request-Method": method,
  "Access-Control-Request-Headers": "content-type",
});

function assertNoCors(answer: RawResponse): void {
  for (const name of Object.keys(answer.headers)) assert.doesNotMatch(name, /^access-control-/, `${name} was sent`);
}

describe("CORS with the default, any origin", () => {
  const request = heraldWith({});

  test("a preflight to /clients and a project's routes: 204, POST and DELETE, Content-Type and Authorization", async () => {
    for (const [path, method] of [
      ["/clients", "POST"],
      ["/clients/z6MkWallet", "DELETE"],
      ["/f3b1c0de/clients", "POST"],
      ["/f3b1c0de/clients/z6MkWallet", "DELETE"],
    ] as const) {
      const answer = await request("OPTIONS", path, preflight(method));
      assert.equal(answer.status, 204, path);
      assert.equal(answer.headers["access-control-allow-origin"], "*", path);
      assert.equal(answer.headers["access-control-allow-methods"], "POST, DELETE", path);
      assert.equal(answer.headers["access-control-allow-headers"], "Content-Type, Authorization", path);
      assert.equal(answer.headers["access-control-max-age"], "86400", path);
      assert.equal(answer.body, "");
    }
  });

  test("a preflight to /push: 204, POST", async () => {
    const answer = await request("OPTIONS", "/push", preflight("POST", "https://web.threema.ch"));
    assert.equal(answer.status, 204);
    assert.equal(answer.headers["access-control-allow-origin"], "*");
    assert.equal(answer.headers["access-control-allow-methods"], "POST");
  });

  test("every answer of /clients names the origin allowed: a success, a 400, a 405, a 413", async () => {
    const json = { Origin: PAGE, "Content-Type": "application/json" };
    const registered = await request(
      "POST",
      "/clients",
      json,
      JSON.stringify({ client_id: "z6MkCors", type: "noop", token: "t" }),
    );
    assert.equal(registered.status, 200);
    const refused = await request("POST", "/clients", json, "not json");
    assert.equal(refused.status, 400);
    const wrongMethod = await request("GET", "/f3b1c0de/clients", { Origin: PAGE });
    assert.equal(wrongMethod.status, 405);
    const tooLarge = await request("POST", "/clients", json, "x".repeat(1024 * 1024 + 1));
    assert.equal(tooLarge.status, 413);
    for (const answer of [registered, refused, wrongMethod, tooLarge]) {
      assert.equal(answer.headers["access-control-allow-origin"], "*", `on the ${answer.status}`);
    }
  });

  test("push-relay's 400 names the origin allowed, so that Threema Web reads it instead of retrying", async () => {
    const answer = await request(
      "POST",
      "/push",
      { Origin: "https://web.threema.ch", "Content-Type": "application/x-www-form-urlencoded" },
      "type=fcm",
    );
    assert.equal(answer.status, 400);
    assert.equal(answer.headers["access-control-allow-origin"], "*");
  });

  test("/notify never answers CORS: no headers on its answers, and OPTIONS is not a preflight there", async () => {
    const notified = await request("POST", "/_matrix/push/v1/notify", { Origin: PAGE }, "{}");
    assert.equal(notified.status, 400);
    assertNoCors(notified);
    const options = await request("OPTIONS", "/_matrix/push/v1/notify", preflight("POST"));
    assert.notEqual(options.status, 204);
    assertNoCors(options);
  });
});

describe("CORS with a list of origins", () => {
  const request = heraldWith({ cors_allowed_origins: ["https://web.threema.ch", PAGE] });

  test("an origin of the list is named back, with Vary: Origin", async () => {
    const answer = await request("OPTIONS", "/push", preflight("POST", "https://web.threema.ch"));
    assert.equal(answer.status, 204);
    assert.equal(answer.headers["access-control-allow-origin"], "https://web.threema.ch");
    assert.match(String(answer.headers.vary), /Origin/);
    const actual = await request("DELETE", "/clients/z6MkNobody", { Origin: PAGE });
    assert.equal(actual.headers["access-control-allow-origin"], PAGE);
  });

  test("another origin gets no CORS headers: its browser keeps the answer from the page", async () => {
    const answer = await request("OPTIONS", "/clients", preflight("POST", "https://evil.example"));
    assert.equal(answer.status, 204);
    assertNoCors(answer);
    assert.match(String(answer.headers.vary), /Origin/);
    const actual = await request("DELETE", "/clients/z6MkNobody", { Origin: "https://evil.example" });
    assert.equal(actual.status, 200);
    assertNoCors(actual);
  });
});

describe("CORS turned off", () => {
  const request = heraldWith({ cors_allowed_origins: [] });

  test("no CORS headers, and OPTIONS is a 405 as any other method the routes do not take", async () => {
    const options = await request("OPTIONS", "/clients", preflight("POST"));
    assert.equal(options.status, 405);
    assertNoCors(options);
    const actual = await request("DELETE", "/clients/z6MkNobody", { Origin: PAGE });
    assert.equal(actual.status, 200);
    assertNoCors(actual);
  });
});

describe("CORS on the answers Herald gives before routing", () => {
  // Any real heap is above a millionth of its limit: once the sampler has read it, every request is shed.
  const request = heraldWith({}, { load_shedding: { max_heap_used: 0.000001, max_event_loop_delay: 0 } });

  test("a 503 of load shedding names the origin allowed; a preflight is still answered", async () => {
    const shed = await waitFor("a request shed", async () => {
      const answer = await request("DELETE", "/clients/z6MkNobody", { Origin: PAGE });
      return answer.status === 503 && answer;
    });
    assert.equal(shed.headers["access-control-allow-origin"], "*");
    const answer = await request("OPTIONS", "/clients", preflight("POST"));
    assert.equal(answer.status, 204);
  });
});
