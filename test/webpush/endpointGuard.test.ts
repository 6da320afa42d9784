/** The SSRF guard of WebPush endpoints: what is refused, what allowed_endpoints lets through. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { globToRegExp } from "../../src/core/glob.js";
import { checkEndpoint } from "../../src/pushkins/webpush/endpointGuard.js";

const allow = (...globs: string[]) => globs.map((g) => globToRegExp(g, { ignoreCase: true }));

describe("endpoints Herald refuses to push to", () => {
  const refused = [
    "https://127.0.0.1/push/1",
    "https://127.1.2.3:8443/push/1",
    "https://[::1]/push/1",
    "https://10.1.2.3/push/1",
    "https://172.16.0.1/push/1",
    "https://172.31.255.255/push/1",
    "https://192.168.1.1/push/1",
    "https://169.254.169.254/latest/meta-data",
    "https://[fc00::1]/push/1",
    "https://[fd12:3456::1]/push/1",
    "https://[fe80::1]/push/1",
    "https://[::ffff:127.0.0.1]/push/1",
    "https://[::ffff:10.0.0.1]/push/1",
    "https://0.0.0.0/push/1",
    "https://[::]/push/1",
    "https://224.0.0.1/push/1",
    "https://100.64.0.1/push/1",
    "https://localhost/push/1", // a name that resolves to loopback
  ];
  for (const endpoint of refused) {
    test(endpoint, async () => {
      const check = await checkEndpoint(endpoint, undefined);
      assert.equal(check.ok, false);
      assert.match((check as { why: string }).why, /an address Herald does not push to/);
    });
  }
  test("plain http", async () => {
    const check = await checkEndpoint("http://93.184.216.34/push/1", undefined);
    assert.deepEqual(check, { ok: false, why: "the endpoint is http, not https" });
  });
  test("a host outside allowed_endpoints", async () => {
    const check = await checkEndpoint("https://93.184.216.34/push/1", allow("updates.push.services.mozilla.com"));
    assert.deepEqual(check, { ok: false, why: "the endpoint's host 93.184.216.34 is not in allowed_endpoints" });
  });
  test("something that is not a URL", async () => {
    assert.deepEqual(await checkEndpoint("not a url", undefined), { ok: false, why: "the endpoint is not a URL" });
  });
});

describe("endpoints Herald pushes to", () => {
  test("a public address, pinned for the request", async () => {
    const check = await checkEndpoint("https://93.184.216.34/push/1", undefined);
    assert.ok(check.ok);
    assert.equal(check.address, "93.184.216.34");
  });
  test("a private one when allowed_endpoints lists its host[:port], ignoring case", async () => {
    const check = await checkEndpoint("https://LOCALHOST:8443/push/1", allow("localhost:*"));
    assert.ok(check.ok);
    assert.match(check.address, /^(127\.0\.0\.1|::1)$/);
  });
  test("plain http when allowed_endpoints lists it", async () => {
    assert.equal((await checkEndpoint("http://127.0.0.1:8080/push", allow("127.0.0.1:8080"))).ok, true);
  });
});
