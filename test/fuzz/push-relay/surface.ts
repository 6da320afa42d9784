/**
 * The push-relay surface (`POST /push`): a Herald whose `push_relay` section sends to the sandbox providers over real
 * sockets — FCM with its token endpoint, APNs (one sandbox per endpoint, any topic), two Huawei apps (one
 * high_priority) and the Threema Gateway with users whose keys are known — and five properties from well-formed forms
 * to requests of any shape. Every answer must be the model's (model.ts), and what a provider received on a 204 must
 * be the payload push-relay documents.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { ApnsSandbox } from "../../../src/sandbox/apns.js";
import { SANDBOX_FCM, startSandbox, type Sandbox } from "../../../src/sandbox/index.js";
import { startTestHerald } from "../../helpers/herald.js";
import { pushRelaySection, startApnsEndpoints } from "../../pushRelay/sandboxConfig.js";
import { heraldProbes } from "../heraldTarget.js";
import { defineProperty, type FuzzSurface, type FuzzTarget } from "../harness.js";
import { httpRequests, isPlainHttp } from "../httpArbitraries.js";
import { checkAnswer } from "../invariants.js";
import { sendRaw, showRequest, type RawAnswer, type RawRequest } from "../rawHttp.js";
import {
  applyMutations,
  applySplices,
  contentTypes,
  encodeForm,
  formStyles,
  HMS_APPIDS,
  mutations,
  splices,
  THREEMA_USERS,
  validPairs,
  type FormStyle,
  type Pair,
} from "./arbitraries.js";
import {
  expectedAnswer,
  FORM_TYPE,
  MAX_BODY_BYTES,
  NOT_SUCCESSFUL,
  outcomes,
  PUSH_PATH,
  type Expected,
  type ModelPush,
  type Recipients,
} from "./model.js";

interface PushRelayTarget extends FuzzTarget {
  sandbox: Sandbox;
  apns: { p: ApnsSandbox; s: ApnsSandbox };
  recipients: Recipients;
  reset(): void;
}

async function startPushRelayTarget(): Promise<PushRelayTarget> {
  const sandbox = await startSandbox();
  // No topic list: any bundle id is a topic the key may push to.
  const { production, development } = await startApnsEndpoints(sandbox);
  const hms = Object.fromEntries(
    HMS_APPIDS.map((appId, i) => {
      const app = sandbox.hms.createApp(appId);
      const section = {
        client_id: app.clientId,
        client_secret: app.clientSecret,
        endpoint: sandbox.hms.url,
        token_endpoint: sandbox.hms.tokenUrl,
        ca: sandbox.files.ca,
        high_priority: i === 1,
      };
      return [appId, section];
    }),
  );
  for (const user of THREEMA_USERS) sandbox.threema.createRecipient(user.identity, user.secretKey);
  const herald = await startTestHerald(
    {
      request_deadline: 5,
      push_relay: pushRelaySection(sandbox, { production, development }, hms),
    },
    {},
    // Warnings and errors only: at 100,000 runs the access log would fill the memory.
    { logLevel: "warn" },
  );
  return {
    ...heraldProbes(herald),
    sandbox,
    apns: { p: production, s: development },
    recipients: {
      hmsApps: new Map(HMS_APPIDS.map((appId, i) => [appId, i === 1])),
      threemaUsers: new Map(THREEMA_USERS.map((u) => [u.identity, u.publicKeyHex])),
    },
    reset() {
      sandbox.fcm.reset();
      sandbox.hms.reset();
      sandbox.threema.reset();
      production.reset();
      development.reset();
    },
    async stop() {
      await herald.stop();
      await Promise.all([sandbox.close(), production.close(), development.close()]);
    },
  };
}

/** A plain, well-framed POST of the bytes to /push; `contentType` undefined: no such header. */
function pushRequest(body: Uint8Array, contentType: string | undefined): RawRequest {
  const headers: [string, string][] = [["Host", "localhost"]];
  if (contentType !== undefined) headers.push(["Content-Type", contentType]);
  return {
    method: "POST",
    target: PUSH_PATH,
    version: "HTTP/1.1",
    headers,
    body,
    framing: { kind: "length" },
    pauses: [],
  };
}

/** Node drops the white space around a header's value before the application reads it. */
const asReceived = (contentType: string | undefined) => contentType?.replace(/^[ \t]+|[ \t]+$/g, "");

