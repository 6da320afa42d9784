/**
 * The /notify surface: a Herald whose apps are the test pushkin (one exact key, two overlapping globs), so nothing
 * leaves the machine, and five properties from the most structured bodies to the least structured requests.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { startTestHerald, testApp } from "../../helpers/herald.js";
import { heraldProbes } from "../heraldTarget.js";
import { defineProperty, type FuzzSurface, type FuzzTarget } from "../harness.js";
import { httpRequests, isPlainHttp } from "../httpArbitraries.js";
import { checkAnswer } from "../invariants.js";
import { anyJson, concat, encodeJson, json, type JsonNode } from "../json.js";
import { applyMutation, applyMutations, type PathStep } from "../jsonMutations.js";
import { sendRaw, showRequest, type RawAnswer, type RawRequest } from "../rawHttp.js";
import { isScriptedPushkey, notifyMutations, styledValidNotification, type Document } from "./arbitraries.js";
import {
  APP_KEYS,
  MAX_BODY_BYTES,
  MESSAGES,
  NOTIFY_PATH,
  expectedAnswers,
  rejectedBody,
  type Expected,
} from "./model.js";

async function startNotifyTarget(): Promise<FuzzTarget> {
  const apps = Object.fromEntries(APP_KEYS.map((key) => [key, testApp()]));
  // Warnings and errors only: at 100,000 runs the access log would fill the memory.
  // x_forwarded_for: the access log then reads X-Forwarded-For, which the requests fill with anything.
  const config = { apps, log: { access: { x_forwarded_for: true } } };
  const herald = await startTestHerald(config, {}, { logLevel: "warn" });
  return {
    ...heraldProbes(herald),
    stop: () => herald.stop(),
  };
}

/** A plain, well-framed POST of the bytes to /notify. */
function notifyRequest(body: Uint8Array): RawRequest {
  return {
    method: "POST",
    target: NOTIFY_PATH,
    version: "HTTP/1.1",
    headers: [
      ["Host", "localhost"],
      ["Content-Type", "application/json"],
    ],
    body,
    framing: { kind: "length" },
    pauses: [],
  };
}

/** The 200's served pushkeys must not script the test pushkin into failing: such a case is skipped. */
function skipScripted(answers: Expected[]): void {
  const first = answers[0]!;
  fc.pre(first.status !== 200 || !first.served.some(({ pushkey }) => isScriptedPushkey(pushkey)));
}

/** Sends the body and checks the answer against the model, and every answer invariant. */
async function checkNotify(target: FuzzTarget, tree: JsonNode | undefined, request: RawRequest): Promise<void> {
  const answers = tree === undefined ? undefined : expectedAnswers(tree, request.body.length);
  if (answers) skipScripted(answers);
  const answer = await sendRaw(target.port, request);
  checkAnswer(request, answer, {
    drop: request.body.length > MAX_BODY_BYTES,
    serverError: (a) => a.status === 503 && answers?.some((e) => e.status === 503) === true,
  });
  if (answers) assertOneOf(answer, answers);
}

function assertOneOf(answer: RawAnswer, answers: Expected[]): void {
  if (answer.outcome !== "answered") return; // a permitted drop, already judged
  const failures = answers.map((expected) => mismatch(answer, expected));
  if (failures.every((f) => f !== undefined)) assert.fail(failures.join("\n  or: "));
}

function mismatch(answer: RawAnswer, expected: Expected): string | undefined {
  const body = answer.body.toString("utf8");
  const got = `${answer.status} ${JSON.stringify(body.slice(0, 300))}`;
  if (answer.status !== expected.status) return `expected ${describe(expected)}, got ${got}`;
  if (expected.status === 400 && body !== expected.message) return `expected ${describe(expected)}, got ${got}`;
  if (expected.status === 200) {
    if (!/^application\/json\b/.test(answer.headers["content-type"] ?? "")) return "a 200 that is not application/json";
    if (body !== rejectedBody(expected.rejected))
      return `expected the body ${rejectedBody(expected.rejected).slice(0, 300)}, got ${got}`;
  }
  return undefined;
}

function describe(expected: Expected): string {
  if (expected.status === 400) return `400 ${JSON.stringify(expected.message)}`;
  if (expected.status === 200) return `200 rejecting ${JSON.stringify(expected.rejected).slice(0, 200)}`;
  return String(expected.status);
}

const showBody = (body: Uint8Array) => showRequest(notifyRequest(body));

