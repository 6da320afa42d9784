/** Reading sygnal.yaml: Sygnal's keys and defaults, Herald's additions, warnings for unknown keys, errors by key. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, configPath, parseConfig, type LoadedConfig } from "../src/config/load.js";
import { DEFAULT_HTTP, DEFAULT_PROMETHEUS } from "./helpers/configDefaults.js";

const APPS = "apps:\n  com.example.app:\n    type: ./pushkin.js\n";

function load(yaml: string, env: NodeJS.ProcessEnv = {}): LoadedConfig {
  return parseConfig(yaml, "/etc/herald/sygnal.yaml", env);
}

function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    load(yaml, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
  assert.fail("the config was accepted");
}

describe("defaults", () => {
  test("are Sygnal's for Sygnal's keys, and Herald's for its own", () => {
    const { config, warnings } = load(APPS);
    assert.deepEqual(warnings, []);
    assert.deepEqual(config.http, DEFAULT_HTTP);
    assert.deepEqual(config.metrics.prometheus, DEFAULT_PROMETHEUS);
    assert.deepEqual(config.log, { level: "info", access: { x_forwarded_for: false } });
    assert.equal(config.proxy, undefined);
    assert.equal(config.request_deadline, 10);
    assert.equal(config.shutdown_timeout, 10);
    assert.deepEqual(config.dead_token_cache, { enabled: true, max_entries: 10000, ttl: 3600 });
    assert.deepEqual(config.duplicate_suppression, { enabled: true, max_entries: 100000, ttl: 3600 });
    assert.equal(config.apps["com.example.app"]!.inflight_request_limit, 512);
    assert.equal(config.dir, "/etc/herald");
  });
  test("of built-in pushkins are Sygnal's", () => {
    const { config } = load(`apps:
  a: {type: apns, keyfile: k.p8, key_id: K, team_id: T, topic: t}
  g: {type: gcm, api_version: v1, project_id: p, service_account_file: s.json}
  w: {type: webpush, vapid_private_key: v.pem, vapid_contact_email: a@b.c}
`);
    assert.equal(config.apps.a!.platform, "production");
    assert.equal(config.apps.a!.convert_device_token_to_hex, true);
    assert.equal(config.apps.a!.send_badge_counts, true);
    assert.equal(config.apps.g!.max_connections, 20);
    assert.deepEqual(config.apps.g!.fcm_options, {});
    assert.equal(config.apps.w!.ttl, 900);
  });
  test("the public surfaces' rate limits and the registry's cap are on; each goes with 0; empty means default", () => {
    const walletconnect = "walletconnect: {validate_signatures: false, store: {type: sqlite, path: r.sqlite3}";
    const { config } = load(`push_relay: {}\n${walletconnect}}\n${APPS}`);
    assert.deepEqual(config.push_relay?.rate_limits, {
      per_address: { requests: 120, period: 60 },
      per_recipient: { requests: 20, period: 300 },
    });
    assert.deepEqual(config.walletconnect?.rate_limits, { per_address: { requests: 100, period: 60 } });
    assert.equal(config.walletconnect?.max_clients, 1_000_000);

    const off = load(`push_relay:
  rate_limits:
    per_address: {requests: 0}
    per_recipient:
${walletconnect}, rate_limits: {per_address: {requests: 0}}, max_clients: 0}
${APPS}`).config;
    assert.deepEqual(off.push_relay?.rate_limits, {
      per_address: { requests: 0, period: 60 },
      per_recipient: { requests: 20, period: 300 },
    });
    assert.deepEqual(off.walletconnect?.rate_limits.per_address, { requests: 0, period: 60 });
    assert.equal(off.walletconnect?.max_clients, 0);
    assert.deepEqual(
      problemsOf(`push_relay: {rate_limits: {per_recipient: {requests: 1.5, period: 0}}}\n${APPS}`).sort(),
      [
        "push_relay.rate_limits.per_recipient.period: must be > 0, found number 0",
        "push_relay.rate_limits.per_recipient.requests: expected an integer, found number 1.5",
      ],
    );
  });
  test("an empty prometheus address means every interface", () => {
    const { config } = load(`metrics: {prometheus: {enabled: true, address: ''}}\n${APPS}`);
    assert.equal(config.metrics.prometheus.address, undefined);
  });
});

describe("unknown keys warn, as in Sygnal", () => {
  test("at every level, naming the key", () => {
    const { warnings } = load(`frobnicate: 1
http: {port: 5000, colour: blue}
log: {access: {x_forwarded_for: true, extra: 1}}
metrics: {prometheus: {enabled: false, foo: 1}}
apps:
  com.example.ios: {type: apns, keyfile: k.p8, key_id: K, team_id: T, topic: t, sandbox: yes}
  com.example.custom: {type: ./p.js, anything: goes}
`);
    assert.deepEqual(warnings.sort(), [
      'apps."com.example.ios".sandbox: unknown key, ignored',
      "frobnicate: unknown key, ignored",
      "http.colour: unknown key, ignored",
      "log.access.extra: unknown key, ignored",
      "metrics.prometheus.foo: unknown key, ignored",
    ]);
  });
  test("Sygnal's legacy database keys warn that they are ignored", () => {
    const { warnings } = load(`db: {dbfile: sygnal.db}\n${APPS}`);
    assert.ok(
      warnings.some((w) => w.startsWith("'db':")),
      warnings.join("\n"),
    );
  });
  test("walletconnect.require_client_auth without public_url warns that the JWT's audience goes unchecked", () => {
    const section = "walletconnect: {relay_public_key: " + "ab".repeat(32) + ", require_client_auth: true";
    const { warnings } = load(`${section}}\n${APPS}`);
    assert.deepEqual(warnings, [
      "walletconnect.require_client_auth: without walletconnect.public_url a wallet's JWT is not checked for this server's audience, so one made for another push server is accepted here; set public_url",
    ]);
    assert.deepEqual(load(`${section}, public_url: https://push.example.org}\n${APPS}`).warnings, []);
    const { config } = load(`walletconnect: {relay_public_key: ${"ab".repeat(32)}}\n${APPS}`);
    assert.equal(config.walletconnect?.require_client_auth, false, "off by default");
  });
  test("Sentry without a DSN warns when enabled (tracing's warnings: test/config/tracing.test.ts)", () => {
    const { warnings } = load(`metrics: {sentry: {enabled: true}}\n${APPS}`);
    assert.equal(warnings.length, 1);
  });
});

describe("errors stop start-up, naming the key, the expectation and what was found", () => {
  const cases: [string, string, RegExp][] = [
    [
      "a port that is not a number",
      `http: {port: five}\n${APPS}`,
      /^http\.port: expected an integer, found string "five"$/,
    ],
    [
      "bind_addresses that is not a list",
      `http: {bind_addresses: 127.0.0.1}\n${APPS}`,
      /^http\.bind_addresses: expected a list/,
    ],
    ["no apps", "http: {port: 5000}\n", /^apps: no apps are configured: add at least one app under 'apps'$/],
    ["empty apps", "apps: {}\n", /^apps: no apps are configured/],
    [
      "an app without a type",
      "apps:\n  com.example.app: {inflight_request_limit: 4}\n",
      /^apps\."com\.example\.app"\.type: required key is missing$/,
    ],
    [
      "an app that is not a mapping",
      "apps:\n  com.example.app: apns\n",
      /^apps\."com\.example\.app": expected a mapping, found string "apns"$/,
    ],
    [
      "an in-flight limit of 0",
      "apps:\n  a: {type: ./p.js, inflight_request_limit: 0}\n",
      /^apps\.a\.inflight_request_limit: must be >= 1/,
    ],
    [
      "an unknown APNs platform",
      "apps:\n  a: {type: apns, platform: staging}\n",
      /^apps\.a\.platform: expected one of "production", "prod", "sandbox", found string "staging"$/,
    ],
    ["an unknown push_type", "apps:\n  a: {type: apns, push_type: loud}\n", /^apps\.a\.push_type: expected one of/],
    [
      "a boolean given as a string",
      "apps:\n  a: {type: apns, convert_device_token_to_hex: 'no'}\n",
      /^apps\.a\.convert_device_token_to_hex: expected true or false, found string "no"$/,
    ],
    [
      "fcm_options that is not a mapping",
      "apps:\n  g: {type: gcm, fcm_options: [1]}\n",
      /^apps\.g\.fcm_options: expected a mapping, found a list$/,
    ],
    [
      "an endpoint that is not a URL",
      "apps:\n  a: {type: apns, endpoint: api.example.com}\n",
      /^apps\.a\.endpoint: expected a value matching/,
    ],
    ["a negative deadline", `request_deadline: -1\n${APPS}`, /^request_deadline: must be > 0/],
    [
      "a proxy with another scheme",
      `proxy: 'socks5://proxy:1080'\n${APPS}`,
      /^proxy: the proxy URL uses the scheme 'socks5'/,
    ],
    ["HTTPS_PROXY without a host", APPS, /^HTTPS_PROXY: the proxy URL is not a URL/],
    ["a top level that is not a mapping", "- a\n- b\n", /^the file must hold a YAML mapping/],
    ["broken YAML", "apps: {a: [\n", /^YAML syntax:/],
    [
      "an unquoted value starting with *",
      "apps:\n  a: {type: threema, identity: *3MAPUSH}\n",
      /^YAML: .*3MAPUSH.* \(a value that starts with '\*' is read as an alias: quote it, as in identity: "\*3MAPUSH"\)$/,
    ],
  ];
  for (const [name, yaml, expected] of cases) {
    test(name, () => {
      const env = name.startsWith("HTTPS_PROXY") ? { HTTPS_PROXY: "http://" } : {};
      const problems = problemsOf(yaml, env);
      assert.ok(
        problems.some((p) => expected.test(p)),
        `${problems.join("\n")}\n  does not match ${expected}`,
      );
    });
  }
  test("every problem of the file is listed at once", () => {
    const problems = problemsOf("http: {port: x}\nrequest_deadline: soon\napps:\n  a: {type: apns, platform: 2}\n");
    assert.equal(problems.length, 3, problems.join("\n"));
  });
  test("the message names the file", () => {
    assert.throws(() => load("apps: {}\n"), /invalid configuration in \/etc\/herald\/sygnal\.yaml/);
  });
});

describe("YAML as Sygnal reads it (YAML 1.1, as PyYAML's safe_load)", () => {
  test("yes/no and on/off are booleans", () => {
    const { config } = load(`metrics: {prometheus: {enabled: yes}}\nlog: {access: {x_forwarded_for: on}}\n${APPS}`);
    assert.equal(config.metrics.prometheus.enabled, true);
    assert.equal(config.log.access.x_forwarded_for, true);
    assert.equal(load(`dead_token_cache: {enabled: no}\n${APPS}`).config.dead_token_cache.enabled, false);
  });
  test("y and n are strings, not booleans", () => {
    assert.deepEqual(problemsOf(`log: {access: {x_forwarded_for: y}}\n${APPS}`), [
      'log.access.x_forwarded_for: expected true or false, found string "y"',
    ]);
  });
  test("a key id with a leading zero is a string, quoted or not", () => {
    for (const keyId of ["0123456789", "'0123456789'"]) {
      const { config } = load(`apps:\n  a: {type: apns, keyfile: k.p8, key_id: ${keyId}, team_id: T, topic: t}\n`);
      assert.equal(config.apps.a!.key_id, "0123456789");
    }
  });
  test("number-like values that are strings to PyYAML are strings: 1e5, 2E10, 12345E6789", () => {
    const { config } = load(`apps:\n  a: {type: apns, keyfile: k.p8, key_id: 1e5, team_id: 2E10, topic: 12345E6789}\n`);
    assert.deepEqual(
      [config.apps.a!.key_id, config.apps.a!.team_id, config.apps.a!.topic],
      ["1e5", "2E10", "12345E6789"],
    );
  });
  test("a key id that is a number to PyYAML is refused, as Sygnal refuses it, saying to quote it", () => {
    assert.deepEqual(problemsOf(`apps:\n  a: {type: apns, keyfile: k.p8, key_id: 1234567890, team_id: T}\n`), [
      "apps.a.key_id: expected a string, found number 1234567890 (write it in quotes to make it a string)",
    ]);
  });
  test("a repeated key: the last one wins", () => {
    const { config } = load(`http:\n  port: 5001\nhttp:\n  port: 5002\n${APPS}`);
    assert.equal(config.http.port, 5002);
    assert.deepEqual(config.http.bind_addresses, ["127.0.0.1"], "the first http section is gone, as in PyYAML");
  });
  test("merge keys share settings between apps; the app's own keys win", () => {
    const { config, warnings } = load(`apps:
  com.example.a: &fcm
    type: gcm
    api_version: v1
    project_id: p
    service_account_file: sa.json
  com.example.b:
    <<: *fcm
    project_id: q
`);
    assert.deepEqual(warnings, []);
    assert.equal(config.apps["com.example.b"]!.type, "gcm");
    assert.equal(config.apps["com.example.b"]!.project_id, "q");
    assert.equal(config.apps["com.example.a"]!.project_id, "p");
  });
});

describe("an empty key (YAML null), as Sygnal reads it", () => {
  const defaults = load(APPS).config;
  const emptySections: [string, string][] = [
    ["log", "log:\n"],
    ["log.setup", "log:\n  setup:\n"],
    ["log.access", "log:\n  access:\n    # x_forwarded_for: true\n"],
    ["http", "http:\n"],
    ["metrics", "metrics:\n"],
    ["metrics.prometheus", "metrics:\n  prometheus:\n"],
    ["metrics.sentry", "metrics:\n  sentry:\n"],
    ["metrics.opentracing", "metrics:\n  opentracing:\n"],
    ["metrics.opentracing.jaeger", "metrics:\n  opentracing:\n    jaeger:\n"],
  ];
  for (const [section, yaml] of emptySections) {
    test(`an empty ${section} section takes its defaults`, () => {
      const { config, warnings } = load(`${yaml}${APPS}`);
      assert.deepEqual(warnings, []);
      assert.deepEqual(config, defaults);
    });
  }
  test("an empty proxy: HTTPS_PROXY is used, as when there is no proxy key", () => {
    const { config } = load(`proxy:\n${APPS}`, { HTTPS_PROXY: "http://proxy.internal:3128" });
    assert.equal(config.proxy?.host, "proxy.internal");
    assert.equal(load(`proxy:\n${APPS}`).config.proxy, undefined);
  });
  test("the keys Sygnal reads as their default when empty take it: switches, the metrics port, tracing's name", () => {
    const { config } = load(`log:
  access:
    x_forwarded_for:
metrics:
  prometheus:
    enabled:
    port:
  opentracing:
    enabled:
    service_name:
  sentry:
    enabled:
    dsn:
${APPS}`);
    assert.deepEqual(config, defaults);
  });
  test("an empty metrics.prometheus.address is every interface, as in Sygnal", () => {
    assert.equal(
      load(`metrics: {prometheus: {enabled: true, address: }}\n${APPS}`).config.metrics.prometheus.address,
      undefined,
    );
  });
  test("an app's empty section takes its default: fcm_options, circuit_breaker", () => {
    const { config } = load(`apps:
  g:
    type: gcm
    api_version: v1
    project_id: p
    service_account_file: sa.json
    fcm_options:
    circuit_breaker:
`);
    assert.deepEqual(config.apps.g!.fcm_options, {});
    assert.equal("circuit_breaker" in config.apps.g!, false);
  });
  test("an FCM v1 app's empty api_key, which Sygnal does not read with v1, is not checked", () => {
    const { config } = load(
      "apps:\n  g:\n    type: gcm\n    api_version: v1\n    api_key:\n    project_id: p\n    service_account_file: sa.json\n",
    );
    assert.equal(config.apps.g!.api_key, null);
  });
  test("a legacy FCM app's empty service_account_file, which Sygnal does not read without v1, is not checked", () => {
    assert.doesNotThrow(() => load("apps:\n  g: {type: gcm, api_key: K, service_account_file: }\n"));
  });
  test("an empty value Sygnal refuses is refused, naming the key and the fix", () => {
    assert.deepEqual(problemsOf(`http:\n  port:\n${APPS}`), [
      "http.port: expected an integer, found null (the key has no value: give it one, or remove the line)",
    ]);
    assert.deepEqual(problemsOf("apps:\n  a:\n    type: apns\n    keyfile: k.p8\n    send_badge_counts:\n"), [
      "apps.a.send_badge_counts: expected true or false, found null (the key has no value: give it one, or remove the line)",
    ]);
    assert.deepEqual(problemsOf("apps:\n  g: {type: gcm, api_key: }\n"), [
      "apps.g.api_key: expected a string, found null (the key has no value: give it one, or remove the line)",
    ]);
  });
  const noApps: [string, string][] = [
    ["no apps key", "http: {port: 5000}\n"],
    ["an empty apps", "apps:\n"],
    ["apps: {}", "apps: {}\n"],
    ["every app commented out", "apps:\n  # com.example.app:\n  #   type: gcm\n"],
    ["an empty file", ""],
    ["an empty push_relay (which is as none)", "push_relay:\napps:\n"],
  ];
  for (const [name, yaml] of noApps) {
    test(`${name}: no apps are configured, and the fix`, () => {
      assert.deepEqual(problemsOf(yaml), ["apps: no apps are configured: add at least one app under 'apps'"]);
    });
  }
});

describe("two listeners on one port are refused when the config is read, naming both keys", () => {
  const clash = (yaml: string) => problemsOf(`${yaml}${APPS}`);
  test("metrics.prometheus.port equal to http.port on the same interface", () => {
    assert.deepEqual(clash("http: {port: 5000}\nmetrics: {prometheus: {enabled: true, port: 5000}}\n"), [
      "http.port and metrics.prometheus.port (both 5000): http.bind_addresses[0] ('127.0.0.1') and metrics.prometheus.address ('127.0.0.1') would listen on the same port of the same interface: give metrics.prometheus.port a port of its own",
    ]);
  });
  test("an interface covered by a wildcard: 0.0.0.0 covers IPv4, :: and an empty address cover all", () => {
    const cases = [
      "http: {bind_addresses: ['0.0.0.0'], port: 8000}\nmetrics: {prometheus: {enabled: true}}\n",
      "http: {bind_addresses: ['::'], port: 8000}\nmetrics: {prometheus: {enabled: true}}\n",
      "http: {bind_addresses: ['::1'], port: 8000}\nmetrics: {prometheus: {enabled: true, address: ''}}\n",
      "http: {bind_addresses: ['0.0.0.0', '::'], port: 8000}\n",
      "http: {bind_addresses: ['127.0.0.1', '127.0.0.1']}\n",
    ];
    for (const yaml of cases) assert.equal(clash(yaml).length, 1, yaml);
    assert.match(
      clash(cases[4]!)[0]!,
      /^http\.port \(5000\): http\.bind_addresses\[0\] \('127\.0\.0\.1'\) and http\.bind_addresses\[1\] \('127\.0\.0\.1'\) .*: list each interface once in http\.bind_addresses$/,
    );
  });
  test("no clash: other interfaces, other ports, port 0, or the metrics listener off", () => {
    for (const yaml of [
      "http: {bind_addresses: ['127.0.0.1'], port: 8000}\nmetrics: {prometheus: {enabled: true, address: '127.0.0.2'}}\n",
      "http: {bind_addresses: ['0.0.0.0'], port: 8000}\nmetrics: {prometheus: {enabled: true, address: '::1'}}\n",
      "http: {port: 8001}\nmetrics: {prometheus: {enabled: true}}\n",
      "http: {port: 0}\nmetrics: {prometheus: {enabled: true, port: 0}}\n",
      "http: {port: 8000}\nmetrics: {prometheus: {enabled: false}}\n",
    ]) {
      assert.doesNotThrow(() => load(`${yaml}${APPS}`), yaml);
    }
  });
});

describe("proxy", () => {
  test("from the config, with credentials kept out of what is shown", () => {
    const { config } = load(`proxy: 'http://bob:secretsquirrel@example.org:8080'\n${APPS}`);
    assert.deepEqual(config.proxy, {
      host: "example.org",
      port: 8080,
      credentials: "bob:secretsquirrel",
      display: "http://bob@example.org:8080",
    });
  });
  test("port 80 by default, and no credentials without a password", () => {
    const { config } = load(`proxy: 'http://bob@example.org'\n${APPS}`);
    assert.deepEqual(config.proxy, { host: "example.org", port: 80, display: "http://bob@example.org" });
  });
  test("from HTTPS_PROXY when the config has none", () => {
    const { config } = load(APPS, { HTTPS_PROXY: "http://proxy.internal:3128" });
    assert.equal(config.proxy?.host, "proxy.internal");
  });
  test("the config's proxy wins over HTTPS_PROXY", () => {
    const { config } = load(`proxy: 'http://a.example:1'\n${APPS}`, { HTTPS_PROXY: "http://b.example:2" });
    assert.equal(config.proxy?.host, "a.example");
  });
});

describe("log level", () => {
  test("from Sygnal's logging setup: the sygnal logger, else root", () => {
    assert.equal(load(`log: {setup: {version: 1, root: {level: WARNING}}}\n${APPS}`).config.log.level, "warn");
    assert.equal(
      load(`log: {setup: {version: 1, root: {level: WARNING}, loggers: {sygnal: {level: DEBUG}}}}\n${APPS}`).config.log
        .level,
      "debug",
    );
  });
  test("log.level wins", () => {
    assert.equal(load(`log: {level: error, setup: {root: {level: DEBUG}}}\n${APPS}`).config.log.level, "error");
  });
});

describe("the config path", () => {
  test("is --config, else SYGNAL_CONF, else ./sygnal.yaml", () => {
    assert.equal(configPath("/a.yaml", { SYGNAL_CONF: "/b.yaml" }), "/a.yaml");
    assert.equal(configPath(undefined, { SYGNAL_CONF: "/b.yaml" }), "/b.yaml");
    assert.equal(configPath(undefined, {}), `${process.cwd()}/sygnal.yaml`);
  });
});
