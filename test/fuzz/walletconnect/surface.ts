/**
 * The WalletConnect surface (`/clients`): a Herald whose `walletconnect` section pushes apns, apns-sandbox and fcm to
 * the sandbox providers over real sockets, with a SQLite registry, the relay's key and a `public_url`, and five
 * properties: runs of registrations (with and without wallet JWTs of every kind), messages and unregistrations against
 * a model of the registry; forged JWTs against a client its key owns; registration bodies of any shape; relay bodies
 * of any shape, signed or not; requests of any HTTP shape. Every answer must be WalletConnect's, in its JSON shape or
 * with no body where the API has none.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { startSandbox, type Sandbox } from "../../../src/sandbox/index.js";
import { relaySignatureHeaders } from "../../../src/walletConnect/signature.js";
import { startTestHerald } from "../../helpers/herald.js";
import {
  apnsToken,
  ed25519Pair,
  sqliteStore,
  walletConnectSection,
  walletIdentity,
  type TestStore,
} from "../../walletconnect/helpers.js";
import { heraldProbes } from "../heraldTarget.js";
import { defineProperty, type FuzzSurface, type FuzzTarget } from "../harness.js";
import { httpRequests, isPlainHttp } from "../httpArbitraries.js";
import { checkAnswer } from "../invariants.js";
import { encodeJson, json } from "../json.js";
import { applyMutations } from "../jsonMutations.js";
import { sendRaw, showRequest, type RawAnswer, type RawRequest } from "../rawHttp.js";
import {
  ops,
  registration,
  registrationMutations,
  registrationTree,
  relayBody,
  relayMutations,
  signings,
  styles,
  type Authorization,
  type Op,
  type Signing,
} from "./arbitraries.js";
import { registrationAnswer, relayShapes } from "./expected.js";
import { forge, forgeries, jwtFor, PUBLIC_URL, type Wallet } from "./jwts.js";
import { CLIENTS_PATH, MAX_BODY_BYTES, RegistryModel, type Auth, type Expected, type PushType } from "./model.js";

const relay = ed25519Pair();

interface WalletConnectTarget extends FuzzTarget {
  sandbox: Sandbox;
}

async function startWalletConnectTarget(): Promise<WalletConnectTarget> {
  const sandbox = await startSandbox();
  const store: TestStore = sqliteStore();
  const herald = await startTestHerald(
    {
      request_deadline: 5,
      apps: sandbox.apps(),
      walletconnect: walletConnectSection(relay, store, { public_url: PUBLIC_URL }),
    },
    {},
    // Warnings and errors only: at 100,000 runs the access log would fill the memory.
    { logLevel: "warn" },
  );
  return {
    ...heraldProbes(herald),
    sandbox,
    async stop() {
      await herald.stop();
      await Promise.all([sandbox.close(), store.drop()]);
    },
  };
}

/** Each run names its clients, tokens and messages afresh, so that runs do not meet in the registry. */
let runs = 0;
const runPrefix = () => `fz${++runs}-${process.pid}-`;
const tokenOf = (prefix: string, n: number) => createHash("sha256").update(`${prefix}token${n}`).digest("hex");

function request(method: string, target: string, body: Uint8Array, headers: Record<string, string> = {}): RawRequest {
  return {
    method,
    target,
    version: "HTTP/1.1",
    headers: [["Host", "localhost"], ["Content-Type", "application/json"], ...Object.entries(headers)],
    body,
    framing: { kind: "length" },
    pauses: [],
  };
}

const encoder = new TextEncoder();
const clientPath = (id: string) => `${CLIENTS_PATH}/${encodeURIComponent(id)}`;

/** The relay's headers for the body, as signed or broken as `signing` says. */
function signed(body: Uint8Array, signing: Signing): Record<string, string> {
  const now = signing === "stale" ? Date.now() - 3_600_000 : Date.now();
  const headers = relaySignatureHeaders(signing === "other-body" ? encoder.encode("{}x") : body, relay.privateKey, now);
  if (signing === "not-hex") headers["X-Ed25519-Signature"] = `zz${headers["X-Ed25519-Signature"]!.slice(2)}`;
  if (signing === "no-signature" || signing === "neither") delete headers["X-Ed25519-Signature"];
  if (signing === "no-timestamp" || signing === "neither") delete headers["X-Ed25519-Timestamp"];
  return headers;
}

