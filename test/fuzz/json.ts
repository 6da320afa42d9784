/**
 * JSON as a fuzz run writes it: a syntax tree that keeps what a JavaScript value loses and a parser still sees — the
 * exact text of each number (`2` and `2.0` differ for Python), the order and repetition of object keys, strings with
 * lone surrogates, strings whose bytes are not UTF-8 — and the writer that turns a tree into request bytes.
 *
 * Any surface that takes a JSON body can build its arbitraries and its model of the expected answer on these trees.
 */
import fc from "fast-check";

export type JsonNode =
  | { kind: "null" }
  | { kind: "bool"; value: boolean }
  /** A number as written; may be no JSON number at all (`NaN`, `01`), which makes the document unreadable. */
  | { kind: "number"; text: string }
  | { kind: "string"; value: string }
  /** A string whose content is these raw bytes (not UTF-8, or a raw control character): the document is no JSON. */
  | { kind: "rawString"; bytes: Uint8Array }
  /** `items` written `repeat` times over (default once): long lists stay short to print. */
  | { kind: "array"; items: JsonNode[]; repeat?: number }
  /** Keys in order, repetitions allowed: a reader keeps the last one. */
  | { kind: "object"; entries: [string, JsonNode][] }
  /** `inner` inside `depth` arrays (`[[[…]]]`) or objects (`{"a":{"a":…}}`): deep nesting that stays short to print. */
  | { kind: "nested"; depth: number; container: "array" | "object"; inner: JsonNode };

/** How a tree is written: which whitespace goes around the punctuation, and which characters are escaped. */
export interface JsonStyle {
  /** JSON whitespace only (space, tab, line feed, carriage return), written after every `:` and `,` and inside brackets. */
  space: string;
  /** minimal: as JSON.stringify; ascii: every non-ASCII character as `\uXXXX` (as Python's json.dumps); keys: every
   * character of every key as `\uXXXX`; all: every character of every string. */
  escape: "minimal" | "ascii" | "keys" | "all";
}

export const compactStyle: JsonStyle = { space: "", escape: "minimal" };

