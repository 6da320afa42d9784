/**
 * The `walletconnect` section: what stops start-up (each message naming its key), what `herald check-config` says,
 * the answers that depend on it (providers not configured, noop refused, signatures not checked), and the sweep of
 * remembered message ids after `message_ttl`.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Registry } from "prom-client";
import { writeYaml } from "../../src/config/yaml.js";
import { CredentialHealth } from "../../src/core/credentialHealth.js";
import { createLogger } from "../../src/observability/logger.js";
import { GatewayMetrics } from "../../src/observability/metrics.js";
import { SANDBOX_APPS, startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { openStore } from "../../src/store/index.js";
import { walletConnectMetrics } from "../../src/walletConnect/metrics.js";
import { WalletConnectService } from "../../src/walletConnect/service.js";
import { runHerald } from "../helpers/processes.js";
import { tempDir } from "../helpers/tempDir.js";
import { apnsToken, ed25519Pair, fcmToken, register, relayPush, startWalletConnectHerald, SUCCESS } from "./helpers.js";

const relay = ed25519Pair();
let sandbox: Sandbox;
const dir = tempDir(after, "herald-wc-config-");

before(async () => {
  sandbox = await startSandbox();
});
after(async () => {
  await sandbox.close();
});

const sqlite = (name: string) => ({ type: "sqlite", path: join(dir, `${name}.sqlite3`) });

describe("start-up", () => {
  const section = (extra: Record<string, unknown>) => ({
    relay_public_key: relay.publicHex,
    store: sqlite("startup"),
    ...extra,
  });
  // Built when each test runs: the temporary directory does not exist yet when the tests are declared.
  const cases: [string, () => Record<string, unknown>, RegExp][] = [
    [
      "an app that is not configured",
      () => section({ providers: { apns: "org.example.missing" } }),
      /^walletconnect\.providers\.apns: names the app 'org\.example\.missing', which is not configured under apps$/,
    ],
    [
      "fcm served by an APNs app",
      () => section({ providers: { fcm: SANDBOX_APPS.apns } }),
      /^walletconnect\.providers\.fcm: the app '.*\.ios' is of type apns; fcm needs an app of type gcm with api_version: v1$/,
    ],
    [
      "apns-sandbox served by an FCM app",
      () => section({ providers: { "apns-sandbox": SANDBOX_APPS.fcm } }),
      /^walletconnect\.providers\.apns-sandbox: the app '.*\.android' is of type gcm \(api_version v1\); apns-sandbox needs an app of type apns$/,
    ],
    [
      "no relay key while signatures are checked",
      () => ({ store: sqlite("startup") }),
      /^walletconnect\.relay_public_key: required while validate_signatures is true/,
    ],
    [
      "message ids forgotten within the timestamp window",
      () => section({ timestamp_window: 600, message_ttl: 600 }),
      /^walletconnect\.message_ttl: must exceed timestamp_window \(600s\)/,
    ],
  ];
  for (const [name, walletconnect, message] of cases) {
    test(`${name} stops start-up, naming the key`, async () => {
      await assert.rejects(startWalletConnectHerald(sandbox, walletconnect()), (error: Error) => {
        assert.match(error.message, message);
        return true;
      });
    });
  }

  test("a registry file under a regular file stops start-up naming walletconnect.store", async () => {
    const file = join(dir, "plain-file");
    writeFileSync(file, "x");
    await assert.rejects(
      startWalletConnectHerald(sandbox, section({ store: { type: "sqlite", path: join(file, "registry.sqlite3") } })),
      (error: Error) => error.name === "StoreOpenError" && error.message.startsWith("walletconnect.store: "),
    );
  });

  test("a store with a path and no type is SQLite, the default type", async () => {
    const path = join(dir, "untyped", "registry.sqlite3");
    const herald = await startWalletConnectHerald(sandbox, section({ store: { path } }));
    try {
      assert.ok(existsSync(path), "the SQLite file was created");
    } finally {
      await herald.stop();
    }
  });

  test("schema errors name the key: a relay key that is not 64 hex digits, a postgres store without url", async () => {
    await assert.rejects(
      startWalletConnectHerald(sandbox, { relay_public_key: "abc", store: { type: "postgres" } }),
      (error: Error) => {
        assert.match(error.message, /walletconnect\.relay_public_key: expected a value matching/);
        assert.match(error.message, /walletconnect\.store\.url: required key is missing/);
        return true;
      },
    );
  });
});

describe("herald check-config", () => {
  async function checkConfig(config: Record<string, unknown>) {
    const path = join(mkdtempSync(join(dir, "check-")), "sygnal.yaml");
    writeFileSync(path, writeYaml(config));
    return { ...(await runHerald(["check-config", "--config", path])), dir: join(path, "..") };
  }

  test("names the apps serving each push type and the registry, without creating it", async () => {
    const run = await checkConfig({
      apps: sandbox.apps(),
      walletconnect: { relay_public_key: relay.publicHex, providers: { apns: SANDBOX_APPS.apns }, accept_noop: true },
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      /walletconnect \(\/clients\): apns → org\.example\.herald\.demo\.ios, noop; any project under \/\{project id\}\/clients shares them; registry sqlite .*data\/walletconnect\.sqlite3/,
    );
    assert.equal(existsSync(join(run.dir, "data")), false);
  });

  test("names each project's apps when tenants are configured, and the projects allowed otherwise", async () => {
    const tenants = await checkConfig({
      apps: sandbox.apps(),
      walletconnect: {
        relay_public_key: relay.publicHex,
        providers: { apns: SANDBOX_APPS.apns },
        tenants: { "project-a": { providers: { fcm: SANDBOX_APPS.fcm } }, "project-b": {} },
      },
    });
    assert.equal(tenants.code, 0, tenants.stderr);
    assert.match(
      tenants.stdout,
      /apns → org\.example\.herald\.demo\.ios; project project-a: fcm → org\.example\.herald\.demo\.android; project project-b: no provider;/,
    );
    const allowed = await checkConfig({
      apps: sandbox.apps(),
      walletconnect: { relay_public_key: relay.publicHex, allowed_tenants: ["project-a", "project-b"] },
    });
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.match(allowed.stdout, /no provider; projects project-a, project-b share them;/);
  });

  test("a tenant's provider naming the wrong app, or tenants beside allowed_tenants: exit 1 with the key", async () => {
    const wrongApp = await checkConfig({
      apps: sandbox.apps(),
      walletconnect: {
        relay_public_key: relay.publicHex,
        tenants: { "project-a": { providers: { apns: "org.example.missing" } } },
      },
    });
    assert.equal(wrongApp.code, 1);
    assert.match(
      wrongApp.stderr,
      /walletconnect\.tenants\.project-a\.providers\.apns: names the app 'org\.example\.missing', which is not configured under apps/,
    );
    const both = await checkConfig({
      apps: sandbox.apps(),
      walletconnect: { relay_public_key: relay.publicHex, tenants: { a: {} }, allowed_tenants: ["a"] },
    });
    assert.equal(both.code, 1);
    assert.match(both.stderr, /walletconnect\.allowed_tenants: cannot be used with walletconnect\.tenants/);
    const slash = await checkConfig({
      apps: sandbox.apps(),
      walletconnect: { relay_public_key: relay.publicHex, allowed_tenants: ["a/b"] },
    });
    assert.equal(slash.code, 1);
    assert.match(slash.stderr, /walletconnect\.allowed_tenants/);
  });

  test("a provider naming the wrong app: exit 1 with the key", async () => {
    const run = await checkConfig({
      apps: sandbox.apps(),
      walletconnect: { relay_public_key: relay.publicHex, providers: { fcm: SANDBOX_APPS.webpush } },
    });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /walletconnect\.providers\.fcm: the app '.*\.web' is of type webpush/);
  });
});

describe("answers that depend on the section", () => {
  let herald: Awaited<ReturnType<typeof startWalletConnectHerald>>;
  before(async () => {
    herald = await startWalletConnectHerald(sandbox, {
      validate_signatures: false,
      providers: { apns: SANDBOX_APPS.apns },
      store: sqlite("variant"),
    });
  });
  after(() => herald.stop());

  test("a type with no app: 400 provider_not_available, not currently available", async () => {
    const answer = await register(herald.url, { client_id: "c", type: "FCM", token: fcmToken() });
    const message = "The requested provider (fcm) is not currently available";
    assert.equal(answer.status, 400);
    assert.deepEqual(answer.body, {
      status: "FAILURE",
      errors: [{ name: "provider_not_available", message }],
      fields: [{ field: "provider", description: message, location: "body" }],
    });
  });

  test("noop without accept_noop: not a valid provider", async () => {
    const answer = await register(herald.url, { client_id: "c", type: "noop", token: "t" });
    assert.match(JSON.stringify(answer.body), /The requested provider \(noop\) is not a valid provider/);
  });

  test("validate_signatures: false: an unsigned relay message is pushed", async () => {
    const id = "unsigned-wallet";
    assert.deepEqual((await register(herald.url, { client_id: id, type: "apns", token: apnsToken() })).body, SUCCESS);
    const answer = await relayPush(
      herald.url,
      id,
      { id: "m1", payload: { topic: "t", flags: 1, blob: "b" } },
      undefined,
    );
    assert.equal(answer.status, 202);
  });
});

test("message ids are forgotten after message_ttl: the sweep deletes them, and the same message is pushed again", async () => {
  const registry = await openStore({ kind: "sqlite", path: join(dir, "sweep.sqlite3") });
  let now = Date.now();
  const service = new WalletConnectService({
    settings: {
      relayPublicKey: undefined,
      timestampWindow: 0,
      audiences: undefined,
      requireClientAuth: false,
      defaultTenant: { registryTenant: "", providers: new Map() },
      tenants: undefined,
      allowedTenants: undefined,
      acceptNoop: true,
      store: { kind: "sqlite", path: "" },
      messageTtl: 60,
      oneClientPerMessage: true,
    },
    registry,
    senders: new Map(),
    metrics: walletConnectMetrics(new Registry(), () => registry.countClients()),
    credentials: new CredentialHealth(new GatewayMetrics({ processMetrics: false }), createLogger("silent")),
    requestDeadline: 3,
    log: createLogger("silent"),
    now: () => now,
  });
  try {
    const log = createLogger("silent");
    const registration = Buffer.from(JSON.stringify({ client_id: "w", type: "noop", token: "t" }));
    await service.register(undefined, registration, undefined, log);
    const body = Buffer.from(JSON.stringify({ id: "m", payload: { topic: "t", flags: 1, blob: "b" } }));
    assert.equal((await service.push(undefined, "w", body, {}, log)).status, 202);
    assert.equal((await service.push(undefined, "w", body, {}, log)).status, 200);
    now += 30_000;
    assert.equal(await service.sweep(), 0);
    now += 31_000;
    assert.equal(await service.sweep(), 1);
    assert.equal((await service.push(undefined, "w", body, {}, log)).status, 202);
  } finally {
    await service.close();
  }
});
