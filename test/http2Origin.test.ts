/**
 * The HTTP/2 origin client against a real TLS server: connections that never complete their handshake are not kept,
 * so that shutting down after a run of TLS failures finishes; header values; the server's limit on concurrent streams
 * (requests waiting for a slot, giving up, woken by a raised limit); idle PINGs and a peer that stops answering them.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import http2, { type Http2ServerResponse, type ServerHttp2Session } from "node:http2";
import type { AddressInfo, Socket } from "node:net";
import { test, type TestContext } from "node:test";
import { Http2Origin, type Http2OriginOptions } from "../src/core/http2Origin.js";
import { isDispatchFailure, PermanentFailure, TemporaryFailure } from "../src/core/pushkin.js";
import { createSandboxCa, type SandboxCa } from "../src/sandbox/ca.js";
import { startTcpRelay } from "./helpers/tcpRelay.js";
import { waitFor, within } from "./helpers/waitFor.js";

let sharedCa: Promise<SandboxCa> | undefined;
/** One CA for the tests that trust it: making one costs a key pair. */
const trustedCa = () => (sharedCa ??= createSandboxCa());

interface TestServer {
  port: number;
  /** Paths of the requests received, in order. */
  seen: string[];
  /** Requests not answered yet, for the test to answer (`hold`). */
  held: Http2ServerResponse[];
  sessions: ServerHttp2Session[];
  /** The TCP connections accepted. */
  sockets: Socket[];
}

/**
 * An HTTP/2 server with a certificate of the shared CA, stopped when the test ends. It answers 200 "ok" at once,
 * except the requests `hold` picks, which wait in `held`.
 */
