/**
 * Reads a YAML document into the data PyYAML's `safe_load` gives, which is how Sygnal reads sygnal.yaml.
 *
 * The `yaml` package parses the syntax, with every scalar kept as its text; the scalars are then resolved as YAML 1.1
 * by PyYAML's rules (yamlScalars.ts), and the collections built as PyYAML builds them:
 * - a repeated mapping key: the last value wins (keys are equal as Python compares them: `1`, `1.0` and `yes` are one
 *   key);
 * - merge keys (`<<: *base`, `<<: [*a, *b]`): the mapping's own keys win, then the earlier merged mapping, then the
 *   later `<<` key of the same mapping;
 * - an alias is the very value of its anchor; an anchor defined twice is an error.
 * Herald's data is JSON-like, so a few values are given another form: a mapping key that is not a string becomes the
 * string Python's json module writes for it (`yes` → "true", `1.5` → "1.5"); a date or time becomes its ISO 8601
 * text, as Python's `isoformat()` writes it (`2001-12-14`); an integer beyond 2^53 becomes the nearest number.
 * `!!binary`, `!!set`, `!!omap` and `!!pairs`, which no Herald key takes, are refused.
 */
import {
  Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  Scalar,
  visit,
  type Node,
  type YAMLError,
  type YAMLMap,
} from "yaml";
import { constructTagged, pythonFloatRepr, resolvePlain, ScalarError, type YamlScalar } from "./yamlScalars.js";

export class YamlError extends Error {
  override readonly name = "YamlError";
  /** One line per problem; syntax errors carry the `yaml` package's excerpt of the source. */
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
  }
}

const TAG = "tag:yaml.org,2002:";
const REFUSED_TAGS: Record<string, string> = {
  [`${TAG}binary`]: "!!binary",
  [`${TAG}set`]: "!!set",
  [`${TAG}omap`]: "!!omap",
  [`${TAG}pairs`]: "!!pairs",
};

/** `text` as PyYAML's `safe_load` reads it (see the top of this file); throws a YamlError naming the line. */
export function readYaml(text: string): unknown {
  const lineCounter = new LineCounter();
  // YAML 1.1 line breaks: a lone carriage return and NEL (U+0085) are line feeds, as CRLF is.
  const source = text.replace(/\r\n?|\u0085/g, "\n");
  // The failsafe schema keeps every scalar as text: resolving it is yamlScalars.ts's job.
  const document = parseDocument(source, {
    version: "1.1",
    schema: "failsafe",
    resolveKnownTags: false,
    uniqueKeys: false,
    lineCounter,
  });
  const syntax = [...document.errors, ...document.warnings.filter((w) => w.code === "BAD_DIRECTIVE")];
  if (syntax.length > 0) throw new YamlError(syntax.map(syntaxProblem));
  return new Reader(document, lineCounter).document();
}

/**
 * The parser's message (its first line, then an excerpt of the source), with a hint where PyYAML is more lenient: a
 * quoted string or a `[…]`/`{…}` continued on a line that is not indented more than its key.
 */
function syntaxProblem(error: YAMLError): string {
  const continued = error.code === "BAD_INDENT" || (error.code === "MISSING_CHAR" && /quote/.test(error.message));
  const hint = continued
    ? " (a quoted string, or a list in [...] or a mapping in {...}, that goes on to the next line: indent that line more than its key)"
    : "";
  return `YAML syntax: ${error.message.replace(/\n|$/, `${hint}\n`).trimEnd()}`;
}

/**
 * `value` as YAML that readYaml (and PyYAML) reads back as `value`: a string that would be read as something else
 * (`yes`, `1:20`, `0b1`, `2001-12-14 10:00:00`, `<<`) is quoted. For the files Herald writes: `demo`'s config,
 * `import-push-relay`'s.
 */
export function writeYaml(value: unknown): string {
  const document = new Document(value);
  visit(document, {
    Scalar: (_key, node) => {
      if (typeof node.value !== "string") return;
      if (!readsBackAsString(node.value) || LINE_BREAKS_1_1.test(node.value)) node.type = Scalar.QUOTE_DOUBLE;
    },
  });
  // YAML 1.1's other line breaks are written raw by the `yaml` package, even in double quotes: escape them there,
  // which is the only place they can be.
  return document.toString().replace(/[\u0085\u2028\u2029]/g, (c) => LINE_BREAK_ESCAPES[c]!);
}