export const json = {
  null: (): JsonNode => ({ kind: "null" }),
  bool: (value: boolean): JsonNode => ({ kind: "bool", value }),
  number: (text: string): JsonNode => ({ kind: "number", text }),
  string: (value: string): JsonNode => ({ kind: "string", value }),
  array: (items: JsonNode[], repeat?: number): JsonNode =>
    repeat === undefined ? { kind: "array", items } : { kind: "array", items, repeat },
  object: (entries: [string, JsonNode][]): JsonNode => ({ kind: "object", entries }),

  /** The tree of a JavaScript value as JSON.parse would give it (numbers written as JSON.stringify writes them). */
  from(value: unknown): JsonNode {
    if (value === null || value === undefined) return json.null();
    if (typeof value === "boolean") return json.bool(value);
    if (typeof value === "number") return json.number(Number.isFinite(value) ? JSON.stringify(value) : "null");
    if (typeof value === "string") return json.string(value);
    if (Array.isArray(value)) return json.array(value.map((item) => json.from(item)));
    if (typeof value === "object") {
      return json.object(Object.entries(value).map(([key, item]) => [key, json.from(item)]));
    }
    throw new TypeError(`no JSON for ${typeof value}`);
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Reading a tree as a JSON reader would (for models of the expected answer).

/** The value a reader keeps for `key`: the last one written. */
export function member(node: JsonNode, key: string): JsonNode | undefined {
  if (node.kind === "nested") return node.container === "object" && key === "a" ? unnest(node) : undefined;
  if (node.kind !== "object") return undefined;
  for (let i = node.entries.length - 1; i >= 0; i--) {
    const [k, value] = node.entries[i]!;
    if (k === key) return value;
  }
  return undefined;
}

/** The items of an array as a reader sees them (repeats expanded), or undefined if the node is no array. */
export function itemsOf(node: JsonNode): JsonNode[] | undefined {
  if (node.kind === "nested") return node.container === "array" ? [unnest(node)] : undefined;
  if (node.kind !== "array") return undefined;
  const times = node.repeat ?? 1;
  return times === 1 ? node.items : Array.from({ length: times }, () => node.items).flat();
}

function unnest(node: Extract<JsonNode, { kind: "nested" }>): JsonNode {
  return node.depth <= 1 ? node.inner : { ...node, depth: node.depth - 1 };
}

export function isObject(node: JsonNode | undefined): boolean {
  return node?.kind === "object" || (node?.kind === "nested" && node.container === "object");
}

export function isArray(node: JsonNode | undefined): boolean {
  return node?.kind === "array" || (node?.kind === "nested" && node.container === "array");
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Python's `isinstance(x, int)`: a number written without fraction or exponent, or a boolean. */
export function isPythonInt(node: JsonNode | undefined): boolean {
  return node?.kind === "bool" || (node?.kind === "number" && /^-?\d+$/.test(node.text));
}

/** Whether every part of the tree that is written can be read: numbers are JSON numbers, no string holds raw bytes. */
export function isReadable(node: JsonNode): boolean {
  const pending: JsonNode[] = [node];
  while (pending.length > 0) {
    const next = pending.pop()!;
    if (next.kind === "number" && !JSON_NUMBER.test(next.text)) return false;
    if (next.kind === "rawString") return false;
    if (next.kind === "array" && next.repeat !== 0) pending.push(...next.items);
    if (next.kind === "object") pending.push(...next.entries.map(([, value]) => value));
    if (next.kind === "nested") pending.push(next.inner);
  }
  return true;
}

/** How deep the containers go. */
export function depthOf(node: JsonNode): number {
  switch (node.kind) {
    case "array":
      return 1 + (node.repeat === 0 ? 0 : Math.max(0, ...node.items.map(depthOf)));
    case "object":
      return 1 + Math.max(0, ...node.entries.map(([, value]) => depthOf(value)));
    case "nested":
      return node.depth + depthOf(node.inner);
    default:
      return 0;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Writing a tree.

const encoder = new TextEncoder();

/** The bytes of the document. */
export function encodeJson(node: JsonNode, style: JsonStyle = compactStyle): Uint8Array {
  const parts: (string | Uint8Array)[] = [];
  write(node, style, parts);
  // Runs of text are encoded together: one TextEncoder call per run, not per token.
  const chunks: Uint8Array[] = [];
  let text: string[] = [];
  for (const part of parts) {
    if (typeof part === "string") {
      text.push(part);
    } else {
      chunks.push(encoder.encode(text.join("")), part);
      text = [];
    }
  }
  chunks.push(encoder.encode(text.join("")));
  return concat(chunks);
}

function write(node: JsonNode, style: JsonStyle, out: (string | Uint8Array)[]): void {
  const { space } = style;
  switch (node.kind) {
    case "null":
      return void out.push("null");
    case "bool":
      return void out.push(String(node.value));
    case "number":
      return void out.push(node.text);
    case "string":
      return void out.push(
        quote(node.value, style.escape === "all" || style.escape === "ascii" ? style.escape : "minimal"),
      );
    case "rawString":
      return void out.push('"', node.bytes, '"');
    case "array": {
      out.push("[" + space);
      const times = node.repeat ?? 1;
      for (let t = 0; t < times; t++) {
        node.items.forEach((item, i) => {
          if (t > 0 || i > 0) out.push("," + space);
          write(item, style, out);
        });
      }
      return void out.push(space + "]");
    }
    case "object":
      out.push("{" + space);
      node.entries.forEach(([key, value], i) => {
        if (i > 0) out.push("," + space);
        out.push(quote(key, style.escape === "minimal" ? "minimal" : style.escape === "ascii" ? "ascii" : "all"));
        out.push(":" + space);
        write(value, style, out);
      });
      return void out.push(space + "}");
    case "nested": {
      const [open, close] = node.container === "array" ? ["[", "]"] : ['{"a":', "}"];
      out.push(open.repeat(node.depth));
      write(node.inner, style, out);
      return void out.push(close.repeat(node.depth));
    }
  }
}

function quote(value: string, escape: "minimal" | "ascii" | "all"): string {
  const minimal = JSON.stringify(value);
  if (escape === "minimal") return minimal;
  if (escape === "ascii") return minimal.replace(/[\u007f-\uffff]/g, unicodeEscape);
  let all = "";
  for (let i = 0; i < value.length; i++) all += unicodeEscape(value[i]!);
  return `"${all}"`;
}

function unicodeEscape(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Arbitraries.

/** Short strings of every kind: plain, any code point, lone surrogates, control characters. */
export const anyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 3, arbitrary: fc.string({ unit: "binary", maxLength: 12 }) },
  {
    weight: 2,
    arbitrary: fc.string({
      unit: fc.oneof(
        fc.constantFrom("\ud800", "\udbff", "\udc00", "\udfff", "\u0000", "\n", "\u2028", "\ufeff", '"', "\\"),
        fc.string({ minLength: 1, maxLength: 1 }),
      ),
      maxLength: 8,
    }),
  },
);

/** A long string, of one character repeated (so that it prints short). */
export const longString: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(1_000, 5_000, 70_000), fc.constantFrom("x", "é", "😀", "\ud800", '"'))
  .map(([n, c]) => c.repeat(n));

/** Numbers written every way JSON allows, and then some Python reads differently from JavaScript. */
export const anyNumberText: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.constantFrom("0", "-0", "1", "-1", "2", "9007199254740993", "-9007199254740993", "1" + "0".repeat(40)),
  fc.bigInt({ min: -(10n ** 400n), max: 10n ** 400n }).map(String),
  fc.constantFrom("2.0", "1.5", "-0.0", "0.5", "1e3", "2E1", "1E+2", "2e-1", "-1.0e0", "1e400", "-1e400", "5e-324"),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
);

/** Number texts that are no JSON: a document holding one is unreadable (Python's reader refuses NaN and Infinity too). */
export const badNumberText: fc.Arbitrary<string> = fc.constantFrom(
  "NaN",
  "Infinity",
  "-Infinity",
  "01",
  "1.",
  ".5",
  "+1",
  "0x1F",
  "1e",
  "--1",
);

/** Bytes that make a string unreadable: not UTF-8 (bad lead, overlong, encoded surrogate, cut short), or a raw control character. */
export const unreadableBytes: fc.Arbitrary<Uint8Array> = fc
  .constantFrom(
    [0xff],
    [0xfe],
    [0x80],
    [0xc0, 0x80],
    [0xc1, 0xbf],
    [0xe0, 0x80, 0x80],
    [0xed, 0xa0, 0x80],
    [0xed, 0xbf, 0xbf],
    [0xf0, 0x9f, 0x98],
    [0xe2, 0x82],
    [0xf4, 0x90, 0x80, 0x80],
    [0xf8, 0x88, 0x80, 0x80, 0x80],
    [0x00],
    [0x0a],
    [0x1f],
  )
  .chain((bad) =>
    fc
      .tuple(fc.string({ maxLength: 4 }), fc.string({ maxLength: 4 }))
      .map(([before, after]) => concat([encoder.encode(before), Uint8Array.from(bad), encoder.encode(after)])),
  );

/** Object keys: short ones, those a validator looks for, JavaScript's special ones, any string. */
export function keyArbitrary(interesting: readonly string[] = []): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom("a", "", "__proto__", "constructor", "toString", "hasOwnProperty", ...interesting),
    fc.string({ maxLength: 6 }),
    anyString,
  );
}

