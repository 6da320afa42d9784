/**
 * Two Herald instances sharing one Redis and one APNs sandbox, which counts what it is sent: what one instance
 * learned, the other knows (a retry is not pushed twice, a dead token is not asked again); with Redis cut away
 * mid-test every push still goes through, the outage is logged once and shown by `herald_shared_state_ok`; and once
 * Redis is back, sharing resumes by itself.
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import { deviceToken, startApnsFixture, TOPIC, type ApnsFixture } from "../apns/apnsFixture.js";
import { notification, startTestHerald, type TestHerald } from "../helpers/herald.js";
import { redis, unless } from "../helpers/services.js";
import { startTcpRelay, type TcpRelay } from "../helpers/tcpRelay.js";
import { waitFor } from "../helpers/waitFor.js";
import { atPort, BACK, logged, metric, removeKeys, uniquePrefix, UNUSABLE } from "./redisFixture.js";

const service = await redis();
const { test, before, after } = unless(service.missing);

describe("two instances sharing Redis", () => {
  const prefix = uniquePrefix();
  let apns: ApnsFixture;
  let relay: TcpRelay;
  let first: TestHerald;
  let second: TestHerald;

  before(async () => {
    apns = await startApnsFixture();
    const target = new URL(service.url!);
    // Between both instances and Redis, to cut Redis away mid-test.
    relay = await startTcpRelay(Number(target.port || 6379), target.hostname);
    const config = {
      apps: { [TOPIC]: apns.tokenApp() },
      redis: { url: atPort(service.url!, relay.port), key_prefix: prefix },
      dead_token_cache: { ttl: 120 },
      duplicate_suppression: { ttl: 120 },
    };
    first = await startTestHerald(config);
    second = await startTestHerald(config);
  });

  after(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await relay?.close();
    await apns?.close();
    await removeKeys(service.url!, prefix);
  });

  const device = (n: number) => ({ app_id: TOPIC, pushkey: deviceToken(n).pushkey });
  const pushesTo = (n: number) => apns.sandbox.received.filter((push) => push.token === deviceToken(n).hex).length;
  const event = (id: string) => ({ event_id: id, room_id: "!room:example.com" });

  test("start-up says the memory is shared, and herald_shared_state_ok is 1", async () => {
    for (const herald of [first, second]) {
      assert.equal(logged(herald, /shared through Redis$/).length, 1);
      assert.equal(await metric(herald, "herald_shared_state_ok"), 1);
    }
  });

  test("a notification delivered by one and retried on the other is not pushed again", async () => {
    const body = notification([device(1), device(2)], event("$delivered"));
    const answer = await first.notify(body);
    assert.equal(answer.status, 200);
    assert.equal(await answer.text(), '{"rejected": []}');
    const retry = await second.notify(body);
    assert.equal(retry.status, 200);
    assert.equal(await retry.text(), '{"rejected": []}');
    assert.equal(pushesTo(1), 1);
    assert.equal(pushesTo(2), 1);
    assert.equal(await metric(second, "herald_duplicates_suppressed_total", { pushkin: TOPIC }), 2);
  });

  test("a token one learned dead is rejected by the other without asking the provider", async () => {
    // Only the first push to this token is answered 410: asked again, the sandbox would accept it.
    apns.sandbox.script(deviceToken(3).hex, { status: 410, reason: "Unregistered" });
    const answer = await first.notify(notification([device(3)], event("$dead-1")));
    assert.equal(await answer.text(), `{"rejected": ["${device(3).pushkey}"]}`);
    const again = await second.notify(notification([device(3)], event("$dead-2")));
    assert.equal(again.status, 200);
    assert.equal(await again.text(), `{"rejected": ["${device(3).pushkey}"]}`);
    assert.equal(pushesTo(3), 0);
    assert.equal(await metric(second, "herald_dead_token_cache_hits_total", { pushkin: TOPIC }), 1);
  });

  test("with Redis cut away, pushes go through, each instance says so once and keeps its own guarantees; once Redis is back, sharing resumes", async () => {
    relay.cut();
    await waitFor("both instances to see Redis gone", async () =>
      [await metric(first, "herald_shared_state_ok"), await metric(second, "herald_shared_state_ok")].every(
        (ok) => ok === 0,
      ),
    );
    for (let i = 0; i < 3; i++) {
      const answer = await first.notify(notification([device(10 + i)], event(`$outage-${i}`)));
      assert.equal(answer.status, 200);
      assert.equal(await answer.text(), '{"rejected": []}');
    }
    // The instance that delivered still knows it: a retry to it is not pushed again.
    assert.equal((await first.notify(notification([device(10)], event("$outage-0")))).status, 200);
    assert.deepEqual([pushesTo(10), pushesTo(11), pushesTo(12)], [1, 1, 1]);
    for (const herald of [first, second]) {
      assert.equal(logged(herald, UNUSABLE).length, 1, "one warning, not one per request");
      assert.equal(logged(herald, UNUSABLE)[0]!.level, 40);
    }
    assert.ok((await metric(first, "herald_shared_state_failures_total", { operation: "recall" }))! >= 4);

    relay.restore();
    await waitFor("both instances to be back on Redis", async () =>
      [await metric(first, "herald_shared_state_ok"), await metric(second, "herald_shared_state_ok")].every(
        (ok) => ok === 1,
      ),
    );
    for (const herald of [first, second]) assert.equal(logged(herald, BACK).length, 1);
    const body = notification([device(20)], event("$after"));
    assert.equal((await first.notify(body)).status, 200);
    assert.equal(await (await second.notify(body)).text(), '{"rejected": []}');
    assert.equal(pushesTo(20), 1);
  });
});
