/**
 * The FCM pushkin over real sockets against the sandbox FCM and the sandbox Google OAuth endpoint: what reaches FCM,
 * access tokens, every row of the answer table, legacy batches, the deadline and the proxy.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { readFcmSettings } from "../../src/pushkins/fcm/settings.js";
import { SANDBOX_FCM, startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { startConnectProxy } from "../helpers/connectProxy.js";
import { startTestHerald, type TestHerald } from "../helpers/herald.js";
import { fixturesDir } from "../helpers/paths.js";
import { tempDir } from "../helpers/tempDir.js";
import { waitFor } from "../helpers/waitFor.js";

const V1 = "com.example.gcm.apiv1";
const LEGACY = "com.example.gcm";
const API_KEY = SANDBOX_FCM.legacyApiKey;
const fixtures = JSON.parse(readFileSync(join(fixturesDir, "expected-provider-payloads.json"), "utf8")) as {
  cases: Record<string, { notification: Record<string, unknown>; gcm_v1_body: Record<string, unknown>[] }>;
};
const FULL = fixtures.cases.full!;

describe("FCM pushkin", () => {
  let sandbox: Sandbox;
  let herald: TestHerald;
  let tokenCounter = 0;
  /** A fresh registration token per test, so that the dead-token cache never answers for another test. */
  const token = () => `fcm-token-${++tokenCounter}:APA91b`;
  const notify = (app: string, ...pushkeys: string[]) =>
    herald.notify({
      notification: { ...FULL.notification, devices: pushkeys.map((pushkey) => ({ app_id: app, pushkey })) },
    });

  before(async () => {
    sandbox = await startSandbox();
    const v1 = sandbox.apps()["org.example.herald.demo.android"]!;
    herald = await startTestHerald({
      request_deadline: 5,
      metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
      apps: {
        [V1]: v1,
        [LEGACY]: { type: "gcm", api_key: API_KEY, endpoint: sandbox.fcm.url, ca: sandbox.files.ca },
        "com.example.gcm.apiv1.options": {
          ...v1,
          fcm_options: { apns: { payload: { aps: { "content-available": 1, "mutable-content": 1, alert: "" } } } },
        },
      },
    });
  });
  after(async () => {
    await herald.stop();
    await sandbox.close();
  });
  afterEach(() => {
    sandbox.fcm.reset();
    // Scripted token failures left by a failed test must not fail the next ones.
    sandbox.oauth.reset();
  });
  /** The value of a metric of the v1 app, from Herald's metrics page. */
  const metricOfV1 = async (name: string) => {
    const text = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name}{pushkin="${V1}"} `));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
  };
  const blamingLines = () =>
    herald.logs.filter((line) => String(line.msg).startsWith(`The credentials of app '${V1}' do not work`)).length;

  test("v1: Sygnal's message reaches FCM with a bearer token for the project", async () => {
    const pushkey = token();
    const res = await notify(V1, pushkey);
    assert.equal(await res.text(), '{"rejected": []}');
    const [received] = sandbox.fcm.received;
    assert.equal(received?.api, "v1");
    assert.equal(received?.projectId, "herald-sandbox");
    assert.equal(received?.token, pushkey);
    const expected = FULL.gcm_v1_body[0]!.message as Record<string, unknown>;
    assert.deepEqual(received?.message, { ...expected, token: pushkey });
    assert.match(String(received?.headers.authorization), /^Bearer /);
  });

  test("v1: fcm_options reach FCM inside the message", async () => {
    await notify("com.example.gcm.apiv1.options", token());
    const message = sandbox.fcm.received[0]?.message as { apns?: unknown };
    assert.deepEqual(message.apns, { payload: { aps: { "content-available": 1, "mutable-content": 1, alert: "" } } });
  });

  test("v1: one access token serves many pushes; a refused one is replaced once", async () => {
    const before = sandbox.oauth.tokensIssued;
    for (let i = 0; i < 3; i++) assert.equal((await notify(V1, token())).status, 200);
    assert.ok(sandbox.oauth.tokensIssued - before <= 1, "reused");
    sandbox.oauth.expireAll();
    const issued = sandbox.oauth.tokensIssued;
    assert.equal(await (await notify(V1, token())).text(), '{"rejected": []}');
    assert.equal(sandbox.oauth.tokensIssued - issued, 1, "a new token after the 401");
  });

  test("v1: a service account Google refuses is a 502, not a rejection", async () => {
    sandbox.oauth.expireAll();
    sandbox.oauth.scriptFailure(5, 400, { error: "invalid_grant", error_description: "Invalid JWT Signature." });
    const res = await notify(V1, token());
    assert.equal(res.status, 502);
    assert.match(
      String(((await res.json()) as { error: string }).error),
      /the app's credentials were refused \(the token endpoint answered 400 invalid_grant\)/,
    );
    sandbox.oauth.reset();
  });

  for (const [status, body] of [
    [503, undefined],
    [429, "Rate Limit Exceeded"],
  ] as const) {
    test(`v1: a ${status} from the token endpoint is a 502, never a rejection nor bad credentials; delivered once it recovers`, async () => {
      const pushkey = token();
      // Credentials that work, so that a change of their health would show.
      assert.equal((await notify(V1, token())).status, 200);
      const failuresBefore = await metricOfV1("herald_credential_failures_total");
      assert.notEqual(failuresBefore, undefined);
      const blamedBefore = blamingLines();

      // FCM refuses the token Herald holds, so Herald asks the token endpoint, which stays unwell for every try.
      sandbox.oauth.expireAll();
      sandbox.oauth.scriptFailure(10, status, body);
      const res = await notify(V1, pushkey);
      assert.equal(res.status, 502);
      assert.match(
        String(((await res.json()) as { error: string }).error),
        new RegExp(`the provider's token endpoint answered ${status}$`),
      );

      assert.equal(await metricOfV1("herald_credentials_ok"), 1);
      assert.equal(await metricOfV1("herald_credential_failures_total"), failuresBefore);
      assert.equal(blamingLines(), blamedBefore, "no log line blames the credentials");

      sandbox.oauth.reset();
      assert.equal(await (await notify(V1, pushkey)).text(), '{"rejected": []}', "not remembered as a dead pushkey");
      assert.equal(sandbox.fcm.received.at(-1)?.token, pushkey);
    });
  }

  describe("v1 answers", () => {
    const cases: [string, Parameters<Sandbox["fcm"]["script"]>[1], "rejected" | 502][] = [
      ["404 UNREGISTERED", { status: 404, errorCode: "UNREGISTERED" }, "rejected"],
      [
        "400 INVALID_ARGUMENT naming the token",
        {
          status: 400,
          errorCode: "INVALID_ARGUMENT",
          message: "The registration token is not a valid FCM registration token",
        },
        "rejected",
      ],
      [
        "400 INVALID_ARGUMENT about something else",
        { status: 400, errorCode: "INVALID_ARGUMENT", message: "Android message is too big" },
        502,
      ],
      ["403 SENDER_ID_MISMATCH", { status: 403, errorCode: "SENDER_ID_MISMATCH" }, 502],
      ["401 THIRD_PARTY_AUTH_ERROR, also with a new token", { status: 401, errorCode: "THIRD_PARTY_AUTH_ERROR" }, 502],
    ];
    for (const [name, answer, expected] of cases) {
      test(`${name}: ${expected === "rejected" ? "the pushkey is rejected" : "502, not rejected"}`, async () => {
        const pushkey = token();
        sandbox.fcm.script(pushkey, answer);
        const res = await notify(V1, pushkey);
        if (expected === "rejected") assert.equal(await res.text(), `{"rejected": ["${pushkey}"]}`);
        else assert.equal(res.status, 502);
      });
    }

    test("5xx is retried, then delivered", async () => {
      const pushkey = token();
      sandbox.fcm.script(
        pushkey,
        { status: 503, errorCode: "UNAVAILABLE" },
        { status: 500, errorCode: "INTERNAL" },
        { status: 200 },
      );
      assert.equal(await (await notify(V1, pushkey)).text(), '{"rejected": []}');
      assert.equal(sandbox.fcm.requests, 3);
    });

    test("429 with a Retry-After that fits in the deadline is retried after it", async () => {
      const pushkey = token();
      sandbox.fcm.script(pushkey, { status: 429, errorCode: "QUOTA_EXCEEDED", retryAfter: 1 }, { status: 200 });
      const started = Date.now();
      assert.equal((await notify(V1, pushkey)).status, 200);
      assert.ok(Date.now() - started >= 1000);
    });

    test("429 without Retry-After: FCM's minimum of a minute does not fit, so 502 at once with Retry-After 60", async () => {
      const pushkey = token();
      sandbox.fcm.script(pushkey, { status: 429, errorCode: "QUOTA_EXCEEDED" });
      const res = await notify(V1, pushkey);
      assert.equal(res.status, 502);
      assert.equal(res.headers.get("retry-after"), "60");
      assert.equal(sandbox.fcm.requests, 1);
    });

    test("a reset stream is retried", async () => {
      const pushkey = token();
      sandbox.fcm.script(pushkey, { status: 0, reset: true }, { status: 200 });
      assert.equal((await notify(V1, pushkey)).status, 200);
    });
  });

  describe("legacy", () => {
    test("all devices of a notification go in one request; each gets its own outcome, in order", async () => {
      const [a, b, c] = [token(), token(), token()];
      sandbox.fcm.script(b, { legacyError: "NotRegistered" });
      const res = await notify(LEGACY, a, b, c);
      assert.equal(await res.text(), `{"rejected": ["${b}"]}`);
      assert.equal(sandbox.fcm.requests, 1);
      assert.deepEqual(
        sandbox.fcm.received.map((r) => r.token),
        [a, c],
      );
      const body = sandbox.fcm.received[0]?.message as { registration_ids?: string[]; data?: unknown };
      assert.deepEqual(body.registration_ids, [a, b, c]);
    });

    test("a per-result temporary error is retried for that device only", async () => {
      const [a, b] = [token(), token()];
      sandbox.fcm.script(b, { legacyError: "Unavailable" }, { legacyError: "Unavailable" }, { status: 200 });
      const res = await notify(LEGACY, a, b);
      assert.equal(await res.text(), '{"rejected": []}');
      assert.equal(sandbox.fcm.requests, 3);
      const last = sandbox.fcm.received.at(-1)?.message as { to?: string };
      assert.equal(last.to, b, "only the failed device, alone");
    });

    test("a per-result error that still fails after the retries is a 502, never a silent 200", async () => {
      const pushkey = token();
      sandbox.fcm.script(pushkey, { legacyError: "Unavailable" });
      assert.equal((await notify(LEGACY, pushkey)).status, 502);
    });

    test("a message error (MessageTooBig) is neither rejected nor retried", async () => {
      const pushkey = token();
      sandbox.fcm.script(pushkey, { legacyError: "MessageTooBig" });
      assert.equal(await (await notify(LEGACY, pushkey)).text(), '{"rejected": []}');
      assert.equal(sandbox.fcm.requests, 1);
    });
  });

  test("Sygnal's FCM metrics move", async () => {
    await notify(V1, token());
    const text = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
    assert.match(text, /^sygnal_gcm_status_codes_total\{pushkin="com\.example\.gcm\.apiv1",code="200"\} [1-9]/m);
    assert.match(text, /^sygnal_gcm_request_time_count [1-9]/m);
    assert.match(text, /^sygnal_gcm_queue_time_count [1-9]/m);
    assert.match(text, /^sygnal_pending_gcm_requests 0$/m);
    assert.match(text, /^sygnal_active_gcm_requests 0$/m);
  });
});

