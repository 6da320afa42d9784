/**
 * Arbitraries for the HTTP around a body — methods, request targets, versions, headers, framings, write pauses —
 * for any surface: the surface gives its paths, its bodies and its content type, and gets requests of every shape.
 */
import fc from "fast-check";
import type { Framing, RawRequest } from "./rawHttp.js";

/** Methods Node's HTTP parser knows (it refuses any other before the application sees the request). */
const KNOWN_METHODS = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
  "TRACE",
  "CONNECT",
  "PROPFIND",
  "PROPPATCH",
  "MKCOL",
  "COPY",
  "MOVE",
  "LOCK",
  "UNLOCK",
  "SEARCH",
  "PURGE",
  "REPORT",
  "MKACTIVITY",
  "CHECKOUT",
  "MERGE",
  "NOTIFY",
  "SUBSCRIBE",
  "LINK",
  "UNLINK",
  "QUERY",
];

export const methods: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constant("POST") },
  { weight: 4, arbitrary: fc.constantFrom(...KNOWN_METHODS) },
  { weight: 1, arbitrary: fc.constantFrom("post", "Post", "FOO", "P0ST", "GET\u0000", "ПОСТ") },
  { weight: 1, arbitrary: fc.stringMatching(/^[!-~]{1,8}$/) },
);

/** A path made odd: sub-paths, query strings, fragments, encodings, doubled slashes. */
export function oddTargets(paths: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc
      .tuple(
        fc.constantFrom(...paths),
        fc.constantFrom(
          "/",
          "/x",
          "/x/y",
          "?",
          "?a=b",
          "?a=b&a=c",
          "#f",
          "%20",
          "/%2e%2e/",
          "//",
          ";x",
          "/\u00e9",
          "?\u00e9",
        ),
      )
      .map(([path, suffix]) => path + suffix),
    fc.constantFrom(...paths).map((path) => path.toUpperCase()),
    fc.constantFrom(...paths).map((path) => path.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`)),
    fc.constantFrom(...paths).map((path) => `http://localhost${path}`),
    fc.constantFrom("*", "/", "//", "", "/a/../health", "/?", `/${"a".repeat(9_000)}`, "/%", "/%zz", "/\u0000"),
    fc.webPath(),
  );
}

export const versions: fc.Arbitrary<string> = fc.oneof(
  { weight: 12, arbitrary: fc.constant("HTTP/1.1") },
  { weight: 2, arbitrary: fc.constant("HTTP/1.0") },
  { weight: 1, arbitrary: fc.constantFrom("HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/1", "http/1.1", "HTTP/1.1 x", "") },
);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t -~]*$/;

/** One header line; names and values may break the syntax. */
function headerLines(contentTypes: readonly string[]): fc.Arbitrary<[string, string][]> {
  const clean = fc.oneof(
    fc.constantFrom(...contentTypes).map((v): [string, string] => ["Content-Type", v]),
    fc
      .constantFrom(
        "application/json",
        "application/json; charset=latin1",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "",
        "*/*",
      )
      .map((v): [string, string] => ["Content-Type", v]),
    fc.constantFrom("100-continue", "200-ok", "x").map((v): [string, string] => ["Expect", v]),
    fc.constantFrom("close", "keep-alive", "Upgrade", "TE").map((v): [string, string] => ["Connection", v]),
    fc.constantFrom("websocket", "h2c", "HTTP/2.0").map((v): [string, string] => ["Upgrade", v]),
    fc.constantFrom("gzip", "br", "identity", "x").map((v): [string, string] => ["Content-Encoding", v]),
    fc.constantFrom("Host", "host", "HOST").map((name): [string, string] => [name, "localhost"]),
    fc.tuple(
      fc.constantFrom("X-Forwarded-For", "User-Agent", "Referer", "Accept", "Authorization"),
      fc.stringMatching(/^[ -~]{0,40}$/),
    ),
    fc.tuple(fc.stringMatching(TOKEN), fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/)),
    fc.tuple(
      fc.constant("X-Long"),
      fc.constantFrom(9_000, 20_000).map((n) => "a".repeat(n)),
    ),
  );
  const broken = fc.oneof(
    fc.constantFrom<[string, string]>(
      ["Bad Header", "x"],
      ["X-A", "a\rb"],
      ["X-A", "a\nb"],
      ["", "x"],
      ["X-A\u0000", "x"],
      ["X-Utf8", "\u00e9\u20ac"],
      ["Content-Length", "5"],
      ["Transfer-Encoding", "gzip"],
      ["Transfer-Encoding", "chunked"],
    ),
  );
  return fc.array(fc.oneof({ weight: 12, arbitrary: clean }, { weight: 1, arbitrary: broken }), { maxLength: 4 });
}