const valid = defineProperty<Document>({
  name: "a valid notification is answered 200, rejecting exactly the devices no app serves, in order",
  ciRuns: 100,
  arbitrary: styledValidNotification,
  show: ({ tree, style }) => showBody(encodeJson(tree, style)),
  async check(target, { tree, style }) {
    const body = encodeJson(tree, style);
    fc.pre(body.length <= MAX_BODY_BYTES);
    const answers = expectedAnswers(tree, body.length);
    assert.equal(answers[0]!.status, 200, "the arbitrary made a notification the model refuses");
    await checkNotify(target, tree, notifyRequest(body));
  },
});

const nearlyValid = defineProperty({
  name: "a nearly valid notification gets Sygnal's answer (the model's status and message)",
  ciRuns: 250,
  arbitrary: fc.tuple(styledValidNotification, notifyMutations),
  show: ([{ tree, style }, mutations]) => showBody(encodeJson(applyMutations(tree, mutations), style)),
  async check(target, [{ tree, style }, mutations]) {
    const mutated = applyMutations(tree, mutations);
    await checkNotify(target, mutated, notifyRequest(encodeJson(mutated, style)));
  },
});

/** Where an arbitrary JSON value goes in: the whole body, or the value of a checked field. */
const POSITIONS: PathStep[][] = [
  [],
  ["notification"],
  ["notification", "devices"],
  ["notification", "devices", 0],
  ["notification", "devices", 0, "app_id"],
  ["notification", "devices", 0, "pushkey"],
  ["notification", "devices", 0, "tweaks"],
  ["notification", "counts"],
];

const jsonValues = defineProperty({
  name: "any JSON value in any checked position gets Sygnal's answer",
  ciRuns: 100,
  arbitrary: fc.tuple(
    styledValidNotification,
    fc.constantFrom(...POSITIONS),
    fc.oneof(
      anyJson({ maxDepth: 4, keys: ["notification", "devices", "app_id", "pushkey", "counts"] }),
      fc.jsonValue().map(json.from),
    ),
  ),
  show: ([{ tree, style }, path, value]) =>
    showBody(encodeJson(applyMutation(tree, { target: { path }, edit: { kind: "replace", with: value } }), style)),
  async check(target, [{ tree, style }, path, value]) {
    const placed = applyMutation(tree, { target: { path }, edit: { kind: "replace", with: value } });
    await checkNotify(target, placed, notifyRequest(encodeJson(placed, style)));
  },
});

const INVALID_UTF8 = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf0, 0x9f], [0x80, 0x80]];

/** Bodies that are surely no JSON, made from valid ones; and bytes of any kind. */
const notJson: fc.Arbitrary<{ bytes: Uint8Array; surelyBroken: boolean }> = fc.oneof(
  fc
    .tuple(
      styledValidNotification,
      fc.nat(),
      fc.constantFrom("truncate", "bom", "trailing", "utf8"),
      fc.constantFrom(...INVALID_UTF8),
      fc.constantFrom("x", "}", ",", "\u0000", "]", "{}"),
    )
    .map(([{ tree, style }, n, how, badBytes, trailer]) => {
      const bytes = encodeJson(tree, style);
      const lastBrace = bytes.lastIndexOf(0x7d);
      const broken =
        how === "truncate"
          ? bytes.subarray(0, n % (lastBrace + 1))
          : how === "bom"
            ? concat([Uint8Array.from([0xef, 0xbb, 0xbf]), bytes])
            : how === "trailing"
              ? concat([bytes, new TextEncoder().encode(trailer)])
              : concat([
                  bytes.subarray(0, n % (bytes.length + 1)),
                  Uint8Array.from(badBytes),
                  bytes.subarray(n % (bytes.length + 1)),
                ]);
      return { bytes: broken, surelyBroken: true };
    }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => ({ bytes, surelyBroken: false })),
  fc
    .string({ unit: "binary", maxLength: 300 })
    .map((s) => ({ bytes: new TextEncoder().encode(s), surelyBroken: false })),
);

const ALL_MESSAGES = new Set<string>(Object.values(MESSAGES));

const bytes = defineProperty({
  name: "bytes that are no JSON are answered 400 'Expected JSON request body'",
  ciRuns: 100,
  arbitrary: notJson,
  show: ({ bytes: body }) => showBody(body),
  async check(target, { bytes: body, surelyBroken }) {
    const request = notifyRequest(body);
    const answer = await sendRaw(target.port, request);
    const tooLarge = body.length > MAX_BODY_BYTES;
    checkAnswer(request, answer, { drop: tooLarge });
    if (answer.outcome !== "answered") return;
    assert.equal(answer.status, tooLarge ? 413 : 400, `expected ${tooLarge ? 413 : 400}, got ${answer.status}`);
    if (tooLarge) return;
    const text = answer.body.toString("utf8");
    if (surelyBroken) assert.equal(text, MESSAGES.notJson);
    else assert.ok(ALL_MESSAGES.has(text), `a 400 that is none of Sygnal's messages: ${text}`);
  },
});