/** Line breaks to YAML 1.1 (and PyYAML), and not to YAML 1.2: NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR. */
const LINE_BREAKS_1_1 = /[\u0085\u2028\u2029]/;
const LINE_BREAK_ESCAPES: Record<string, string> = { "\u0085": "\\N", "\u2028": "\\L", "\u2029": "\\P" };

function readsBackAsString(text: string): boolean {
  try {
    const scalar = resolvePlain(text);
    return scalar.type === "str" && scalar.value === text;
  } catch {
    return false;
  }
}

/** A mapping's key and value nodes, once its merge keys are replaced by what they merge. */
type Entry = { key: Node | null; value: Node | null };

class Reader {
  private readonly values = new Map<Node, unknown>();
  private readonly building = new Set<Node>();
  private readonly flattened = new Map<YAMLMap, Entry[]>();
  private readonly flattening = new Set<YAMLMap>();

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  document(): unknown {
    this.checkAnchors();
    return this.value(this.doc.contents as Node | null);
  }

  private fail(node: Node | null, message: string): never {
    const offset = node?.range?.[0];
    const where = offset === undefined ? "" : `line ${this.lines.linePos(offset).line}: `;
    throw new YamlError([`YAML: ${where}${message}`]);
  }

  /** PyYAML refuses an anchor name given twice; the `yaml` package would let the later one win. */
  private checkAnchors(): void {
    const seen = new Set<string>();
    visit(this.doc, {
      Node: (_key, node) => {
        if (!node.anchor) return;
        if (seen.has(node.anchor)) this.fail(node, `the anchor &${node.anchor} is defined twice: rename one`);
        seen.add(node.anchor);
      },
    });
  }

  /** The node an alias stands for. */
  private target(node: Node | null): Node | null {
    if (!isAlias(node)) return node;
    const target = node.resolve(this.doc) as Node | undefined;
    if (target === undefined) {
      this.fail(
        node,
        `the alias *${node.source} has no anchor &${node.source} before it` +
          ` (a value that starts with '*' is read as an alias: quote it, as in identity: "*3MAPUSH")`,
      );
    }
    return target;
  }

  private value(given: Node | null): unknown {
    const node = this.target(given);
    if (node === null) return null;
    if (isScalar(node)) return heraldValue(this.scalar(node, "value"));
    if (this.values.has(node)) return this.values.get(node);
    if (this.building.has(node)) this.fail(node, "an alias refers to the collection it is in: this cannot be read");
    this.building.add(node);
    let value: unknown;
    if (isSeq(node)) {
      this.checkCollectionTag(node, "seq");
      value = node.items.map((item) => this.value(item as Node | null));
    } else if (isMap(node)) {
      this.checkCollectionTag(node, "map");
      value = this.mapping(node);
    } else {
      this.fail(node, "this node cannot be read");
    }
    this.building.delete(node);
    this.values.set(node, value);
    return value;
  }

  private checkCollectionTag(node: Node, kind: "seq" | "map"): void {
    if (node.tag === undefined || node.tag === "!" || node.tag === `${TAG}${kind}`) return;
    this.refuseTag(node, node.tag, kind === "seq" ? "a list" : "a mapping");
  }

  private refuseTag(node: Node, tag: string, found: string): never {
    const refused = REFUSED_TAGS[tag];
    if (refused) this.fail(node, `${refused} values are not supported: no Herald key takes one`);
    if (tag.startsWith(TAG)) this.fail(node, `the tag !!${tag.slice(TAG.length)} cannot be given to ${found}`);
    this.fail(node, `the tag ${tag} is not supported: remove it`);
  }

  /** A scalar node as PyYAML builds it. `at` says where it stands: merge keys and `=` are keys only. */
  private scalar(node: Scalar, at: "key" | "value"): YamlScalar {
    const text = String(node.value ?? "");
    let scalar: YamlScalar | undefined;
    try {
      // `!` alone resolves as an untagged plain scalar would, even when quoted.
      if (node.tag === "!" || (node.tag === undefined && node.type === Scalar.PLAIN)) scalar = resolvePlain(text);
      else if (node.tag === undefined) scalar = { type: "str", value: text };
      else scalar = constructTagged(node.tag, text) ?? this.refuseTag(node, node.tag, "a scalar");
    } catch (error) {
      if (error instanceof ScalarError) this.fail(node, error.message);
      throw error;
    }
    if (at === "value" && (scalar.type === "merge" || scalar.type === "value")) {
      const shown = scalar.type === "merge" ? "<<" : "=";
      this.fail(node, `'${shown}' is a YAML 1.1 key, not a value: quote it, as in '${shown}'`);
    }
    return scalar;
  }