/** Any readable JSON tree, up to a small depth, with keys that may repeat. */
export function anyJson(options: { maxDepth?: number; keys?: readonly string[] } = {}): fc.Arbitrary<JsonNode> {
  const key = keyArbitrary(options.keys);
  const { tree } = fc.letrec<{ tree: JsonNode; leaf: JsonNode }>((tie) => ({
    leaf: fc.oneof(
      fc.constant(json.null()),
      fc.boolean().map(json.bool),
      anyNumberText.map(json.number),
      anyString.map(json.string),
    ),
    tree: fc.oneof(
      { depthSize: "small", maxDepth: options.maxDepth ?? 3, withCrossShrink: true },
      { weight: 3, arbitrary: tie("leaf") },
      { weight: 1, arbitrary: fc.array(tie("tree"), { maxLength: 4 }).map((items) => json.array(items)) },
      {
        weight: 1,
        arbitrary: fc.array(fc.tuple(key, tie("tree")), { maxLength: 4 }).map((entries) => json.object(entries)),
      },
    ),
  }));
  return tree;
}

export const anyStyle: fc.Arbitrary<JsonStyle> = fc.record({
  space: fc.oneof(
    { weight: 3, arbitrary: fc.constant("") },
    { weight: 2, arbitrary: fc.constant(" ") },
    { weight: 1, arbitrary: fc.stringMatching(/^[ \t\r\n]{1,4}$/) },
  ),
  escape: fc.constantFrom<JsonStyle["escape"]>("minimal", "minimal", "ascii", "keys", "all"),
});
