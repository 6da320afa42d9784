/** app_id → pushkin: the exact key first, then the one glob that matches; none or several reject the device. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { globToRegExp } from "../src/core/glob.js";
import { AppRouter } from "../src/core/routing.js";

describe("app-id globs", () => {
  const matches = (glob: string, appId: string) => globToRegExp(glob).test(appId);

  test("* is any run of characters, also none", () => {
    assert.ok(matches("com.example.*", "com.example.ios"));
    assert.ok(matches("com.example.*", "com.example."));
    assert.ok(matches("*", "anything at all"));
    assert.ok(matches("com.*.ios", "com.a.b.ios"));
  });
  test("? is exactly one character, a code point", () => {
    assert.ok(matches("com.example.?", "com.example.x"));
    assert.ok(matches("com.example.?", "com.example.🦉"));
    assert.ok(!matches("com.example.?", "com.example."));
    assert.ok(!matches("com.example.?", "com.example.xy"));
  });
  test("the whole app id must match", () => {
    assert.ok(!matches("example", "com.example.ios"));
    assert.ok(!matches("com.example.*", "xcom.example.ios"));
  });
  test("dots and regular-expression characters are literal", () => {
    assert.ok(!matches("com.example.*", "comXexample.ios"));
    assert.ok(matches("a+b(c)[d]{1}|^$\\*", "a+b(c)[d]{1}|^$\\zzz"));
    assert.ok(!matches("a+b", "aab"));
  });
  test("hyphens and slashes are literal too", () => {
    assert.ok(matches("im.vector-*", "im.vector-app.ios"));
    assert.ok(!matches("im.vector-*", "im.vectorXapp"));
    assert.ok(matches("a/b?", "a/bc"));
  });
  test("case-sensitive", () => {
    assert.ok(!matches("com.glob.*", "COM.GLOB.bcd"));
  });
  test("neither * nor ? matches a line feed, as Python's . in Sygnal's globs", () => {
    assert.ok(!matches("a*b", "a\nb"));
    assert.ok(!matches("com.glob.*", "com.glob.\n"));
    assert.ok(!matches("a?b", "a\nb"));
    assert.ok(matches("a*b", "a\r\u2028b"));
    assert.ok(matches("a?b", "a\rb"));
  });
});

describe("AppRouter", () => {
  const router = new AppRouter([
    ["com.example.apns", "exact"],
    ["*.example.*", "glob1"],
    ["com.example.a*", "glob2"],
  ]);

  test("an exact key wins over globs that also match", () => {
    assert.deepEqual(router.route("com.example.apns"), { kind: "found", target: "exact" });
  });
  test("one matching glob", () => {
    assert.deepEqual(router.route("com.example.bpns"), { kind: "found", target: "glob1" });
  });
  test("several matching globs are ambiguous", () => {
    assert.deepEqual(router.route("com.example.apns2"), {
      kind: "ambiguous",
      matches: ["*.example.*", "com.example.a*"],
    });
  });
  test("no match", () => {
    assert.deepEqual(router.route("org.other"), { kind: "unknown" });
  });
  test("a glob key is also matched exactly", () => {
    assert.deepEqual(router.route("com.example.a*"), { kind: "found", target: "glob2" });
  });
  test("the same answer the second time (from its memory)", () => {
    assert.deepEqual(router.route("com.example.bpns"), router.route("com.example.bpns"));
  });
});