function framings(): fc.Arbitrary<Framing> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.constant<Framing>({ kind: "length" }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("chunked" as const),
        sizes: fc.array(fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 70_000 })), {
          maxLength: 6,
        }),
        unterminated: fc.oneof(
          { weight: 9, arbitrary: fc.constant(false) },
          { weight: 1, arbitrary: fc.constant(true) },
        ),
      }),
    },
    { weight: 1, arbitrary: fc.constant<Framing>({ kind: "none" }) },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc.nat({ max: 200 }).map(String),
          fc.constantFrom("-1", "abc", "1e3", " 5", "5 ", "+5", "0x10", "99999999999999999999", "5, 5", "", "600000"),
        )
        .map((declared): Framing => ({ kind: "length", declared })),
    },
  );
}

export interface HttpRequestOptions<B> {
  /** The surface's own paths, used most of the time. */
  paths: readonly string[];
  /** The content types the surface expects. */
  contentTypes: readonly string[];
  /** The surface's bodies, and their bytes. */
  bodies: fc.Arbitrary<B>;
  bytes(body: B): Uint8Array;
}

/** Requests of every shape, aimed mostly at the surface's paths; `body` is what the request's bytes were made from. */
export function httpRequests<B>(options: HttpRequestOptions<B>): fc.Arbitrary<{ request: RawRequest; body: B }> {
  return fc
    .record({
      method: methods,
      target: fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...options.paths) },
        { weight: 2, arbitrary: oddTargets(options.paths) },
      ),
      version: versions,
      headers: fc
        .tuple(fc.boolean(), headerLines(options.contentTypes))
        .map(([host, lines]): [string, string][] => (host ? [["Host", "localhost"], ...lines] : lines)),
      body: options.bodies,
      framing: framings(),
      pauses: fc.oneof(
        { weight: 5, arbitrary: fc.constant<number[]>([]) },
        { weight: 1, arbitrary: fc.array(fc.nat({ max: 2_000 }), { maxLength: 4 }) },
      ),
    })
    .map(({ body, ...shape }) => ({ request: { ...shape, body: options.bytes(body) }, body }));
}

/**
 * Whether the request is plain, valid HTTP/1.x that a server must read as the request it says it is: a method it
 * knows, an absolute path, well-formed headers, and an honest framing. Such a request must be answered as its method,
 * path and body say, whatever its pauses; any other must still get an answer that explains itself.
 */
export function isPlainHttp(request: RawRequest): boolean {
  const { method, target, version, headers, framing, body } = request;
  if (!KNOWN_METHODS.includes(method) || method === "CONNECT") return false;
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") return false;
  if (!/^\/[!-~]*$/.test(target) || target.includes("#")) return false;
  for (const [name, value] of headers) {
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) return false;
    if (/^(content-length|transfer-encoding|upgrade|connection)$/i.test(name)) return false;
    if (value.length > 8_000) return false;
  }
  if (framing.kind === "chunked") return version === "HTTP/1.1" && !framing.unterminated;
  if (framing.kind === "none") return body.length === 0;
  return framing.declared === undefined;
}
