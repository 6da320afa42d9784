/**
 * The HTTP/2 origin client against a real TLS server: connections that never complete their handshake are not kept,
 * so that shutting down after a run of TLS failures finishes.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { Http2Origin } from "../src/core/http2Origin.js";
import { TemporaryFailure } from "../src/core/pushkin.js";
import { createSandboxCa } from "../src/sandbox/ca.js";

test("close() finishes after connections that failed their TLS handshake", { timeout: 10_000 }, async () => {
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
    const started = performance.now();
    await origin.close(60_000);
    assert.ok(performance.now() - started < 5000, "nothing was left to wait for");
  } finally {
    server.close();
  }
});