/** Sends the request and checks the answer against the model's, and what a provider received on a 204. */
async function checkPush(target: FuzzTarget, request: RawRequest, expected: Expected): Promise<RawAnswer> {
  const relay = target as PushRelayTarget;
  relay.reset();
  const before = Math.floor(Date.now() / 1000);
  const answer = await sendRaw(target.port, request);
  const after = Math.ceil(Date.now() / 1000);
  checkAnswer(request, answer, {
    drop: request.body.length > MAX_BODY_BYTES,
    serverError: (a) =>
      expected.status === "sent" && outcomes(expected.push, relay.recipients).statuses.includes(a.status),
    shapes: { 413: "text" },
  });
  if (answer.outcome !== "answered") return answer;
  const got = `${answer.status} ${JSON.stringify(answer.body.toString("utf8").slice(0, 200))}`;
  if (expected.status === 413 || expected.status === 400) {
    assert.equal(answer.status, expected.status, `expected ${expected.status}, got ${got}`);
    if (expected.status === 400) {
      assert.equal(
        answer.body.toString("utf8"),
        expected.message,
        `expected 400 ${JSON.stringify(expected.message)}, got ${got}`,
      );
      assert.equal(answer.headers["content-type"], "text/plain; charset=utf-8");
    }
    assert.equal(providerRequests(relay), 0, "a refused request reached a provider");
    return answer;
  }
  const { statuses, certain } = outcomes(expected.push, relay.recipients);
  assert.ok(
    statuses.includes(answer.status),
    `expected one of ${statuses.join(", ")} for a ${expected.push.type} push, got ${got}`,
  );
  if (certain) assert.equal(answer.status, statuses[0], `expected ${statuses[0]}, got ${got}`);
  assert.equal(answer.headers["content-type"], "text/plain");
  assert.equal(answer.body.toString("utf8"), answer.status === 204 ? "" : NOT_SUCCESSFUL);
  if (answer.status !== 204) expectedErrors(target);
  if (answer.status === 204) checkReceived(relay, expected.push, before, after);
  return answer;
}

/**
 * The error lines a refused push may log, and no other: a documented 500 (Push Kit's size and parameter codes) is
 * the relay's own failure, and a provider refusing a message as too large (a huge session or affiliation) is logged
 * as a refused request, as for any app.
 */
function expectedErrors(target: FuzzTarget): void {
  for (const line of target.takeErrors()) {
    assert.match(
      line,
      /"msg":"(Push failed|(FCM|HMS|APNs) refused the request: [^"]*(too large|too big|PayloadTooLarge))/,
    );
  }
}

function providerRequests(relay: PushRelayTarget): number {
  const { sandbox, apns } = relay;
  return (
    sandbox.fcm.requests + sandbox.hms.requests + sandbox.threema.received.length + apns.p.requests + apns.s.requests
  );
}

