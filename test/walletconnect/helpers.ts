/**
 * What the WalletConnect suites share: a relay key that signs as the relay does, a Herald whose `walletconnect`
 * section sends to the sandbox, the registries to run against (SQLite always, PostgreSQL when
 * `HERALD_TEST_DATABASE_URL` names a database, its tests skipped otherwise), and requests to the API.
 */
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { SANDBOX_APPS, type Sandbox } from "../../src/sandbox/index.js";
import { didKeyOf } from "../../src/walletConnect/clientAuth.js";
import { relaySignatureHeaders } from "../../src/walletConnect/signature.js";
import { rawRequest, startTestHerald, type RawResponse, type TestHerald } from "../helpers/herald.js";
import { postgres, unless } from "../helpers/services.js";

export interface Ed25519Pair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The 32 public key bytes in hex, as `relay_public_key` takes them. */
  publicHex: string;
}

export function ed25519Pair(): Ed25519Pair {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const x = publicKey.export({ format: "jwk" }).x!;
  return { privateKey, publicKey, publicHex: Buffer.from(x, "base64url").toString("hex") };
}

/** A wallet's client key, and its id (a did:key). */
export function walletIdentity(): Ed25519Pair & { did: string; clientId: string } {
  const pair = ed25519Pair();
  const did = didKeyOf(Buffer.from(pair.publicHex, "hex"));
  return { ...pair, did, clientId: did.slice("did:key:".length) };
}

/** The JWT a wallet sends as `Authorization`, signed with its client key; `claims` override the defaults. */
export function walletJwt(wallet: ReturnType<typeof walletIdentity>, claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const message = `${encode({ typ: "JWT", alg: "EdDSA" })}.${encode({
    iss: wallet.did,
    aud: "https://push.example.org",
    sub: randomBytes(16).toString("hex"),
    iat: now,
    exp: now + 3600,
    ...claims,
  })}`;
  return `${message}.${sign(null, Buffer.from(message), wallet.privateKey).toString("base64url")}`;
}

/** A registry for one Herald, and how to remove it afterwards. */
export interface TestStore {
  config: Record<string, unknown>;
  drop(): Promise<void>;
}

export interface StoreKind {
  name: string;
  /** Why this registry's tests cannot run here, or false. */
  missing: string | false;
  create(): TestStore;
}

/** A new SQLite registry in a directory of its own. */
export function sqliteStore(): TestStore {
  const directory = mkdtempSync(join(tmpdir(), "herald-wc-"));
  return {
    config: { type: "sqlite", path: join(directory, "registry.sqlite3") },
    drop: async () => rmSync(directory, { recursive: true, force: true }),
  };
}

export const SQLITE: StoreKind = { name: "SQLite", missing: false, create: sqliteStore };

/** SQLite always; PostgreSQL when `HERALD_TEST_DATABASE_URL` is set, its tests skipped (saying why) when not. */
export function storeKinds(): StoreKind[] {
  const { url, missing } = postgres();
  return [
    SQLITE,
    {
      name: "PostgreSQL",
      missing,
      create() {
        const schema = `herald_wc_${randomBytes(6).toString("hex")}`;
        return {
          config: { type: "postgres", url, schema },
          async drop() {
            const admin = new pg.Client({ connectionString: url });
            await admin.connect();
            await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
            await admin.end();
          },
        };
      },
    },
  ];
}

/**
 * A `walletconnect` section that sends apns and apns-sandbox to the sandbox APNs, fcm to the sandbox FCM. Its
 * per-address limit is off: the suites register hundreds of clients from one address (the limit has its own tests,
 * test/walletconnect/rateLimits.test.ts).
 */
export function walletConnectSection(relay: Ed25519Pair, store: TestStore, extra: Record<string, unknown> = {}) {
  return {
    relay_public_key: relay.publicHex,
    providers: { apns: SANDBOX_APPS.apns, "apns-sandbox": SANDBOX_APPS.apns, fcm: SANDBOX_APPS.fcm },
    accept_noop: true,
    store: store.config,
    rate_limits: { per_address: { requests: 0 } },
    ...extra,
  };
}

