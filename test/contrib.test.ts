/**
 * contrib/: the Prometheus alerting rules and the Grafana dashboard. promtool checks the rules, runs their unit tests
 * and parses every query of the dashboard; every metric either names is one a Herald with every surface configured exports on its metrics
 * listener, except the few exported only when something optional is configured (`EXPORTED_WHEN_CONFIGURED`).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { parse } from "yaml";
import { startSandbox, type Sandbox } from "../src/sandbox/index.js";
import { startTestHerald, testApp, type TestHerald } from "./helpers/herald.js";
import { repoRoot } from "./helpers/paths.js";
import { command, unless } from "./helpers/services.js";
import { tempDir } from "./helpers/tempDir.js";
import { pushRelaySection, startApnsEndpoints } from "./pushRelay/sandboxConfig.js";
import { ed25519Pair, sqliteStore, walletConnectSection, type TestStore } from "./walletconnect/helpers.js";

const ALERTS = join(repoRoot, "contrib", "prometheus", "herald-alerts.yaml");
const ALERT_TESTS = join(repoRoot, "contrib", "prometheus", "herald-alerts.test.yaml");
const DASHBOARD = join(repoRoot, "contrib", "grafana", "herald.json");

/**
 * Metrics the files may name that a Herald exports only when an optional part is configured, which the Herald of
 * this test does not configure. Keep it short; docs/metrics.md ("Alerts and dashboard") lists it too.
 */
const EXPORTED_WHEN_CONFIGURED = new Set([
  // A fleet's shared state (duplicate suppression and dead tokens through a shared store): only when configured.
  "herald_shared_state_ok",
]);

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rules = (parse(readFileSync(ALERTS, "utf8")) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as {
  templating: { list: { name: string; type: string; query: unknown }[] };
  panels: Panel[];
};

interface Panel {
  title: string;
  type: string;
  datasource?: { uid: string };
  targets?: { expr: string; datasource?: { uid: string } }[];
}

/** Every query of the dashboard, with its panel's title. */
const queries = dashboard.panels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })),
);

/** Grafana's variables replaced by what PromQL can parse. */
function asPromql(expr: string): string {
  return expr.replaceAll("$__rate_interval", "5m").replaceAll("$job", ".*").replaceAll("$instance", ".*");
}

/** The metric names a query uses, read loosely: Herald's, Sygnal's and the runtime's prefixes. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(?:sygnal|herald|process|nodejs)_[A-Za-z0-9_]*/g)].map((m) => m[0]);
}

describe("contrib/prometheus/herald-alerts.yaml and contrib/grafana/herald.json", () => {
  test("every alert has a severity, a summary, a description that says what to do, and a runbook", () => {
    assert.ok(rules.length > 0);
    for (const rule of rules) {
      assert.ok(["critical", "warning"].includes(rule.labels?.severity ?? ""), `${rule.alert}: severity`);
      for (const annotation of ["summary", "description", "runbook_url"]) {
        assert.ok(rule.annotations?.[annotation], `${rule.alert}: ${annotation}`);
      }
      assert.match(rule.annotations!.description!, /https:\/\/\S+\/docs\//, `${rule.alert}: links the docs`);
    }
  });

  test("the dashboard asks for its Prometheus data source, and every query uses it", () => {
    const variable = dashboard.templating.list.find((v) => v.type === "datasource");
    assert.deepEqual([variable?.name, variable?.query], ["datasource", "prometheus"]);
    for (const panel of dashboard.panels.filter((p) => p.type !== "row")) {
      assert.equal(panel.datasource?.uid, "${datasource}", panel.title);
      assert.ok((panel.targets ?? []).length > 0, `${panel.title} has queries`);
      for (const target of panel.targets!) assert.equal(target.datasource?.uid, "${datasource}", panel.title);
    }
  });
});

describe("promtool", () => {
  const promtool = command("promtool", "apt-get install prometheus (Debian's package brings promtool)");
  const { test } = unless(promtool.missing);
  const run = (args: string[]) => promisify(execFile)(promtool.url!, args);

  test("checks the alerting rules", async () => {
    const { stdout } = await run(["check", "rules", ALERTS]);
    assert.match(stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  test("fires the alerts as their unit tests say (herald-alerts.test.yaml)", async () => {
    const { stdout } = await run(["test", "rules", ALERT_TESTS]);
    assert.match(stdout, /SUCCESS/);
  });

  test("parses every query of the dashboard", async (t) => {
    // Each query as a recording rule: promtool parses the expression of each.
    const file = join(tempDir(t), "dashboard-queries.yaml");
    const recorded = queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: asPromql(q.expr) }));
    writeFileSync(file, JSON.stringify({ groups: [{ name: "dashboard", rules: recorded }] }));
    const { stdout } = await run(["check", "rules", file]);
    assert.match(stdout, new RegExp(`SUCCESS: ${queries.length} rules found`));
  });
});

describe("every metric the alerts and the dashboard name is one Herald exports", () => {
  let sandbox: Sandbox;
  let apns: Awaited<ReturnType<typeof startApnsEndpoints>>;
  let store: TestStore;
  let herald: TestHerald;
  let exported: Set<string>;
  const dir = tempDir(after);

  before(async () => {
    // A `walletconnect` app (to a push server; nothing is sent to it here) needs its signing key.
    const signingKey = join(dir, "walletconnect-signing.pem");
    writeFileSync(signingKey, ed25519Pair().privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    sandbox = await startSandbox();
    apns = await startApnsEndpoints(sandbox);
    store = sqliteStore();
    // Every built-in pushkin type and a custom one, push-relay's /push and WalletConnect's /clients, with the metrics listener.
    herald = await startTestHerald(
      {
        metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
        apps: {
          ...sandbox.apps(),
          "com.example.custom": testApp(),
          "com.example.wallet": {
            type: "walletconnect",
            endpoint: "https://push.example.org",
            signing_key_file: signingKey,
          },
        },
        push_relay: pushRelaySection(sandbox, apns, {}),
        walletconnect: walletConnectSection(ed25519Pair(), store),
      },
      {},
      { logLevel: "warn" },
    );
    const scrape = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
    // A metric is exported when its TYPE line is there, even before any sample (a labelled counter at first).
    exported = new Set([...scrape.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  });
  after(async () => {
    await herald?.stop();
    await Promise.all([sandbox?.close(), apns?.production.close(), apns?.development.close()]);
    await store?.drop();
  });

  const isExported = (name: string) =>
    exported.has(name) || exported.has(name.replace(/_(bucket|sum|count)$/, "")) || EXPORTED_WHEN_CONFIGURED.has(name);

  test("the alerting rules", () => {
    for (const rule of rules) {
      for (const name of metricNames(rule.expr)) assert.ok(isExported(name), `${rule.alert}: ${name} is not exported`);
    }
  });

  test("the dashboard's queries", () => {
    assert.ok(queries.length > 0);
    for (const { panel, expr } of queries) {
      for (const name of metricNames(expr)) assert.ok(isExported(name), `panel '${panel}': ${name} is not exported`);
    }
  });

  test("the allow-list holds only names the files use and Herald does not export here", () => {
    const used = new Set([...rules.map((r) => r.expr), ...queries.map((q) => q.expr)].flatMap(metricNames));
    for (const name of EXPORTED_WHEN_CONFIGURED) {
      assert.ok(used.has(name), `${name} is not used: remove it from the list`);
      assert.ok(!exported.has(name), `${name} is exported: remove it from the list`);
    }
  });
});