async function startServer(
  t: TestContext,
  options: { settings?: http2.Settings; hold?: (path: string) => boolean } = {},
): Promise<TestServer> {
  const certificate = await (await trustedCa()).issueServerCertificate(["localhost", "127.0.0.1"]);
  const state: Omit<TestServer, "port"> = { seen: [], held: [], sessions: [], sockets: [] };
  const server = http2.createSecureServer(
    { cert: certificate.certPem, key: certificate.keyPem, settings: options.settings },
    (req, res) => {
      state.seen.push(req.url);
      if (options.hold?.(req.url)) state.held.push(res);
      else res.end("ok");
    },
  );
  server.on("session", (session: ServerHttp2Session) => {
    state.sessions.push(session);
    session.on("error", () => {});
  });
  server.on("connection", (socket: Socket) => state.sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(async () => {
    for (const session of state.sessions) session.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { ...state, port: (server.address() as AddressInfo).port };
}

/** A client of `port` that trusts the shared CA, closed when the test ends. */
async function originFor(
  t: TestContext,
  port: number,
  options: Partial<Http2OriginOptions> = {},
): Promise<Http2Origin> {
  const origin = new Http2Origin({ origin: `https://localhost:${port}`, ca: (await trustedCa()).certPem, ...options });
  t.after(() => origin.close(100));
  return origin;
}

const post = (
  origin: Http2Origin,
  path: string,
  {
    signal = AbortSignal.timeout(30_000),
    headers = {},
  }: { signal?: AbortSignal; headers?: http2.OutgoingHttpHeaders } = {},
) => origin.request({ method: "POST", path, headers, body: "", signal });

test("close() finishes after connections that failed their TLS handshake", async () => {
  const ca = await createSandboxCa();
  const certificate = await ca.issueServerCertificate(["localhost", "127.0.0.1"]);
  const server = http2.createSecureServer({ cert: certificate.certPem, key: certificate.keyPem }, (_req, res) =>
    res.end("ok"),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = new Http2Origin({ origin: `https://localhost:${(server.address() as AddressInfo).port}` });
  try {
    // The sandbox CA is not trusted here: every handshake fails.
    for (let i = 0; i < 5; i++) {
      await assert.rejects(
        origin.request({ method: "GET", path: "/", headers: {}, body: "", signal: AbortSignal.timeout(5000) }),
        (error: unknown) => error instanceof TemporaryFailure && /cannot connect/.test(error.message),
      );
    }
    // close() would wait up to its 60 s drain for a connection it kept; it has none to wait for.
    await within("close() after failed handshakes", origin.close(60_000));
  } finally {
    server.close();
  }
});

test("header values: non-ASCII goes out as UTF-8 bytes; a control character is refused before sending", async () => {
  const ca = await createSandboxCa();
  const certificate = await ca.issueServerCertificate(["localhost", "127.0.0.1"]);
  const received: (string | string[] | undefined)[] = [];
  const server = http2.createSecureServer({ cert: certificate.certPem, key: certificate.keyPem }, (req, res) => {
    received.push(req.headers["x-value"]);
    res.end("ok");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = new Http2Origin({
    origin: `https://localhost:${(server.address() as AddressInfo).port}`,
    ca: ca.certPem,
  });
  const send = (value: string) =>
    origin.request({
      method: "POST",
      path: "/",
      headers: { "x-value": value },
      body: "",
      signal: AbortSignal.timeout(5000),
    });
  try {
    for (const value of ["plain", "ch.threema.é", "€ 😀", "ÿ"]) {
      const answer = await send(value);
      assert.equal(answer.status, 200);
      // Node's server hands over a header's bytes one character each.
      const bytes = Buffer.from(String(received.pop()), "latin1");
      assert.equal(bytes.toString("utf8"), value, `${value} arrived as ${bytes.toString("hex")}`);
    }
    for (const value of ["a\nb", "a\r\nX-Injected: 1", "a\u0000b", "\u0001", " padded", "padded\t"]) {
      await assert.rejects(
        send(value),
        (error: unknown) => error instanceof PermanentFailure && /x-value/.test(error.message),
        JSON.stringify(value),
      );
    }
    assert.deepEqual(received, [], "nothing of a refused request was sent");
  } finally {
    await origin.close();
    server.close();
  }
});

test("a request that gives up while waiting for a stream slot is rejected with its reason; the slot goes to the next in line", async (t) => {
  const server = await startServer(t, { settings: { maxConcurrentStreams: 1 }, hold: (path) => path === "/held" });
  const origin = await originFor(t, server.port);
  const held = post(origin, "/held");
  await waitFor("the first request at the server", () => server.held.length === 1);

  const gaveUp = new AbortController();
  const abandoned = post(origin, "/gave-up", { signal: gaveUp.signal });
  const next = post(origin, "/next");
  const reason = new Error("the request deadline passed");
  gaveUp.abort(reason);
  await assert.rejects(abandoned, (error) => error === reason);

  // Woken in its place, the request that gave up would let the slot go unused and the next one wait for good.
  server.held[0]!.end("ok");
  assert.equal((await held).status, 200);
  assert.equal((await within("the request behind the one that gave up", next)).status, 200);
  assert.deepEqual(server.seen, ["/held", "/next"], "nothing of the request that gave up was sent");
});

test("the server raising SETTINGS_MAX_CONCURRENT_STREAMS lets the waiting requests run at once", async (t) => {
  const server = await startServer(t, { settings: { maxConcurrentStreams: 1 }, hold: () => true });
  const origin = await originFor(t, server.port);
  const requests = [post(origin, "/1")];
  await waitFor("the first request at the server", () => server.held.length === 1);
  requests.push(post(origin, "/2"), post(origin, "/3"));

  server.sessions[0]!.settings({ maxConcurrentStreams: 3 });
  // Nothing is answered before all three are open at the server at once.
  await waitFor("three requests open at the server at once", () => server.held.length === 3);
  for (const response of server.held) response.end("ok");
  assert.deepEqual(
    (await Promise.all(requests)).map((answer) => answer.status),
    [200, 200, 200],
  );
  assert.equal(server.sessions.length, 1);
});

test("an idle connection is pinged", async (t) => {
  const server = await startServer(t);
  const origin = await originFor(t, server.port, { pingIntervalMs: 50 });
  assert.equal((await post(origin, "/")).status, 200);
  await within("a PING on the idle connection", once(server.sessions[0]!, "ping"));
});

test("a connection whose peer stops answering is given up after one unanswered PING; the next request opens a new one", async (t) => {
  const server = await startServer(t);
  const relay = await startTcpRelay(server.port);
  t.after(() => relay.close());
  const origin = await originFor(t, relay.port, { pingIntervalMs: 100 });
  assert.equal((await post(origin, "/before")).status, 200);

  const [silent] = relay.connections;
  silent!.silence();
  await within("the client closes the silent connection", silent!.clientClosed);
  // One PING, then the GOAWAY and the TLS close: not the ten PINGs Node lets go unanswered, ten intervals (ten minutes
  // by default) during which every request would be sent into the silence.
  assert.ok(silent!.recordsWhileSilent <= 3, `${silent!.recordsWhileSilent} TLS records sent into the silence`);

  assert.equal((await post(origin, "/after")).status, 200);
  assert.equal(relay.connections.length, 2, "a new connection");
  assert.deepEqual(server.seen, ["/before", "/after"]);
});

test("a connection that closes under requests in flight fails them as temporary, never as an answer", async (t) => {
  const server = await startServer(t, { hold: (path) => path !== "/after" });
  const origin = await originFor(t, server.port);
  const unanswered = post(origin, "/unanswered");
  const halfAnswered = post(origin, "/half-answered");
  await waitFor("both requests at the server", () => server.held.length === 2);
  const half = server.held.find((response) => response.req.url === "/half-answered")!;
  half.writeHead(400);
  await new Promise<void>((resolve) => half.write('{"reason":', () => resolve()));

  // The provider's end goes away without a GOAWAY (a crash, a load balancer), after a status and half a body.
  server.sockets[0]!.destroy();
  for (const [name, request] of [
    ["no answer", unanswered],
    ["half an answer", halfAnswered],
  ] as const) {
    await assert.rejects(
      request,
      (error) => error instanceof TemporaryFailure,
      `${name}: not an answer (a status 0, or a 400 whose body is cut)`,
    );
  }
  assert.equal((await post(origin, "/after")).status, 200);
  assert.equal(server.sessions.length, 2, "on a new connection");
});

test("an answer is an answer whatever the method, with or without a body", async (t) => {
  const server = await startServer(t);
  const origin = await originFor(t, server.port);
  for (const method of ["GET", "POST", "DELETE"]) {
    const answer = await origin.request({
      method,
      path: `/${method}`,
      headers: {},
      body: "",
      signal: AbortSignal.timeout(30_000),
    });
    assert.equal(answer.status, 200, method);
    assert.equal(answer.body.toString(), "ok", method);
  }
});

test("a request Node refuses to open is a failure the homeserver hears as 502, unsent; the next request goes through on the same connection", async (t) => {
  const server = await startServer(t);
  const origin = await originFor(t, server.port);
  assert.equal((await post(origin, "/before")).status, 200);
  // HTTP/2 forbids connection-specific headers: Node throws when the stream is opened, not a bug of Herald's (500).
  await assert.rejects(
    post(origin, "/refused", { headers: { connection: "keep-alive" } }),
    (error: unknown) => isDispatchFailure(error) && /cannot open a stream: .*"connection"/.test(error.message),
  );
  assert.equal((await within("the next request", post(origin, "/after"))).status, 200);
  assert.deepEqual(server.seen, ["/before", "/after"]);
  assert.equal(server.sessions.length, 1, "on the same connection: nothing was wrong with it");
});