const SIGNATURE_FIELDS: Record<Signing, string[]> = {
  signed: [],
  "no-signature": ["X-Ed25519-Signature"],
  "no-timestamp": ["X-Ed25519-Timestamp"],
  neither: ["X-Ed25519-Signature", "X-Ed25519-Timestamp"],
  "other-body": ["X-Ed25519-Signature", "X-Ed25519-Timestamp"],
  "not-hex": ["X-Ed25519-Signature", "X-Ed25519-Timestamp"],
  stale: ["X-Ed25519-Signature", "X-Ed25519-Timestamp"],
};

interface Body {
  status?: unknown;
  errors?: { name?: unknown; message?: unknown }[] | null;
  fields?: { field?: unknown; description?: unknown; location?: unknown }[] | null;
}

/** WalletConnect's shape: no body, SUCCESS with null errors and fields, or FAILURE with errors and fields listed. */
function checkShape(answer: RawAnswer): Body | undefined {
  if (answer.body.length === 0) return undefined;
  assert.match(answer.headers["content-type"] ?? "", /^application\/json\b/, `a ${answer.status} that is not JSON`);
  const body = JSON.parse(answer.body.toString("utf8")) as Body;
  if (body.status === "SUCCESS") {
    assert.deepEqual(body, { status: "SUCCESS", errors: null, fields: null });
    return body;
  }
  assert.equal(body.status, "FAILURE", `a body that is neither SUCCESS nor FAILURE: ${answer.body.toString("utf8")}`);
  assert.ok(Array.isArray(body.errors) && body.errors.length > 0, "a FAILURE without errors");
  for (const error of body.errors) assert.ok(typeof error.name === "string" && typeof error.message === "string");
  assert.ok(Array.isArray(body.fields), "a FAILURE without fields");
  for (const field of body.fields) {
    assert.ok(typeof field.field === "string" && typeof field.description === "string");
    assert.ok(
      ["body", "header", "path", "unknown"].includes(String(field.location)),
      `location ${String(field.location)}`,
    );
  }
  return body;
}

/** The answer is the expected one: its status, and SUCCESS, no body, or the first error's name and field. */
function assertExpected(answer: RawAnswer, expected: Expected, what: string): Body | undefined {
  const got = `${answer.status} ${JSON.stringify(answer.body.toString("utf8").slice(0, 300))}`;
  assert.equal(answer.outcome, "answered", `${what}: no answer`);
  assert.equal(answer.status, expected.status, `${what}: expected ${JSON.stringify(expected)}, got ${got}`);
  const body = checkShape(answer);
  if (expected.body === "none") assert.equal(body, undefined, `${what}: expected no body, got ${got}`);
  else if (expected.body === "SUCCESS") assert.equal(body?.status, "SUCCESS", `${what}: expected SUCCESS, got ${got}`);
  else {
    assert.equal(body?.errors?.[0]?.name, expected.body.error, `${what}: expected ${expected.body.error}, got ${got}`);
    if (expected.body.field !== undefined)
      assert.equal(body?.fields?.[0]?.field, expected.body.field, `${what}: ${got}`);
  }
  return body;
}

async function send(target: FuzzTarget, req: RawRequest): Promise<RawAnswer> {
  const answer = await sendRaw(target.port, req);
  // After a 413 the rest of a body over the limit is not read: the connection may close before the answer is read.
  const drop = req.body.length > MAX_BODY_BYTES;
  checkAnswer(req, answer, { drop, shapes: { 400: "any", 401: "any", 405: "any", 413: "any" } });
  return answer;
}

/** A body over the limit is answered 413 before anything else is looked at, or its connection closed. */
function checkTooLarge(answer: RawAnswer): void {
  if (answer.outcome !== "answered") return;
  assertExpected(answer, { status: 413, body: { error: "body" } }, "a body over 1 MiB");
}

/** Pushes a fresh message to a client the model says is registered; it must reach the provider with its token. */
async function pushTo(target: WalletConnectTarget, id: string, type: PushType, token: string, alwaysRaw: boolean) {
  const { sandbox } = target;
  sandbox.apns.reset();
  sandbox.fcm.reset();
  const text = `${runPrefix()}fresh`;
  const body = encoder.encode(JSON.stringify(relayBody(text, alwaysRaw, !alwaysRaw)));
  const answer = await send(target, request("POST", clientPath(id), body, signed(body, "signed")));
  // A token the provider cannot take is dead: the client is deleted, as documented.
  const dead = answer.status === 202 && answer.body.length > 0;
  if (dead) {
    assertExpected(
      answer,
      { status: 202, body: { error: "client_deleted" } },
      `push to ${type} ${JSON.stringify(token)}`,
    );
    return;
  }
  assertExpected(answer, { status: 202, body: "none" }, `push to a registered ${type} client`);
  if (type === "apns" || type === "apns-sandbox") assert.equal(sandbox.apns.received[0]?.token, token);
  if (type === "fcm") assert.equal(sandbox.fcm.received[0]?.token, token);
}

