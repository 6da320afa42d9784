/**
 * What reaches the HTTP server before the application can: requests Node's parser refuses, and requests it would
 * answer by itself. Each gets an answer that says what was wrong, never a bare status line or a closed connection.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { sendRaw, type RawRequest } from "./fuzz/rawHttp.js";
import { startTestHerald, testApp, type TestHerald } from "./helpers/herald.js";
import { waitFor } from "./helpers/waitFor.js";

const body = new TextEncoder().encode(
  '{"notification": {"devices": [{"app_id": "com.example.spqr", "pushkey": "accept"}]}}',
);

function request(fields: Partial<RawRequest>): RawRequest {
  return {
    method: "POST",
    target: "/_matrix/push/v1/notify",
    version: "HTTP/1.1",
    headers: [["Host", "localhost"]],
    body,
    framing: { kind: "length" },
    pauses: [],
    ...fields,
  };
}

describe("HTTP the application never sees", () => {
  let herald: TestHerald;
  let port: number;
  before(async () => {
    herald = await startTestHerald({ apps: { "com.example.spqr": testApp() } });
    port = Number(new URL(herald.url).port);
  });
  after(() => herald.stop());

  const malformed: [string, Partial<RawRequest>][] = [
    ["an unknown method", { method: "FOO" }],
    ["a Content-Length that is no number", { framing: { kind: "length", declared: "abc" } }],
    [
      "both Content-Length and chunked",
      {
        headers: [
          ["Host", "x"],
          ["Transfer-Encoding", "chunked"],
        ],
      },
    ],
    [
      "a Transfer-Encoding other than chunked",
      {
        headers: [
          ["Host", "x"],
          ["Transfer-Encoding", "gzip"],
        ],
        framing: { kind: "none" },
      },
    ],
    [
      "a chunk size that is no number",
      {
        headers: [
          ["Host", "x"],
          ["Transfer-Encoding", "chunked"],
        ],
        framing: { kind: "none" },
        body: new TextEncoder().encode("zz\r\n{}\r\n0\r\n\r\n"),
      },
    ],
    [
      "a header line without a colon",
      {
        headers: [
          ["Host", "x"],
          ["Bad Header", "x"],
        ],
      },
    ],
    ["a body cut short by the end of the connection", { framing: { kind: "length", declared: "500" } }],
  ];
  for (const [name, fields] of malformed) {
    test(`${name}: 400 with a text that says the request is malformed`, async () => {
      const answer = await sendRaw(port, request(fields));
      assert.equal(answer.outcome, "answered");
      assert.equal(answer.status, 400);
      assert.match(answer.headers["content-type"] ?? "", /^text\/plain/);
      assert.match(answer.body.toString("utf8"), /^malformed HTTP request: \S/);
      assert.equal(answer.headers.connection, "close");
    });
  }

  test("header fields too large: 431 with a text that says so", async () => {
    const answer = await sendRaw(
      port,
      request({
        headers: [
          ["Host", "x"],
          ["X-Long", "a".repeat(20_000)],
        ],
      }),
    );
    assert.equal(answer.status, 431);
    assert.match(answer.headers["content-type"] ?? "", /^text\/plain/);
    assert.equal(answer.body.toString("utf8"), "the request's header fields are too large");
  });

  test("CONNECT: 405 as any method Herald does not serve, not a closed connection", async () => {
    const answer = await sendRaw(
      port,
      request({ method: "CONNECT", target: "example.com:443", framing: { kind: "none" }, body: new Uint8Array() }),
    );
    assert.equal(answer.outcome, "answered");
    assert.equal(answer.status, 405);
    assert.deepEqual(JSON.parse(answer.body.toString("utf8")), {
      errcode: "M_UNRECOGNIZED",
      error: "Unrecognized request",
    });
  });

  test("an HTTP/1.1 request without Host is served, as Sygnal serves it", async () => {
    const answer = await sendRaw(port, request({ headers: [] }));
    assert.equal(answer.status, 200);
    assert.equal(answer.body.toString("utf8"), '{"rejected": []}');
  });

  test("an Expect other than 100-continue is ignored, as Sygnal ignores it", async () => {
    const answer = await sendRaw(
      port,
      request({
        headers: [
          ["Host", "x"],
          ["Expect", "200-ok"],
        ],
      }),
    );
    assert.equal(answer.status, 200);
    assert.equal(answer.body.toString("utf8"), '{"rejected": []}');
  });

  const heads: [string, string][] = [
    ["a malformed request", "FOO /_matrix/push/v1/notify HTTP/1.1\r\nContent-Length: 600000\r\n\r\n"],
    ["CONNECT", "CONNECT example.com:443 HTTP/1.1\r\n\r\n"],
  ];
  for (const [name, head] of heads) {
    test(`after answering ${name}, Herald reads what the client still sends instead of resetting the connection`, async () => {
      // A reset can destroy the answer before the client reads it: the client must be able to finish sending.
      const socket = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
      const errors: string[] = [];
      socket.on("error", (error: NodeJS.ErrnoException) => errors.push(error.code ?? error.message));
      const received: Buffer[] = [];
      socket.on("data", (chunk: Buffer) => received.push(chunk));
      const closed = new Promise((resolve) => socket.on("close", resolve));
      socket.write(head);
      await waitFor("the answer's head", () => Buffer.concat(received).includes("\r\n\r\n"));
      for (let i = 0; i < 10; i++) {
        socket.write(Buffer.alloc(60_000, 0x20));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      socket.end();
      await closed;
      assert.deepEqual(errors, []);
      assert.match(Buffer.concat(received).toString("latin1"), /^HTTP\/1\.1 40[05] /);
    });
  }
});
