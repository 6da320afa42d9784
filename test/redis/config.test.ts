/** The `redis` section: its defaults, its absence, and what it refuses, each saying why without the password. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, parseConfig } from "../../src/config/load.js";

const APPS = "apps:\n  com.example.app:\n    type: ./pushkin.js\n";

function load(yaml: string) {
  return parseConfig(`${APPS}${yaml}`, "/etc/herald/sygnal.yaml", {}).config;
}

function problemsOf(yaml: string): string[] {
  try {
    load(yaml);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail("the config was accepted");
}

describe("the redis section", () => {
  test("is absent unless given, also when written empty", () => {
    assert.equal(load("").redis, undefined);
    assert.equal(load("redis:\n").redis, undefined);
  });

  test("takes its defaults from the schema; a key written empty takes its default", () => {
    assert.deepEqual(load("redis:\n  url: redis://redis.internal:6379/2\n  recall_timeout:\n").redis, {
      url: "redis://redis.internal:6379/2",
      key_prefix: "herald:",
      connect_timeout: 2,
      command_timeout: 1,
      recall_timeout: 0.25,
    });
  });

  test("takes TLS with a CA, and Sentinel", () => {
    const tls = load("redis: {url: 'rediss://:pw@redis.internal:6380', ca: redis-ca.pem}\n").redis;
    assert.equal(tls?.ca, "redis-ca.pem");
    const sentinel = load(
      "redis:\n  url: redis://:pw@primary/0\n  sentinel: {master_name: herald, nodes: ['10.0.0.1:26379', '[::1]:26379']}\n",
    ).redis;
    assert.deepEqual(sentinel?.sentinel, { master_name: "herald", nodes: ["10.0.0.1:26379", "[::1]:26379"] });
  });

  test("needs a redis:// or rediss:// URL", () => {
    assert.match(problemsOf("redis: {key_prefix: x}\n").join("\n"), /redis\.url: required key is missing/);
    assert.match(problemsOf("redis: {url: 'http://redis:6379'}\n").join("\n"), /redis\.url: expected a value matching/);
  });

  test("refuses a URL Redis's client would misread, showing it without its password", () => {
    const [unparsable] = problemsOf("redis: {url: 'redis://:pa/s3cr3t@redis.internal:6379'}\n");
    assert.match(unparsable!, /^redis\.url: .* is not a URL \(in the password, write characters such as/);
    assert.ok(!unparsable!.includes("s3cr3t"), unparsable);
    const [path] = problemsOf("redis: {url: 'redis://:secret@redis.internal/zero'}\n");
    assert.equal(
      path,
      "redis.url: redis://:***@redis.internal/zero: the path, if any, is a database number (/0), found /zero",
    );
    assert.match(problemsOf("redis: {url: 'redis://redis.internal?db=1'}\n")[0]!, /takes no query/);
  });

  test("refuses what would not do what it says", () => {
    assert.match(
      problemsOf("redis: {url: 'redis://redis.internal', ca: ca.pem}\n")[0]!,
      /^redis\.ca: given, but redis\.url is not rediss:\/\//,
    );
    assert.match(
      problemsOf("redis: {url: 'rediss://redis.internal', sentinel: {master_name: m, nodes: ['s:26379']}}\n")[0]!,
      /^redis\.sentinel: .*without TLS only/,
    );
    assert.match(
      problemsOf("request_deadline: 1\nredis: {url: 'redis://redis.internal', recall_timeout: 1}\n")[0]!,
      /^redis\.recall_timeout: 1 s leaves no time to push within request_deadline \(1 s\)/,
    );
    assert.match(
      problemsOf("redis: {url: 'redis://r', sentinel: {master_name: m, nodes: ['no-port']}}\n")[0]!,
      /^redis\.sentinel\.nodes\.0: expected a value matching/,
    );
  });
});