/** What push-relay sends each provider (reference/peers.md §2.2), as the sandbox received it. */
function checkReceived(relay: PushRelayTarget, push: ModelPush, before: number, after: number): void {
  const payload = (wct: unknown, numbers: boolean) => {
    assert.ok(Number(wct) >= before && Number(wct) <= after, `wct ${String(wct)} is not now`);
    const version = numbers ? push.version : String(push.version);
    const time = numbers ? Number(wct) : String(wct);
    return {
      wcs: push.session,
      ...(push.affiliation === undefined ? {} : { wca: push.affiliation }),
      wct: time,
      wcv: version,
    };
  };
  switch (push.type) {
    case "fcm": {
      const [received, ...more] = relay.sandbox.fcm.received;
      assert.ok(received && more.length === 0, "FCM received one message");
      const data = received.message.data as { wct?: unknown };
      assert.equal(received.projectId, SANDBOX_FCM.projectId);
      assert.deepEqual(received.message, {
        token: push.token,
        data: payload(data.wct, false),
        android: {
          ...(push.collapseId === undefined ? {} : { collapse_key: push.collapseId }),
          priority: "HIGH",
          ttl: `${push.ttl}s`,
        },
      });
      return;
    }
    case "apns": {
      const [received, ...more] = relay.apns[push.endpoint].received;
      assert.ok(received && more.length === 0, `APNs (${push.endpoint}) received one push`);
      assert.equal(relay.apns[push.endpoint === "p" ? "s" : "p"].requests, 0, "the other APNs endpoint got nothing");
      const voip = push.bundleId.endsWith(".voip");
      assert.equal(received.token, push.token);
      assert.deepEqual(
        [received.topic, received.priority, received.pushType, received.collapseId],
        [push.bundleId, "10", voip ? "voip" : "alert", push.collapseId],
      );
      const body = received.payload as { "3mw"?: { wct?: unknown } };
      const expiration = Number(received.expiration);
      if (push.ttl === 0) assert.equal(expiration, 0);
      else
        assert.ok(expiration >= before + push.ttl && expiration <= after + push.ttl, `apns-expiration ${expiration}`);
      assert.deepEqual(body, {
        aps: voip
          ? { "content-available": 1, "mutable-content": 0 }
          : { alert: "Threema Web Wakeup", sound: "default", "mutable-content": 1 },
        "3mw": payload(body["3mw"]?.wct, true),
      });
      return;
    }
    case "hms": {
      const [received, ...more] = relay.sandbox.hms.received;
      assert.ok(received && more.length === 0, "Push Kit received one message");
      const highPriority = relay.recipients.hmsApps.get(push.appId) === true;
      assert.equal(received.appId, push.appId);
      assert.deepEqual(received.message.token, [push.token]);
      assert.equal(typeof received.message.data, "string");
      assert.deepEqual(received.data, payload((received.data as { wct?: unknown }).wct, true));
      assert.deepEqual(received.message.android, {
        urgency: highPriority ? "HIGH" : "NORMAL",
        ...(highPriority ? { category: "VOIP" } : {}),
        ttl: `${push.ttl}s`,
      });
      return;
    }
    case "threema-gateway": {
      const [received, ...more] = relay.sandbox.threema.received;
      assert.ok(received && more.length === 0, "the gateway received one message");
      assert.equal(received.from, relay.sandbox.threemaAccount.identity);
      assert.equal(received.to, push.identity);
      assert.equal(received.type, 0xfe);
      assert.deepEqual(received.padding, Buffer.of(1));
      assert.deepEqual(received.json, payload((received.json as { wct?: unknown }).wct, true));
      return;
    }
  }
}

const showForm = (body: Uint8Array, contentType: string | undefined = FORM_TYPE) =>
  showRequest(pushRequest(body, contentType));

const valid = defineProperty<[Pair[], FormStyle]>({
  name: "a well-formed push of each type is answered 204, and the provider gets push-relay's payload",
  ciRuns: 100,
  arbitrary: fc.tuple(
    validPairs,
    formStyles.filter((s) => s.encoding !== "raw"),
  ),
  show: ([pairs, style]) => showForm(encodeForm(pairs, style)),
  async check(target, [pairs, style]) {
    const body = encodeForm(pairs, style);
    const expected = expectedAnswer(FORM_TYPE, body);
    assert.equal(expected.status, "sent", `the model refuses a well-formed form: ${JSON.stringify(expected)}`);
    const answer = await checkPush(target, pushRequest(body, FORM_TYPE), expected);
    assert.equal(answer.status, 204);
  },
});

const nearlyValid = defineProperty({
  name: "a nearly valid form gets push-relay's answer (the model's status and text)",
  ciRuns: 250,
  arbitrary: fc.tuple(validPairs, mutations, formStyles, splices),
  show: ([pairs, list, style, spliced]) =>
    showForm(applySplices(encodeForm(applyMutations(pairs, list), style), spliced)),
  async check(target, [pairs, list, style, spliced]) {
    const body = applySplices(encodeForm(applyMutations(pairs, list), style), spliced);
    await checkPush(target, pushRequest(body, FORM_TYPE), expectedAnswer(FORM_TYPE, body));
  },
});

const bytes = defineProperty({
  name: "any bytes as a form get push-relay's answer",
  ciRuns: 100,
  arbitrary: fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.string({ unit: "binary", maxLength: 200 }).map((s) => new TextEncoder().encode(s)),
    fc
      .array(
        fc.constantFrom("type=", "apns", "fcm", "token=", "t", "&", "=", "%", "+", "session=s", "version=1", "%FF"),
        {
          maxLength: 30,
        },
      )
      .map((parts) => new TextEncoder().encode(parts.join(""))),
  ),
  show: (body) => showForm(body),
  async check(target, body) {
    await checkPush(target, pushRequest(body, FORM_TYPE), expectedAnswer(FORM_TYPE, body));
  },
});

