/**
 * A 502 says what kind of failure it was, never where: no address, port, host or file path reaches the homeserver's
 * answer; the log keeps them, found by the request id the answer carries.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { publicReasonOf } from "../src/core/publicReason.js";
import { CredentialFailure, PermanentFailure, TemporaryFailure } from "../src/core/pushkin.js";
import { deviceToken, startApnsFixture, type ApnsFixture } from "./apns/apnsFixture.js";
import { device, notification, startTestHerald } from "./helpers/herald.js";
import { closedPort } from "./helpers/ports.js";

describe("the public reason of a failure", () => {
  test("names the kind of failure and the provider's own word, never the message's detail", () => {
    const unreachable = new TemporaryFailure("cannot connect to https://[::7f00:1]:5700: connect EHOSTUNREACH");
    assert.equal(publicReasonOf(unreachable), "the provider could not be reached, or did not answer");
    const answered = new TemporaryFailure("HMS answered 503 80000001: upstream 10.1.2.3 busy", {
      answer: { status: 503, reason: "80000001" },
    });
    assert.equal(publicReasonOf(answered), "the provider answered 503 80000001");
    const refused = new PermanentFailure("FCM answered 400 INVALID_ARGUMENT: body …", { answer: { status: 400 } });
    assert.equal(publicReasonOf(refused), "the provider answered 400");
    const credentials = new CredentialFailure("cannot read /etc/herald/AuthKey.p8", { fix: "check keyfile" });
    assert.equal(
      publicReasonOf(credentials),
      "the app's credentials were refused or cannot be used; the gateway's log says how to fix them",
    );
    const custom = Object.assign(new Error("my-pushkin: 192.0.2.1 said no"), { name: "PermanentFailure" });
    assert.equal(publicReasonOf(custom), "the push could not be sent; the gateway's log says why");
    const explicit = new TemporaryFailure("the request deadline of 3s passed", {
      publicReason: "the request deadline of 3s passed",
    });
    assert.equal(publicReasonOf(explicit), "the request deadline of 3s passed");
  });
});

describe("a 502 over HTTP", () => {
  let apns: ApnsFixture;
  before(async () => (apns = await startApnsFixture()));
  after(() => apns.close());

  test("a provider that cannot be reached: the answer has no address or port, the log has them", async () => {
    const port = await closedPort();
    const herald = await startTestHerald({
      request_deadline: 2,
      apps: { "com.example.apns": apns.tokenApp({ endpoint: `https://127.0.0.1:${port}` }) },
    });
    try {
      const res = await herald.notify(
        notification([device(deviceToken(1).pushkey, "com.example.apns")], { counts: { unread: 1 } }),
      );
      assert.equal(res.status, 502);
      const body = (await res.json()) as { error: string; request_id: string };
      assert.doesNotMatch(body.error, /127\.0\.0\.1|ECONNREFUSED/);
      assert.doesNotMatch(body.error, new RegExp(String(port)));
      assert.match(body.error, /^push provider failure: the provider could not be reached, or did not answer/);
      const logged = herald.logs.filter(
        (l) => l.request_id === body.request_id && /ECONNREFUSED/.test(JSON.stringify(l)),
      );
      assert.ok(logged.length > 0, "the log of the request names the refusal");
    } finally {
      await herald.stop();
    }
  });
});
