/**
 * Every case of Sygnal's recorded HTTP behaviour (sygnal-fixtures/http-cases.json), answered as Sygnal answers it,
 * except where docs/sygnal-compat.md lists a deliberate difference: those cases name Herald's answer below.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fixturesDir } from "./helpers/paths.js";
import { rawRequest, startTestHerald, testApp, type TestHerald } from "./helpers/herald.js";

interface HttpCase {
  name: string;
  request: { method: string; path: string; body: string | null };
  response: { status: number; headers: Record<string, string>; body: string };
}

const { cases } = JSON.parse(readFileSync(join(fixturesDir, "http-cases.json"), "utf8")) as { cases: HttpCase[] };

type Expected = { status: number; json?: Record<string, unknown>; allow?: string; text?: string };
const unrecognized = { errcode: "M_UNRECOGNIZED", error: "Unrecognized request" };

/** Herald's deliberate differences from the recorded Sygnal answer (docs/sygnal-compat.md). */
const DIFFERENCES: Record<string, Expected> = {
  // A transient failure that outlasts the retries is a 502 (retry later), never a 500.
  "pushkin raises TemporaryNotificationDispatchException (not caught as 502)": { status: 502 },
  // Bad input is a 400, never a 500.
  "device is null": { status: 400, text: "Device with missing or non-string app_id" },
  "counts is number": { status: 400, text: "counts is of invalid type" },
  "counts is null": { status: 400, text: "counts is of invalid type" },
  // The spec's JSON errors for unknown paths and methods.
  "GET notify": { status: 405, allow: "POST", json: unrecognized },
  "HEAD notify": { status: 405, allow: "POST" },
  "PUT notify": { status: 405, allow: "POST", json: unrecognized },
  "OPTIONS notify": { status: 405, allow: "POST", json: unrecognized },
  "GET /_matrix/push/v1": { status: 404, json: unrecognized },
  "GET unknown path": { status: 404, json: unrecognized },
  "POST unknown path": { status: 404, json: unrecognized },
  "POST /health": { status: 405, allow: "GET, HEAD", json: unrecognized },
  "GET /health/x": { status: 404, json: unrecognized },
  "GET /metrics on main port (not served there)": { status: 404, json: unrecognized },
};

describe("Sygnal's HTTP cases", () => {
  let herald: TestHerald;
  before(async () => {
    herald = await startTestHerald({
      apps: { "com.example.spqr": testApp(), "com.glob.*": testApp(), "com.glob.a*": testApp() },
    });
  });
  after(() => herald.stop());

  test("the fixtures hold every HTTP case (55 when recorded)", () => assert.ok(cases.length >= 55, `${cases.length}`));
  for (const httpCase of cases) {
    test(httpCase.name, async () => {
      const { request, response } = httpCase;
      const res = await rawRequest(herald.url, {
        method: request.method,
        path: request.path,
        body: request.body ?? undefined,
      });
      const expected = DIFFERENCES[httpCase.name];
      if (expected) {
        assert.equal(res.status, expected.status);
        if (expected.allow) assert.equal(res.headers.allow, expected.allow);
        if (expected.text !== undefined) assert.equal(res.body, expected.text);
        if (expected.json) assert.deepEqual(JSON.parse(res.body), expected.json);
        if (res.status >= 500) assertErrorBody(res.body, res.headers["x-request-id"]);
        return;
      }
      assert.equal(res.status, response.status);
      if (response.status === 200) {
        assert.equal(res.body, response.body, "the same bytes as Sygnal");
        if (response.body) assert.match(String(res.headers["content-type"]), /^application\/json/);
      } else if (response.status === 400) {
        assert.equal(res.body, response.body, "Sygnal's exact message");
        assert.match(String(res.headers["content-type"]), /^text\/plain/);
      } else if (response.status >= 500) {
        assertErrorBody(res.body, res.headers["x-request-id"]);
      } else {
        assert.equal(res.body, response.body);
      }
    });
  }

  test("rejected pushkeys are written as Python writes them: every non-ASCII character escaped", async () => {
    const res = await herald.notify({
      notification: { devices: [{ app_id: "unknown", pushkey: "é😀\u007f\ud800\n" }] },
    });
    assert.equal(await res.text(), '{"rejected": ["\\u00e9\\ud83d\\ude00\\u007f\\ud800\\n"]}');
  });

  test("every answer to /notify says which request it was", async () => {
    const res = await herald.notify({ notification: { devices: [{ app_id: "com.example.spqr", pushkey: "accept" }] } });
    assert.match(res.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
  });
});

/** 5xx answers are JSON, carry the request id of the X-Request-Id header, and never a stack trace. */
function assertErrorBody(body: string, requestId: unknown): void {
  const json = JSON.parse(body) as Record<string, unknown>;
  assert.equal(typeof json.errcode, "string");
  assert.equal(typeof json.error, "string");
  assert.equal(json.request_id, requestId);
  assert.doesNotMatch(body, /\bat .*\.js:\d+/, "no stack trace");
}