describe("FCM pushkin, under constraints", () => {
  test("legacy with an api_key FCM refuses: 502", async () => {
    const sandbox = await startSandbox();
    const herald = await startTestHerald({
      apps: { [LEGACY]: { type: "gcm", api_key: "wrong", endpoint: sandbox.fcm.url, ca: sandbox.files.ca } },
    });
    try {
      const res = await herald.notify({
        notification: { ...FULL.notification, devices: [{ app_id: LEGACY, pushkey: "tok-12345678" }] },
      });
      assert.equal(res.status, 502);
      assert.match(String(((await res.json()) as { error: string }).error), /401/);
    } finally {
      await herald.stop();
      await sandbox.close();
    }
  });

  test("v1 through an HTTP CONNECT proxy: both the token request and the push", async () => {
    const sandbox = await startSandbox();
    const proxy = await startConnectProxy();
    const herald = await startTestHerald({
      proxy: proxy.url,
      apps: { [V1]: sandbox.apps()["org.example.herald.demo.android"]! },
    });
    try {
      const res = await herald.notify({
        notification: { ...FULL.notification, devices: [{ app_id: V1, pushkey: "tok-12345678" }] },
      });
      assert.equal(await res.text(), '{"rejected": []}');
      const targets = proxy.tunnels.map((t) => t.target).sort();
      assert.deepEqual(
        targets,
        [`localhost:${new URL(sandbox.fcm.url).port}`, `localhost:${new URL(sandbox.oauth.url).port}`].sort(),
      );
    } finally {
      await herald.stop();
      await proxy.close();
      await sandbox.close();
    }
  });

  test("max_connections bounds the requests open at FCM at once", async () => {
    const sandbox = await startSandbox();
    sandbox.fcm.faults = { latencyMs: 30 };
    const herald = await startTestHerald({
      apps: { [V1]: { ...sandbox.apps()["org.example.herald.demo.android"]!, max_connections: 2 } },
    });
    try {
      const devices = Array.from({ length: 8 }, (_, i) => ({ app_id: V1, pushkey: `tok-${i}-12345678` }));
      const res = await herald.notify({ notification: { ...FULL.notification, devices } });
      assert.equal(await res.text(), '{"rejected": []}');
      assert.equal(sandbox.fcm.received.length, 8);
      assert.ok(sandbox.fcm.peakConcurrentStreams <= 2, `peak ${sandbox.fcm.peakConcurrentStreams}`);
    } finally {
      await herald.stop();
      await sandbox.close();
    }
  });

  test("a push whose deadline passes while it waits for a max_connections slot is a 502, unsent, and leaves no slot taken", async () => {
    const sandbox = await startSandbox();
    const herald = await startTestHerald({
      request_deadline: 2,
      metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
      apps: { [V1]: { ...sandbox.apps()["org.example.herald.demo.android"]!, max_connections: 1 } },
    });
    const send = (...pushkeys: string[]) =>
      herald.notify({
        notification: { ...FULL.notification, devices: pushkeys.map((pushkey) => ({ app_id: V1, pushkey })) },
      });
    const pendingRequests = async () => {
      const text = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
      return Number(/^sygnal_pending_gcm_requests (\d+)$/m.exec(text)?.[1]);
    };
    try {
      const [held, queued, later] = ["tok-held-12345678", "tok-queued-12345678", "tok-later-12345678"];
      // One notification, so one deadline: the held push keeps the only slot until it passes, and the queued one is
      // still in line then. (A second notification's deadline would pass after the first's, which frees the slot.)
      sandbox.fcm.script(held, { status: 200, hang: true });
      const answered = send(held, queued);
      await waitFor(
        "the first push held at FCM and the second waiting for the slot",
        async () => sandbox.fcm.requests === 1 && (await pendingRequests()) === 1,
      );

      const res = await answered;
      assert.equal(res.status, 502);
      assert.match(((await res.json()) as { error: string }).error, /deadline of 2s passed/);
      assert.equal(sandbox.fcm.requests, 1, "nothing of the queued push reached FCM");
      assert.equal(await pendingRequests(), 0);

      // A slot kept for the push that gave up would leave this one waiting until its own deadline.
      assert.equal(await (await send(later)).text(), '{"rejected": []}');
      assert.deepEqual(
        sandbox.fcm.received.map((r) => r.token),
        [later],
      );
    } finally {
      await herald.stop();
      await sandbox.close();
    }
  });
});