  private mapping(node: YAMLMap): Record<string, unknown> {
    // As a Python dict: keys equal in Python's eyes are one key, which keeps its first spelling and its last value.
    const byIdentity = new Map<string | symbol, { name: string; value: Node | null }>();
    for (const { key, value } of this.flatten(node)) {
      const keyNode = this.target(key);
      if (keyNode !== null && !isScalar(keyNode)) {
        this.fail(keyNode, "a list or a mapping cannot be a mapping key");
      }
      const scalar: YamlScalar = keyNode === null ? { type: "null" } : this.scalar(keyNode, "key");
      const { identity, name } = keyOf(scalar);
      const existing = byIdentity.get(identity);
      if (existing) existing.value = value;
      else byIdentity.set(identity, { name, value });
    }
    const result: Record<string, unknown> = {};
    for (const { name, value } of byIdentity.values()) {
      // defineProperty: a key such as `__proto__` is data, never the object's prototype.
      Object.defineProperty(result, name, {
        value: this.value(value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return result;
  }

  /** The mapping's entries with its merge keys replaced by what they merge, placed first (own keys win). */
  private flatten(node: YAMLMap): Entry[] {
    const done = this.flattened.get(node);
    if (done) return done;
    if (this.flattening.has(node)) this.fail(node, "a merge key (<<) merges the mapping it is in: this cannot be read");
    this.flattening.add(node);
    const merged: Entry[] = [];
    const own: Entry[] = [];
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      const value = pair.value as Node | null;
      const keyNode = this.target(key);
      if (!isScalar(keyNode) || this.scalar(keyNode, "key").type !== "merge") {
        own.push({ key, value });
        continue;
      }
      const source = this.target(value);
      if (isMap(source)) {
        merged.push(...this.flatten(source));
      } else if (isSeq(source)) {
        const sources = source.items.map((item) => {
          const map = this.target(item as Node | null);
          if (!isMap(map)) this.fail(map ?? source, "a merge key (<<) takes a mapping, or a list of mappings");
          return this.flatten(map);
        });
        // The earlier mapping wins, so it comes later.
        for (const entries of sources.reverse()) merged.push(...entries);
      } else {
        this.fail(source ?? keyNode, "a merge key (<<) takes a mapping, or a list of mappings");
      }
    }
    const entries = [...merged, ...own];
    this.flattening.delete(node);
    this.flattened.set(node, entries);
    return entries;
  }
}

/** Herald's form of a scalar: JSON-like values, dates as ISO 8601 text. */
function heraldValue(scalar: YamlScalar): unknown {
  switch (scalar.type) {
    case "null":
      return null;
    case "int":
      return Number(scalar.value);
    case "timestamp":
      return scalar.value.iso;
    case "merge":
      return "<<";
    case "value":
      return "=";
    default:
      return scalar.value;
  }
}

/** A mapping key: when two keys are equal in Python (`identity`), and the string Python's json module makes of it. */
function keyOf(scalar: YamlScalar): { identity: string | symbol; name: string } {
  switch (scalar.type) {
    case "null":
      return { identity: "null", name: "null" };
    case "bool":
      return { identity: `number ${scalar.value ? 1 : 0}`, name: String(scalar.value) };
    case "int":
      return { identity: `number ${scalar.value}`, name: String(scalar.value) };
    case "float": {
      const name = pythonFloatRepr(scalar.value);
      if (Number.isInteger(scalar.value)) return { identity: `number ${BigInt(scalar.value)}`, name };
      // NaN equals nothing, not even itself.
      return { identity: Number.isNaN(scalar.value) ? Symbol("NaN") : `number ${scalar.value}`, name };
    }
    case "timestamp":
      return { identity: scalar.value.identity, name: scalar.value.iso };
    case "value":
      return { identity: "string =", name: "=" };
    case "merge":
      return { identity: "string <<", name: "<<" };
    case "str":
      return { identity: `string ${scalar.value}`, name: scalar.value };
  }
}