export async function startWalletConnectHerald(
  sandbox: Sandbox,
  walletconnect: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<TestHerald> {
  return startTestHerald({
    request_deadline: 3,
    metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: 0 } },
    apps: sandbox.apps(),
    walletconnect,
    ...extra,
  });
}

/**
 * The Herald the tests of the enclosing suite share, with `walletconnect(store)` as its section on a new registry of
 * `kind`: started before them, stopped after them and its registry removed. The object returned is filled in once the
 * Herald has started. With it, the suite's `test`, `before` and `after`: where the registry is not available here, its
 * tests are reported skipped, saying why, and no hook runs.
 */
export function walletConnectSuite(
  sandbox: Sandbox,
  kind: StoreKind,
  walletconnect: (store: TestStore) => Record<string, unknown>,
  extra: Record<string, unknown> = {},
): ReturnType<typeof unless> & { herald: TestHerald } {
  const suite = unless(kind.missing);
  const herald = {} as TestHerald;
  let store: TestStore | undefined;
  suite.before(async () => {
    store = kind.create();
    Object.assign(herald, await startWalletConnectHerald(sandbox, walletconnect(store), extra));
  });
  suite.after(async () => {
    // Whatever started: a Herald that failed to start leaves its registry behind all the same.
    if (herald.stop) await herald.stop();
    await store?.drop();
  });
  return { ...suite, herald };
}

export interface Answer {
  status: number;
  body: unknown;
  text: string;
  headers: RawResponse["headers"];
}

function answerOf(response: RawResponse): Answer {
  let body: unknown;
  try {
    body = response.body === "" ? undefined : JSON.parse(response.body);
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text: response.body, headers: response.headers };
}

/** `/clients`, or a project's `/{project}/clients`. */
function clientsPath(project: string | undefined): string {
  return project === undefined ? "/clients" : `/${encodeURIComponent(project)}/clients`;
}

export async function register(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
  project?: string,
): Promise<Answer> {
  return answerOf(
    await rawRequest(url, {
      method: "POST",
      path: clientsPath(project),
      body: typeof body === "string" ? body : JSON.stringify(body),
      headers: { "content-type": "application/json", ...headers },
    }),
  );
}

export async function unregister(
  url: string,
  id: string,
  headers: Record<string, string> = {},
  project?: string,
): Promise<Answer> {
  const path = `${clientsPath(project)}/${encodeURIComponent(id)}`;
  return answerOf(await rawRequest(url, { method: "DELETE", path, headers }));
}

/**
 * A relay message, signed with `relay` (undefined: unsigned); `headers` are added last, so they can replace or
 * (with an empty name list in `omit`) drop the signature headers.
 */
export async function relayPush(
  url: string,
  id: string,
  body: unknown,
  relay: Ed25519Pair | undefined,
  options: { headers?: Record<string, string>; omit?: string[]; nowMs?: number; project?: string } = {},
): Promise<Answer> {
  const bytes = Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  const signature = relay ? relaySignatureHeaders(bytes, relay.privateKey, options.nowMs ?? Date.now()) : {};
  const headers: Record<string, string> = { "content-type": "application/json", ...signature, ...options.headers };
  for (const name of options.omit ?? []) delete headers[name];
  return answerOf(
    await rawRequest(url, {
      method: "POST",
      path: `${clientsPath(options.project)}/${encodeURIComponent(id)}`,
      body: bytes,
      headers,
    }),
  );
}

let counter = 0;
/** A 64-hex-digit APNs token, different each call. */
export function apnsToken(): string {
  return `a11ce${randomBytes(4).toString("hex")}${String(++counter).padStart(51, "0")}`;
}

export function fcmToken(): string {
  return `fcm-wc-${randomBytes(6).toString("hex")}-${++counter}`;
}

export const SUCCESS = { status: "SUCCESS", errors: null, fields: null };