/** Bodies for the HTTP property: valid, nearly valid, near the size limit, or any bytes. */
const httpBodies: fc.Arbitrary<{ tree?: JsonNode; bytes: Uint8Array }> = fc.oneof(
  {
    weight: 4,
    arbitrary: styledValidNotification.map(({ tree, style }) => ({ tree, bytes: encodeJson(tree, style) })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(styledValidNotification, notifyMutations).map(([{ tree, style }, mutations]) => {
      const mutated = applyMutations(tree, mutations);
      return { tree: mutated, bytes: encodeJson(mutated, style) };
    }),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(styledValidNotification, fc.integer({ min: -3, max: 3 })).map(([{ tree, style }, delta]) => {
      const bytes = encodeJson(tree, style);
      const padding = new Uint8Array(Math.max(0, MAX_BODY_BYTES + delta - bytes.length)).fill(0x20);
      return { tree, bytes: concat([bytes, padding]) };
    }),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((raw) => ({ bytes: raw })) },
);

const OTHER_PATHS = ["/health", "/", "/_matrix/push/v1", "/metrics", "/_matrix/push/v1/notif"];

const http = defineProperty({
  name: "a request of any shape gets an answer: never a 5xx, never a dropped connection, a 4xx says why",
  ciRuns: 250,
  arbitrary: httpRequests({
    paths: [NOTIFY_PATH, `${NOTIFY_PATH}/`, `${NOTIFY_PATH}/x`, `${NOTIFY_PATH}?a=b`, ...OTHER_PATHS],
    contentTypes: ["application/json"],
    bodies: httpBodies,
    bytes: (body) => body.bytes,
  }),
  show: ({ request }) => showRequest(request),
  async check(target, { request, body }) {
    const modelled = body.tree ? expectedAnswers(body.tree, body.bytes.length) : undefined;
    if (modelled) skipScripted(modelled);
    const notify = isPlainHttp(request) && request.method === "POST" && isNotifyPath(request.target);
    const answers = notify ? modelled : undefined;
    // A plain HTTP/1.1 request must leave its connection usable, unless the answer closes it.
    const followUp = isPlainHttp(request) && request.version === "HTTP/1.1" ? HEALTH : undefined;
    const answer = await sendRaw(target.port, request, followUp ? { followUp } : {});
    const declared = request.framing.kind === "length" ? Number(request.framing.declared) : NaN;
    checkAnswer(request, answer, {
      drop: request.body.length > MAX_BODY_BYTES || declared > MAX_BODY_BYTES,
      serverError: (a) => a.status === 503 && modelled?.some((e) => e.status === 503) === true,
    });
    if (answers) assertOneOf(answer, answers);
    else if (isPlainHttp(request)) checkRoute(request, answer);
    if (followUp && answer.outcome === "answered" && !/\bclose\b/i.test(answer.headers.connection ?? "")) {
      assert.equal(answer.followUp?.status, 200, "GET /health on the same connection afterwards");
    }
  },
});

const HEALTH: RawRequest = {
  method: "GET",
  target: "/health",
  version: "HTTP/1.1",
  headers: [["Host", "localhost"]],
  body: new Uint8Array(),
  framing: { kind: "none" },
  pauses: [],
};

/** /notify and its sub-paths, with any query string (as Sygnal). */
function isNotifyPath(target: string): boolean {
  const path = target.split("?")[0]!;
  return path === NOTIFY_PATH || path.startsWith(`${NOTIFY_PATH}/`);
}

/** A plain request that is no POST to /notify: 405 on /notify, /health for GET and HEAD, 404 elsewhere. */
function checkRoute(request: RawRequest, answer: RawAnswer): void {
  const path = request.target.split("?")[0]!;
  if (isNotifyPath(path)) {
    if (request.method !== "POST") {
      assert.equal(answer.status, 405);
      assert.equal(answer.headers.allow, "POST");
    }
  } else if (path === "/health") {
    if (request.method === "GET" || request.method === "HEAD") assert.equal(answer.status, 200);
    else assert.equal(answer.status, 405);
  } else if (OTHER_PATHS.includes(path)) {
    assert.equal(answer.status, 404);
  }
}

export const notifySurface: FuzzSurface = {
  name: "notify",
  start: startNotifyTarget,
  properties: [valid, nearlyValid, jsonValues, bytes, http],
};
