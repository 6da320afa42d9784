/**
 * What push-relay sends each provider, compared with the shapes of its source: push/mod.rs (ThreemaPayload), fcm.rs
 * (HttpV1Payload), apns.rs with apns-h2's builder and client (payload and headers), hms.rs and threema_gateway.rs.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { apnsPush, fcmMessage, hmsMessage, threemaPayload } from "../../src/pushRelay/payload.js";
import { parsePushForm, type PushRequest } from "../../src/pushRelay/request.js";

/** 2024-05-29T12:00:00.750Z */
const NOW = 1716984000750;
const NOW_S = 1716984000;

function request<T extends PushRequest["type"]>(form: string): PushRequest & { type: T } {
  const parsed = parsePushForm(Buffer.from(form));
  assert.ok(parsed.ok, form);
  return parsed.request as PushRequest & { type: T };
}

describe("ThreemaPayload", () => {
  test("wcs, wca, wct (Unix seconds), wcv, in that order", () => {
    const payload = threemaPayload(request("token=t&session=abc&version=3&affiliation=aff"), NOW);
    assert.equal(JSON.stringify(payload), `{"wcs":"abc","wca":"aff","wct":${NOW_S},"wcv":3}`);
  });
  test("wca is left out when there is no affiliation; an empty one is kept", () => {
    assert.equal(
      JSON.stringify(threemaPayload(request("token=t&session=s&version=1"), NOW)),
      `{"wcs":"s","wct":${NOW_S},"wcv":1}`,
    );
    assert.equal(threemaPayload(request("token=t&session=s&version=1&affiliation="), NOW).wca, "");
  });
});

describe("FCM HTTP v1", () => {
  test("token, data with string values, android with the relay. collapse key, HIGH priority and the ttl", () => {
    const body = fcmMessage(
      request("type=fcm&token=tok&session=s&version=3&ttl=120&collapse_key=k&affiliation=a"),
      NOW,
    );
    assert.deepEqual(JSON.parse(body), {
      message: {
        token: "tok",
        data: { wcs: "s", wca: "a", wct: String(NOW_S), wcv: "3" },
        android: { collapse_key: "relay.k", priority: "HIGH", ttl: "120s" },
      },
    });
  });
  test("without a collapse key, android has none; the ttl defaults to 90 s; gcm is fcm", () => {
    const body = fcmMessage(request("type=gcm&token=tok&session=s&version=3"), NOW);
    assert.deepEqual(JSON.parse(body).message.android, { priority: "HIGH", ttl: "90s" });
  });
});

describe("APNs", () => {
  test("an alert push: Threema Web Wakeup, default sound, mutable content, the 3mw key; alert headers", () => {
    const push = apnsPush(
      request("type=apns&token=c0ffee&session=s&version=3&bundleid=ch.threema.app&endpoint=p&collapse_key=k"),
      NOW,
    );
    assert.equal(push.token, "c0ffee");
    assert.equal(
      push.body,
      `{"aps":{"alert":"Threema Web Wakeup","sound":"default","mutable-content":1},"3mw":{"wcs":"s","wct":${NOW_S},"wcv":3}}`,
    );
    assert.deepEqual(push.headers, {
      "apns-priority": "10",
      "apns-push-type": "alert",
      "apns-expiration": String(NOW_S + 90),
      "apns-topic": "ch.threema.app",
      "apns-collapse-id": "relay.k",
    });
  });
  test("a bundle id ending in .voip: content-available only (mutable-content 0, as apns-h2 writes it), voip type", () => {
    const push = apnsPush(
      request(
        "type=apns&token=c0ffee&session=s&version=3&bundleid=ch.threema.app.voip&endpoint=s&ttl=30&affiliation=a",
      ),
      NOW,
    );
    assert.equal(
      push.body,
      `{"aps":{"content-available":1,"mutable-content":0},"3mw":{"wcs":"s","wca":"a","wct":${NOW_S},"wcv":3}}`,
    );
    assert.equal(push.headers["apns-push-type"], "voip");
    assert.equal(push.headers["apns-topic"], "ch.threema.app.voip");
    assert.equal(push.headers["apns-expiration"], String(NOW_S + 30));
    assert.equal(push.headers["apns-collapse-id"], undefined);
  });
  test("ttl 0 is expiration 0: now or never", () => {
    const push = apnsPush(request("type=apns&token=c0&session=s&version=3&bundleid=b&endpoint=p&ttl=0"), NOW);
    assert.equal(push.headers["apns-expiration"], "0");
  });
});

describe("Huawei Push Kit", () => {
  test("data is the ThreemaPayload as a JSON string with numbers; NORMAL urgency; the ttl; one token", () => {
    const body = hmsMessage(
      request("type=hms&appid=1&token=tok&session=s&version=3&ttl=60&collapse_key=k"),
      false,
      NOW,
    );
    assert.deepEqual(JSON.parse(body), {
      message: {
        data: `{"wcs":"s","wct":${NOW_S},"wcv":3}`,
        android: { urgency: "NORMAL", ttl: "60s" },
        token: ["tok"],
      },
    });
  });
  test("high_priority: HIGH urgency and the VOIP category", () => {
    const body = hmsMessage(request("type=hms&appid=1&token=tok&session=s&version=3"), true, NOW);
    assert.deepEqual(JSON.parse(body).message.android, { urgency: "HIGH", category: "VOIP", ttl: "90s" });
  });
});

describe("Threema Gateway", () => {
  test("the ThreemaPayload carries numbers, as push-relay encrypts it", () => {
    const payload = threemaPayload(
      request(`type=threema-gateway&identity=ECHOECHO&public_key=${"ab".repeat(32)}&session=s&version=3&affiliation=a`),
      NOW,
    );
    assert.equal(JSON.stringify(payload), `{"wcs":"s","wca":"a","wct":${NOW_S},"wcv":3}`);
  });
  test("the public key is decoded from hex of either case", () => {
    const req = request<"threema-gateway">(
      `type=threema-gateway&identity=ECHOECHO&public_key=${"aB".repeat(32)}&session=s&version=3`,
    );
    assert.deepEqual(Buffer.from(req.publicKey), Buffer.alloc(32, 0xab));
  });
});
