/**
 * The HTTP/2 origin client against a real TLS server: connections that never complete their handshake are not kept,
 * so that shutting down after a run of TLS failures finishes.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { Http2Origin } from "../src/core/http2Origin.js";
import { PermanentFailure, TemporaryFailure } from "../src/core/pushkin.js";
import { createSandboxCa } from "../src/sandbox/ca.js";
import { within } from "./helpers/waitFor.js";

test("close() finishes after connections that failed their TLS handshake", async () => {
  const ca = await createSandboxCa();
  const certificate = await ca.issueServerCertificate(["localhost", "127.0.0.1"]);
  const server = http2.createSecureServer({ cert: certificate.certPem, key: certificate.keyPem }, (_req, res) =>
    res.end("ok"),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = new Http2Origin({ origin: `https://localhost:${(server.address() as AddressInfo).port}` });
  try {
    // The sandbox CA is not trusted here: every handshake fails.
    for (let i = 0; i < 5; i++) {
      await assert.rejects(
        origin.request({ method: "GET", path: "/", headers: {}, body: "", signal: AbortSignal.timeout(5000) }),
        (error: unknown) => error instanceof TemporaryFailure && /cannot connect/.test(error.message),
      );
    }
    // close() would wait up to its 60 s drain for a connection it kept; it has none to wait for.
    await within("close() after failed handshakes", origin.close(60_000));
  } finally {
    server.close();
  }
});

test("header values: non-ASCII goes out as UTF-8 bytes; a control character is refused before sending", async () => {
  const ca = await createSandboxCa();
  const certificate = await ca.issueServerCertificate(["localhost", "127.0.0.1"]);
  const received: (string | string[] | undefined)[] = [];
  const server = http2.createSecureServer({ cert: certificate.certPem, key: certificate.keyPem }, (req, res) => {
    received.push(req.headers["x-value"]);
    res.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = new Http2Origin({
    origin: `https://localhost:${(server.address() as AddressInfo).port}`,
    ca: ca.certPem,
  });
  const send = (value: string) =>
    origin.request({
      method: "POST",
      path: "/",
      headers: { "x-value": value },
      body: "",
      signal: AbortSignal.timeout(5000),
    });
  try {
    for (const value of ["plain", "ch.threema.é", "€ 😀", "ÿ"]) {
      const answer = await send(value);
      assert.equal(answer.status, 200);
      // Node's server hands over a header's bytes one character each.
      const bytes = Buffer.from(String(received.pop()), "latin1");
      assert.equal(bytes.toString("utf8"), value, `${value} arrived as ${bytes.toString("hex")}`);
    }
    for (const value of ["a\nb", "a\r\nX-Injected: 1", "a\u0000b", "\u0001", " padded", "padded\t"]) {
      await assert.rejects(
        send(value),
        (error: unknown) => error instanceof PermanentFailure && /x-value/.test(error.message),
        JSON.stringify(value),
      );
    }
    assert.deepEqual(received, [], "nothing of a refused request was sent");
  } finally {
    await origin.close();
    server.close();
  }
});
