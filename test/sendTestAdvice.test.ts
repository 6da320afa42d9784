/** What `herald send-test` advises for a WebPush endpoint the SSRF guard refused: the key that would let it through. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { explainOutcome } from "../src/commands/sendTestAdvice.js";

const refused = (why: string) => explainOutcome("webpush", { kind: "skipped", why: `endpoint refused: ${why}` });

test("each refusal names the key that lets it through, and only that one", () => {
  const outside = refused("the endpoint's host push.example.com is not in allowed_endpoints");
  assert.match(outside, /list its host in the app's allowed_endpoints/);
  assert.doesNotMatch(outside, /allow_private_addresses|allow_http/);

  const http = refused("the endpoint is http, not https (allow_http is off)");
  assert.match(http, /set allow_http: true/);
  assert.doesNotMatch(http, /allow_private_addresses/);

  const loopback = refused(
    "the endpoint's host localhost resolves to 127.0.0.1, loopback (127.0.0.0/8): an address Herald does not push to",
  );
  assert.match(
    loopback,
    /listed in allowed_endpoints or not: list its address or network in the app's allow_private_addresses/,
  );

  assert.equal(
    refused("the endpoint is ftp, not https"),
    "Nothing was sent: endpoint refused: the endpoint is ftp, not https.",
  );
});