describe("FCM configuration checks", () => {
  test("keys the app's API version does not use are not checked, and a warning says they are ignored", (t) => {
    const dir = tempDir(t, "herald-fcm-settings-");
    const account = join(dir, "sa.json");
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeFileSync(
      account,
      JSON.stringify({
        client_email: "a@p.iam.gserviceaccount.com",
        private_key: privateKey.export({ type: "pkcs8", format: "pem" }),
        token_uri: "https://oauth2.googleapis.com/token",
      }),
    );
    // An empty api_key left over from the sample, beside api_version: v1.
    const v1 = readFcmSettings(
      { type: "gcm", api_version: "v1", api_key: null, project_id: "p", service_account_file: "sa.json" },
      dir,
    );
    assert.equal(v1.api, "v1");
    assert.deepEqual(v1.warnings, ["api_key is not used with api_version: v1; ignored"]);
    const legacy = readFcmSettings(
      { type: "gcm", api_version: "legacy", api_key: "K", service_account_file: null },
      dir,
    );
    assert.equal(legacy.api, "legacy");
    assert.ok(
      legacy.warnings.includes("service_account_file is used only with api_version: v1; ignored"),
      legacy.warnings.join("\n"),
    );
    const unsaid = readFcmSettings({ type: "gcm", api_key: "K", project_id: "p" }, dir);
    assert.ok(
      unsaid.warnings.includes(
        "api_version is not set, so the legacy API is used, but project_id is for FCM v1: add api_version: v1",
      ),
      unsaid.warnings.join("\n"),
    );
  });
  test("each missing key stops start-up with Sygnal's message", async () => {
    const sandbox = await startSandbox();
    try {
      const broken = join(sandbox.dir, "broken.json");
      writeFileSync(broken, JSON.stringify({ type: "service_account", client_email: "x" }));
      const cases: [Record<string, unknown>, RegExp][] = [
        [
          { type: "gcm", api_version: "v1", service_account_file: sandbox.files.serviceAccount },
          /Must configure `project_id`/,
        ],
        [{ type: "gcm", api_version: "v1", project_id: "p" }, /Must configure `service_account_file`/],
        [{ type: "gcm", api_version: "legacy" }, /No API key set in config/],
        [{ type: "gcm" }, /No API key set in config/],
      ];
      for (const [app, message] of cases) {
        await assert.rejects(startTestHerald({ apps: { [V1]: app } }), message);
      }
      // Keys of v1 on an app without api_version: most likely `api_version: v1` was forgotten.
      await assert.rejects(
        startTestHerald({
          apps: { [V1]: { type: "gcm", project_id: "p", service_account_file: sandbox.files.serviceAccount } },
        }),
        /No API key set in config \(api_version is not set, so the legacy API is used, but project_id and service_account_file are for FCM v1: add api_version: v1\)/,
      );
      // A broken credential file does not stop the other apps: this app answers 502, naming the file.
      const herald = await startTestHerald({
        apps: { [V1]: { type: "gcm", api_version: "v1", project_id: "p", service_account_file: broken } },
      });
      try {
        const res = await herald.notify({ notification: { devices: [{ app_id: V1, pushkey: "t" }] } });
        assert.equal(res.status, 502);
        const { error } = (await res.json()) as { error: string };
        assert.match(error, /the app's credentials were refused or cannot be used; the gateway's log says how/);
        assert.doesNotMatch(error, new RegExp(broken.replaceAll("/", "\\/")), "the file's path stays in the log");
      } finally {
        await herald.stop();
      }
    } finally {
      await sandbox.close();
    }
  });
});