const registry = defineProperty<Op[]>({
  name: "runs of registrations, relay messages and unregistrations leave the registry the model's",
  ciRuns: 60,
  arbitrary: ops,
  show: (list) => JSON.stringify(list),
  async check(target, list) {
    const wc = target as WalletConnectTarget;
    const prefix = runPrefix();
    const model = new RegistryModel();
    // Each client id is a wallet's did:key, so that it can sign its own JWTs; ids and keys are new each run.
    const wallets = [0, 1, 2].map(() => walletIdentity());
    const stranger = walletIdentity();
    const walletOf = new Map(wallets.map((wallet) => [wallet.clientId, wallet]));
    for (const [i, op] of list.entries()) {
      const wallet = wallets[op.client]!;
      const id = wallet.clientId;
      const pathId = op.did ? `did:key:${id}` : id;
      const what = `op ${i} ${JSON.stringify(op)}`;
      wc.sandbox.apns.reset();
      wc.sandbox.fcm.reset();
      if (op.kind === "register") {
        const token = tokenOf(prefix, op.token);
        const body = encodeJson(registrationTree(pathId, op.type, token, op.alwaysRaw));
        const answer = await send(target, request("POST", CLIENTS_PATH, body, authHeader(op.auth, wallet, stranger)));
        const type = op.type.toLowerCase() as PushType;
        const expected = model.register(id, { type, token, alwaysRaw: op.alwaysRaw === true }, modelAuth(op.auth));
        assertExpected(answer, expected, what);
      } else if (op.kind === "unregister") {
        const headers = authHeader(op.auth, wallet, stranger);
        const answer = await send(target, request("DELETE", clientPath(pathId), new Uint8Array(), headers));
        assertExpected(answer, model.unregister(id, modelAuth(op.auth)), what);
      } else {
        const text = `${prefix}m${op.message}`;
        const body = encoder.encode(JSON.stringify(relayBody(text, op.raw, op.legacy)));
        const answer = await send(target, request("POST", clientPath(pathId), body, signed(body, "signed")));
        const expected = model.push(id, { raw: op.raw ? text : undefined, legacy: op.legacy ? text : undefined });
        assertExpected(answer, expected, what);
        const sent = expected.sentTo;
        if (sent?.type === "apns" || sent?.type === "apns-sandbox") {
          assert.equal(wc.sandbox.apns.received[0]?.token, sent.token, `${what}: APNs got the client's token`);
        } else if (sent?.type === "fcm") {
          assert.equal(wc.sandbox.fcm.received[0]?.token, sent.token, `${what}: FCM got the client's token`);
        } else {
          assert.equal(wc.sandbox.apns.received.length + wc.sandbox.fcm.received.length, 0, `${what}: nothing sent`);
        }
      }
    }
    // Every client the model holds can be pushed to, with the token it holds now (no request that failed to
    // authenticate took it); then it is unregistered, with its own JWT.
    for (const [id, client] of model.clients) {
      await pushTo(wc, id, client.type, client.token, client.alwaysRaw);
      const headers = authHeader("own", walletOf.get(id)!, stranger);
      assertExpected(
        await send(target, request("DELETE", clientPath(id), new Uint8Array(), headers)),
        model.unregister(id, "own"),
        "unregister",
      );
    }
  },
});

/** The `Authorization` header of a request, if any. */
function authHeader(auth: Authorization, wallet: Wallet, stranger: Wallet): Record<string, string> {
  return auth === "none" ? {} : { Authorization: jwtFor(auth, wallet, stranger) };
}

const modelAuth = (auth: Authorization): Auth => (auth === "none" ? "none" : auth === "own" ? "own" : "invalid");

/** A forged header longer than this is cut: the whole request head must stay under Node's 16 KiB. */
const MAX_FORGED_HEADER = 8192;

