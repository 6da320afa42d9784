/**
 * The HMS pushkin over real sockets against the sandbox Push Kit and its OAuth endpoint: the message, the data string
 * against the FCM v1 builder's, token renewal, every answer row, the deadline.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { parseNotificationBody } from "../../src/api/notificationBody.js";
import { buildFcmData, stringValues } from "../../src/pushkins/fcm/payload.js";
import { SANDBOX_APPS, startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { startTestHerald, type TestHerald } from "../helpers/herald.js";
import { fixturesDir } from "../helpers/paths.js";

const HMS = SANDBOX_APPS.hms;
const fixtures = JSON.parse(readFileSync(join(fixturesDir, "expected-provider-payloads.json"), "utf8")) as {
  cases: Record<string, { notification: Record<string, unknown> }>;
};
const FULL = fixtures.cases.full!;

describe("HMS pushkin", () => {
  let sandbox: Sandbox;
  let herald: TestHerald;
  let counter = 0;
  const token = () => `hms-token-${++counter}-0123456789`;
  const notify = (pushkey: string, fields: Record<string, unknown> = FULL.notification) =>
    herald.notify({ notification: { ...fields, devices: [{ app_id: HMS, pushkey }] } });

  before(async () => {
    sandbox = await startSandbox();
    herald = await startTestHerald({
      request_deadline: 5,
      metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
      apps: {
        [HMS]: sandbox.apps()[HMS]!,
        "com.example.hms.options": { ...sandbox.apps()[HMS]!, ttl: 3600, hms_options: { android: { category: "IM" } } },
      },
    });
  });
  after(async () => {
    await herald.stop();
    await sandbox.close();
  });
  afterEach(() => sandbox.hms.reset());
  /** The value of a metric of the app, from Herald's metrics page. */
  const metricOfApp = async (name: string) => {
    const text = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name}{pushkin="${HMS}"} `));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
  };
  const blamingLines = () =>
    herald.logs.filter((line) => String(line.msg).startsWith(`The credentials of app '${HMS}' do not work`)).length;

  test("a data message whose data is the FCM v1 map as a JSON string, urgency from prio, ttl, one token", async () => {
    const pushkey = token();
    assert.equal(await (await notify(pushkey)).text(), '{"rejected": []}');
    const [received] = sandbox.hms.received;
    assert.ok(received);
    assert.equal(received.token, pushkey);
    const parsed = parseNotificationBody(
      Buffer.from(JSON.stringify({ notification: { ...FULL.notification, devices: [{ app_id: HMS, pushkey }] } })),
    );
    assert.ok(parsed.ok);
    const fcm = buildFcmData(parsed.notification, parsed.notification.devices[0]!, "v1", true);
    assert.ok(fcm.kind === "data");
    assert.deepEqual(received.data, stringValues(fcm.data), "the FCM v1 pushkin's data map");
    assert.deepEqual(received.message.android, { urgency: "HIGH", ttl: "86400s" });
    assert.deepEqual(received.message.token, [pushkey]);
    assert.match(String(received.headers.authorization), /^Bearer /);
  });

  test("prio low is NORMAL urgency; hms_options and ttl reach the message", async () => {
    await herald.notify({
      notification: {
        ...FULL.notification,
        prio: "low",
        devices: [{ app_id: "com.example.hms.options", pushkey: token() }],
      },
    });
    assert.deepEqual(sandbox.hms.received[0]?.message.android, { category: "IM", urgency: "NORMAL", ttl: "3600s" });
  });

  test("one access token serves many pushes; one refused by Push Kit is replaced once", async () => {
    const before = sandbox.hms.tokensIssued;
    for (let i = 0; i < 3; i++) assert.equal((await notify(token())).status, 200);
    assert.ok(sandbox.hms.tokensIssued - before <= 1);
    sandbox.hms.expireTokens();
    const issued = sandbox.hms.tokensIssued;
    assert.equal(await (await notify(token())).text(), '{"rejected": []}');
    assert.equal(sandbox.hms.tokensIssued - issued, 1);
  });

  test("credentials Huawei refuses are a 502, not a rejection", async () => {
    sandbox.hms.expireTokens();
    sandbox.hms.scriptTokenFailure(3, 400);
    const res = await notify(token());
    assert.equal(res.status, 502);
    assert.match(
      String(((await res.json()) as { error: string }).error),
      /^push provider failure: the app's credentials were refused \(the token endpoint answered 400\)/,
    );
  });

  for (const [status, body] of [
    [503, undefined],
    [429, { error: 1101, error_description: "too many requests" }],
  ] as const) {
    test(`a ${status} from the token endpoint is a 502, never a rejection nor bad credentials; delivered once it recovers`, async () => {
      const pushkey = token();
      // Credentials that work, so that a change of their health would show.
      assert.equal((await notify(token())).status, 200);
      const failuresBefore = await metricOfApp("herald_credential_failures_total");
      assert.notEqual(failuresBefore, undefined);
      const blamedBefore = blamingLines();

      // Push Kit refuses the token Herald holds, so Herald asks the token endpoint, which stays unwell for every try.
      sandbox.hms.expireTokens();
      sandbox.hms.scriptTokenFailure(10, status, body);
      const res = await notify(pushkey);
      assert.equal(res.status, 502);
      assert.match(
        String(((await res.json()) as { error: string }).error),
        new RegExp(`the provider's token endpoint answered ${status}$`),
      );

      assert.equal(await metricOfApp("herald_credentials_ok"), 1);
      assert.equal(await metricOfApp("herald_credential_failures_total"), failuresBefore);
      assert.equal(blamingLines(), blamedBefore, "no log line blames the credentials");

      sandbox.hms.reset();
      assert.equal(await (await notify(pushkey)).text(), '{"rejected": []}', "not remembered as a dead pushkey");
      assert.equal(sandbox.hms.received.at(-1)?.token, pushkey);
    });
  }

  describe("Push Kit's answers", () => {
    test("80300007 (invalid token): rejected", async () => {
      const pushkey = token();
      sandbox.hms.script(pushkey, { code: "80300007", msg: "All the tokens are invalid" });
      assert.equal(await (await notify(pushkey)).text(), `{"rejected": ["${pushkey}"]}`);
    });
    test("80100000 naming the token as illegal: rejected", async () => {
      const pushkey = token();
      sandbox.hms.script(pushkey, {
        code: "80100000",
        msg: JSON.stringify({ success: 0, failure: 1, illegal_tokens: [pushkey] }),
      });
      assert.equal(await (await notify(pushkey)).text(), `{"rejected": ["${pushkey}"]}`);
    });
    test("80100000 counting the token as a success: delivered", async () => {
      const pushkey = token();
      sandbox.hms.script(pushkey, {
        code: "80100000",
        msg: JSON.stringify({ success: 1, failure: 0, illegal_tokens: [] }),
      });
      assert.equal(await (await notify(pushkey)).text(), '{"rejected": []}');
      assert.deepEqual(
        sandbox.hms.received.map((r) => r.token),
        [pushkey],
      );
    });
    for (const [name, msg] of [
      ["with no success and the token not named", JSON.stringify({ success: 0, failure: 1, illegal_tokens: [] })],
      ["whose msg is not JSON", "partial success"],
    ]) {
      test(`80100000 ${name}: 502, never rejected`, async () => {
        const pushkey = token();
        sandbox.hms.script(pushkey, { code: "80100000", msg });
        const res = await notify(pushkey);
        assert.equal(res.status, 502);
        assert.match(String(((await res.json()) as { error: string }).error), /80100000/);
      });
    }
    test("503 (traffic control) and 5xx are retried, then delivered", async () => {
      const pushkey = token();
      sandbox.hms.script(pushkey, { httpStatus: 503, code: "81000001" }, { httpStatus: 500 }, { code: "80000000" });
      assert.equal(await (await notify(pushkey)).text(), '{"rejected": []}');
      assert.equal(sandbox.hms.requests, 3);
    });
    test("503 every time: 502, not rejected", async () => {
      const pushkey = token();
      sandbox.hms.script(pushkey, { httpStatus: 503, code: "81000001" });
      assert.equal((await notify(pushkey)).status, 502);
    });
    for (const [code, httpStatus] of [
      ["80300008", 200],
      ["80100001", 400],
      ["80300002", 200],
    ] as const) {
      test(`${code}: 502, logged, never rejected`, async () => {
        const pushkey = token();
        sandbox.hms.script(pushkey, { code, httpStatus });
        const res = await notify(pushkey);
        assert.equal(res.status, 502);
        assert.match(String(((await res.json()) as { error: string }).error), new RegExp(code));
      });
    }
  });

  test("an empty pushkey is rejected without asking Push Kit", async () => {
    assert.equal(await (await notify("")).text(), '{"rejected": [""]}');
    assert.equal(sandbox.hms.requests, 0);
    const said = herald.logs.map((line) => String(line.msg));
    assert.ok(said.includes("HMS token was rejected, nothing sent: the registration token is empty"));
  });

  test("a badge-only update with no counts to send: nothing is sent", async () => {
    const res = await notify(token(), { type: null, sender: "", counts: { unread: 0 } });
    assert.equal(await res.text(), '{"rejected": []}');
    assert.equal(sandbox.hms.requests, 0);
  });

  test("its metrics move", async () => {
    await notify(token());
    const text = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
    assert.match(
      text,
      /^herald_hms_status_codes_total\{pushkin="org\.example\.herald\.demo\.huawei",code="200"\} [1-9]/m,
    );
    assert.match(text, /^herald_hms_request_time_count [1-9]/m);
  });
});
