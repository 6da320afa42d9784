/** The 512 KiB request cap: Sygnal drops the connection beyond it; Herald answers 413 and closes. */
import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, test } from "node:test";
import { rawRequest, startTestHerald, testApp, type TestHerald } from "./helpers/herald.js";

const LIMIT = 512 * 1024;

/** A valid notification padded with spaces to exactly `size` bytes. */
function bodyOfSize(size: number): string {
  const json = '{"notification": {"devices": [{"app_id": "com.example.spqr", "pushkey": "accept"}]}}';
  return json + " ".repeat(size - json.length);
}

describe("request size cap", () => {
  let herald: TestHerald;
  before(async () => {
    herald = await startTestHerald({ apps: { "com.example.spqr": testApp() } });
  });
  after(() => herald.stop());

  test("a body of exactly 512 KiB is accepted", async () => {
    const res = await herald.notify(bodyOfSize(LIMIT));
    assert.equal(res.status, 200);
    assert.equal(await res.text(), '{"rejected": []}');
  });

  test("one byte more is 413, with the connection closed", async () => {
    const res = await rawRequest(herald.url, {
      method: "POST",
      path: "/_matrix/push/v1/notify",
      body: bodyOfSize(LIMIT + 1),
    });
    assert.equal(res.status, 413);
    assert.equal(res.headers.connection, "close");
    assert.equal((JSON.parse(res.body) as { errcode: string }).errcode, "M_TOO_LARGE");
  });

  test("a chunked body that grows past the cap is cut off with 413 without reading the rest", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${herald.url}/_matrix/push/v1/notify`, { method: "POST" }, (res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
        req.destroy();
      });
      req.on("error", (error: NodeJS.ErrnoException) => (error.code === "ECONNRESET" ? undefined : reject(error)));
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      // Announce nothing, send chunks until the server answers; 64 MiB at most so the test always ends.
      let sent = 0;
      const pump = () => {
        while (sent < 64 * 1024 * 1024 && !req.destroyed) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once("drain", pump);
        }
        req.end();
      };
      pump();
    });
    assert.equal(status, 413);
  });
});