const forgedJwts = defineProperty({
  name: "no forged JWT registers, deletes, or takes the token of a client its key owns",
  ciRuns: 60,
  arbitrary: fc.tuple(forgeries, forgeries),
  show: (value) => JSON.stringify(value),
  async check(target, [onRegister, onDelete]) {
    const wc = target as WalletConnectTarget;
    const [victim, attacker] = [walletIdentity(), walletIdentity()];
    const token = apnsToken();
    const own = authHeader("own", victim, attacker);
    const registration = (id: string, held: string) =>
      encodeJson(registrationTree(`did:key:${id}`, "apns", held, false));
    assertExpected(
      await send(target, request("POST", CLIENTS_PATH, registration(victim.clientId, token), own)),
      { status: 200, body: "SUCCESS" },
      "the victim registers with its own JWT",
    );
    const forged = (forgery: typeof onRegister) => ({
      Authorization: forge(forgery, victim, attacker).slice(0, MAX_FORGED_HEADER),
    });
    const refused: Expected = { status: 401, body: { error: "authentication", field: "authorization" } };
    const takeover = registration(victim.clientId, apnsToken());
    assertExpected(
      await send(target, request("POST", CLIENTS_PATH, takeover, forged(onRegister))),
      refused,
      "re-registering the victim with a forged JWT",
    );
    assertExpected(
      await send(target, request("DELETE", clientPath(victim.clientId), new Uint8Array(), forged(onDelete))),
      refused,
      "deleting the victim with a forged JWT",
    );
    // The attacker's own valid JWT, for its own id, cannot take the victim's token either.
    assertExpected(
      await send(
        target,
        request("POST", CLIENTS_PATH, registration(attacker.clientId, token), authHeader("own", attacker, victim)),
      ),
      { status: 409, body: { error: "token_owned", field: "token" } },
      "registering the victim's token under the attacker's id",
    );
    await pushTo(wc, victim.clientId, "apns", token, false);
    assertExpected(
      await send(target, request("DELETE", clientPath(victim.clientId), new Uint8Array(), own)),
      { status: 200, body: "SUCCESS" },
      "the victim unregisters with its own JWT",
    );
  },
});

const replays = defineProperty({
  name: "one signed relay message posted to several clients is pushed to the first that can take it, and no other",
  ciRuns: 40,
  arbitrary: fc.tuple(
    fc.array(fc.boolean(), { minLength: 2, maxLength: 4 }),
    fc.boolean(),
    fc.boolean(),
    fc.array(fc.nat({ max: 3 }), { minLength: 2, maxLength: 8 }),
  ),
  show: (value) => JSON.stringify(value),
  async check(target, [rawClients, raw, legacy, posts]) {
    const prefix = runPrefix();
    const model = new RegistryModel();
    const ids = rawClients.map((_, i) => `${prefix}r${i}`);
    for (const [i, id] of ids.entries()) {
      const body = encodeJson(registrationTree(id, "noop", tokenOf(prefix, i), rawClients[i]));
      const client = { type: "noop" as const, token: tokenOf(prefix, i), alwaysRaw: rawClients[i]! };
      assertExpected(await send(target, request("POST", CLIENTS_PATH, body)), model.register(id, client), "register");
    }
    // Signed once: every post is the same request, as a replay is.
    const text = `${prefix}m`;
    const body = encoder.encode(JSON.stringify(relayBody(text, raw, legacy)));
    const headers = signed(body, "signed");
    for (const post of posts) {
      const id = ids[post % ids.length]!;
      const answer = await send(target, request("POST", clientPath(id), body, headers));
      assertExpected(answer, model.push(id, { raw: raw ? text : undefined, legacy: legacy ? text : undefined }), id);
    }
    for (const id of ids) await send(target, request("DELETE", clientPath(id), new Uint8Array()));
  },
});

const registrations = defineProperty({
  name: "any registration body gets WalletConnect's documented answer; a registered client can be pushed to",
  ciRuns: 150,
  arbitrary: fc.tuple(registration, registrationMutations, styles),
  show: ([reg, list, style]) =>
    showRequest(
      request(
        "POST",
        CLIENTS_PATH,
        encodeJson(applyMutations(registrationTree("did:key:fz-id", reg.type, "t0k3n", reg.alwaysRaw), list), style),
      ),
    ),
  async check(target, [reg, list, style]) {
    const prefix = runPrefix();
    const tree = registrationTree(
      `${reg.did ? "did:key:" : ""}${prefix}id`,
      reg.type,
      tokenOf(prefix, 0),
      reg.alwaysRaw,
    );
    const body = encodeJson(applyMutations(tree, list), style);
    const expected = registrationAnswer(body);
    const answer = await send(target, request("POST", CLIENTS_PATH, body));
    if (body.length > MAX_BODY_BYTES) return checkTooLarge(answer);
    assertExpected(answer, expected, "registration");
    const registered = expected.registered;
    if (registered === undefined) return;
    const type = registered.type as PushType;
    await pushTo(target as WalletConnectTarget, registered.id, type, registered.token, registered.alwaysRaw);
    assertExpected(
      await send(target, request("DELETE", clientPath(registered.id), new Uint8Array())),
      { status: 200, body: "SUCCESS" },
      "unregister",
    );
    // An unregistered client is no client: its messages are accepted and go nowhere.
    const again = encoder.encode(JSON.stringify(relayBody(`${prefix}after`, true, true)));
    const answer2 = await send(target, request("POST", clientPath(registered.id), again, signed(again, "signed")));
    assertExpected(answer2, { status: 202, body: "SUCCESS" }, "a message to an unregistered client");
  },
});

