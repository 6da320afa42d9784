/**
 * The 512 KiB request cap: Sygnal drops the connection beyond it; Herald answers 413 and closes the connection
 * gracefully, so that the client reads the 413 rather than a reset.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
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

  test("a chunked body that grows past the cap is answered 413 before the rest is read", async () => {
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

  test("the connection closes gracefully: a client still sending gets no reset, then the end", async () => {
    // Half-open: the client goes on sending after the server's FIN, as a client does that has not read the answer yet.
    const socket = connect({ port: Number(new URL(herald.url).port), host: "127.0.0.1", allowHalfOpen: true });
    const { answer, error } = await sendUntilAnswered(socket, 500);
    assert.equal(error, undefined);
    assert.match(answer, /^HTTP\/1\.1 413 /);
  });

  test("a request pipelined behind the 413 is not served", async () => {
    const served = () => herald.logs.filter((line) => line.msg === "Handled request").length;
    const before = served();
    const socket = connect(Number(new URL(herald.url).port), "127.0.0.1");
    const oversized = bodyOfSize(LIMIT + 1);
    const valid = bodyOfSize(100);
    const head = (length: number) =>
      `POST /_matrix/push/v1/notify HTTP/1.1\r\nHost: x\r\nContent-Length: ${length}\r\n\r\n`;
    socket.end(head(oversized.length) + oversized + head(valid.length) + valid);
    const answer = await readAll(socket);
    assert.equal(answer.match(/HTTP\/1\.1 /g)?.length, 1);
    assert.match(answer, /^HTTP\/1\.1 413 /);
    assert.equal(served() - before, 1);
  });
});

/**
 * Sends a chunked body, 16 KiB at a time, until the server answers, then for `afterMs` more; resolves with what the
 * server sent once it ended the connection, and the first socket error if there was one.
 */
function sendUntilAnswered(socket: Socket, afterMs: number): Promise<{ answer: string; error?: string }> {
  return new Promise((resolve) => {
    let answer = "";
    let error: string | undefined;
    let answeredAt: number | undefined;
    const chunk = `4000\r\n${" ".repeat(0x4000)}\r\n`;
    socket.write("POST /_matrix/push/v1/notify HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    const timer = setInterval(() => {
      if (socket.destroyed) return void clearInterval(timer);
      if (answeredAt !== undefined && performance.now() - answeredAt > afterMs) {
        clearInterval(timer);
        return void socket.end("0\r\n\r\n");
      }
      socket.write(chunk);
    }, 2);
    socket.on("data", (data: Buffer) => {
      answer += data.toString("latin1");
      answeredAt ??= performance.now();
    });
    socket.on("error", (e: NodeJS.ErrnoException) => (error ??= e.code));
    socket.on("close", () => {
      clearInterval(timer);
      resolve({ answer, error });
    });
  });
}

function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = "";
    socket.on("data", (data: Buffer) => (answer += data.toString("latin1")));
    socket.on("error", reject);
    socket.on("close", () => resolve(answer));
  });
}