const types = defineProperty({
  name: "any Content-Type gets push-relay's answer",
  ciRuns: 50,
  arbitrary: fc.tuple(
    validPairs,
    formStyles.filter((s) => s.encoding !== "raw"),
    contentTypes,
  ),
  show: ([pairs, style, type]) => showRequest(pushRequest(encodeForm(pairs, style), type)),
  async check(target, [pairs, style, type]) {
    const body = encodeForm(pairs, style);
    await checkPush(target, pushRequest(body, type), expectedAnswer(asReceived(type), body));
  },
});

/** Bodies for the HTTP property: well-formed, nearly valid, near the size limit. */
const httpBodies: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(validPairs, formStyles).map(([pairs, style]) => encodeForm(pairs, style)) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(validPairs, mutations, formStyles)
      .map(([pairs, list, style]) => encodeForm(applyMutations(pairs, list), style)),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(validPairs, formStyles, fc.integer({ min: -3, max: 3 })).map(([pairs, style, delta]) => {
      const body = encodeForm(pairs, style);
      const padding = new TextEncoder().encode(
        `&pad=${"x".repeat(Math.max(0, MAX_BODY_BYTES + delta - body.length - 5))}`,
      );
      return Uint8Array.from([...body, ...padding]);
    }),
  },
);

/** Paths beside /push that no route serves. */
const NOT_FOUND = ["/push/", "/push/x", "/pus", "/Push"];
const OTHER_PATHS = [...NOT_FOUND, "/health", "/"];

const http = defineProperty({
  name: "a request of any shape gets an answer: never a 5xx but the documented ones, a 4xx says why",
  ciRuns: 200,
  arbitrary: httpRequests({
    paths: [PUSH_PATH, `${PUSH_PATH}?a=b`, ...OTHER_PATHS],
    contentTypes: [FORM_TYPE],
    bodies: httpBodies,
    bytes: (b) => b,
  }),
  show: ({ request }) => showRequest(request),
  async check(target, { request }) {
    const path = request.target.split("?")[0];
    const plain = isPlainHttp(request) && path === PUSH_PATH;
    const typesSent = request.headers.filter(([name]) => name.toLowerCase() === "content-type");
    if (plain && request.method === "POST" && typesSent.length <= 1) {
      await checkPush(target, request, expectedAnswer(asReceived(typesSent[0]?.[1]), request.body));
      return;
    }
    const relay = target as PushRelayTarget;
    relay.reset();
    // Whatever its framing, a POST to /push that Node reads whole is pushed as the model says.
    const modelled = expectedAnswer(asReceived(typesSent[0]?.[1]), request.body);
    const answer = await sendRaw(target.port, request);
    const declared = request.framing.kind === "length" ? Number(request.framing.declared) : NaN;
    checkAnswer(request, answer, {
      drop: request.body.length > MAX_BODY_BYTES || declared > MAX_BODY_BYTES,
      serverError: (a) =>
        request.method === "POST" &&
        modelled.status === "sent" &&
        outcomes(modelled.push, relay.recipients).statuses.includes(a.status),
      // push-relay's 405 has no body.
      shapes: { 413: "text", 405: "empty" },
    });
    if (answer.status >= 400) expectedErrors(target);
    if (answer.outcome !== "answered" || !isPlainHttp(request)) return;
    if (path === PUSH_PATH && request.method === "OPTIONS") {
      // A browser's preflight (CORS): Threema Web may POST from any origin.
      assert.equal(answer.status, 204);
      assert.equal(answer.headers["access-control-allow-methods"], "POST");
    } else if (path === PUSH_PATH && request.method !== "POST") {
      assert.equal(answer.status, 405);
      assert.equal(answer.headers.allow, "POST");
    } else if (NOT_FOUND.includes(path!)) {
      assert.equal(answer.status, 404);
    }
  },
});

export const pushRelaySurface: FuzzSurface = {
  name: "push-relay",
  start: startPushRelayTarget,
  properties: [valid, nearlyValid, bytes, types, http],
};