const relayBodies = defineProperty({
  name: "any relay body, signed or not, gets WalletConnect's documented answer",
  ciRuns: 100,
  arbitrary: fc.tuple(
    fc.constantFrom("raw", "legacy", "unknown"),
    fc.boolean(),
    fc.boolean(),
    relayMutations,
    styles,
    signings,
  ),
  show: ([, raw, legacy, list, style]) =>
    showRequest(
      request("POST", "/clients/<id>", encodeJson(applyMutations(json.from(relayBody("m", raw, legacy)), list), style)),
    ),
  async check(target, [client, raw, legacy, list, style, signing]) {
    const prefix = runPrefix();
    const id = `${prefix}relay`;
    if (client !== "unknown") {
      const reg = encodeJson(registrationTree(id, "noop", tokenOf(prefix, 0), client === "raw"));
      assertExpected(
        await send(target, request("POST", CLIENTS_PATH, reg)),
        { status: 200, body: "SUCCESS" },
        "register",
      );
    }
    const body = encodeJson(applyMutations(json.from(relayBody(`${prefix}m`, raw, legacy)), list), style);
    const answer = await send(target, request("POST", clientPath(id), body, signed(body, signing)));
    if (body.length > MAX_BODY_BYTES) return checkTooLarge(answer);
    let expected: Expected;
    if (signing !== "signed") expected = { status: 401, body: { error: "webhook_validation_failed" } };
    else {
      const shapes = relayShapes(body);
      if (shapes === undefined) expected = { status: 400, body: { error: "decode" } };
      else {
        const model = new RegistryModel();
        if (client !== "unknown") model.register(id, { type: "noop", token: "t", alwaysRaw: client === "raw" });
        expected = model.push(id, shapes);
      }
    }
    const shown = assertExpected(answer, expected, "relay message");
    if (signing !== "signed")
      assert.deepEqual(
        shown?.fields?.map((f) => f.field),
        SIGNATURE_FIELDS[signing],
      );
    if (client !== "unknown") {
      assertExpected(
        await send(target, request("DELETE", clientPath(id), new Uint8Array())),
        { status: 200, body: "SUCCESS" },
        "unregister",
      );
    }
  },
});

const OTHER_PATHS = ["/clients/", "/clients/a/b", "/client", "/Clients"];

const http = defineProperty({
  name: "a request of any shape gets an answer: never a 5xx, a 4xx in WalletConnect's shape or plain text",
  ciRuns: 150,
  arbitrary: httpRequests({
    paths: [CLIENTS_PATH, `${CLIENTS_PATH}/fz-http`, `${CLIENTS_PATH}/did%3Akey%3Afz-http`, ...OTHER_PATHS],
    contentTypes: ["application/json"],
    bodies: fc
      .tuple(registration, fc.option(registrationMutations, { nil: undefined }), styles)
      .map(([reg, list, style]) => {
        const tree = registrationTree("did:key:fz-http", reg.type, "fz-http-token", reg.alwaysRaw);
        return encodeJson(list ? applyMutations(tree, list) : tree, style);
      }),
    bytes: (b) => b,
  }),
  show: ({ request: req }) => showRequest(req),
  async check(target, { request: req }) {
    const answer = await sendRaw(target.port, req);
    const declared = req.framing.kind === "length" ? Number(req.framing.declared) : NaN;
    checkAnswer(req, answer, {
      drop: req.body.length > MAX_BODY_BYTES || declared > MAX_BODY_BYTES,
      shapes: { 400: "any", 401: "any", 405: "any", 413: "any" },
    });
    if (answer.outcome !== "answered" || !isPlainHttp(req) || req.method === "HEAD") return;
    const path = req.target.split("?")[0]!;
    if (!/^\/clients(\/[^/]+)?$/.test(path)) return;
    checkShape(answer);
    // Without Authorization: a header, even an empty one, must authenticate the client (401 otherwise).
    const authorized = req.headers.some(([name]) => name.toLowerCase() === "authorization");
    if (req.method === "POST" && path === CLIENTS_PATH && !authorized) {
      assertExpected(answer, registrationAnswer(req.body), "registration");
    }
  },
});

export const walletConnectSurface: FuzzSurface = {
  name: "walletconnect",
  start: startWalletConnectTarget,
  properties: [registry, replays, forgedJwts, registrations, relayBodies, http],
};
