/**
 * Small edits of a JSON tree that turn a valid body into a nearly valid one: a value of another type, a key gone, a
 * null, an odd number, deep nesting, a long string, bytes that are not UTF-8, a repeated key, a long list. A surface
 * aims them at the fields its validator reads (by path) and lets some land anywhere (by position).
 */
import fc from "fast-check";
import {
  anyJson,
  anyNumberText,
  anyString,
  badNumberText,
  json,
  longString,
  unreadableBytes,
  type JsonNode,
} from "./json.js";

/** An object key, or an array position (taken modulo the array's length). */
export type PathStep = string | number;

export type Edit =
  | { kind: "replace"; with: JsonNode }
  | { kind: "delete" }
  /** Writes the key again, before or after the present entry, with another value: a reader keeps the last one. */
  | { kind: "repeatKey"; with: JsonNode; after: boolean }
  /** Wraps the value in `depth` arrays or objects. */
  | { kind: "nest"; depth: number; container: "array" | "object" }
  /** Writes an array's items `times` over. */
  | { kind: "repeatItems"; times: number };

/** Where an edit lands: at a path (created if missing), or at the n-th node of the tree (in document order). */
export type Target = { path: PathStep[] } | { node: number };

export interface Mutation {
  target: Target;
  edit: Edit;
}

/** Values that replace another: any type, odd numbers, long strings, unreadable strings and numbers. */
export const replacements: fc.Arbitrary<JsonNode> = fc.oneof(
  { weight: 4, arbitrary: anyJson({ maxDepth: 2 }) },
  { weight: 2, arbitrary: fc.constant(json.null()) },
  { weight: 2, arbitrary: anyNumberText.map(json.number) },
  { weight: 1, arbitrary: anyString.map(json.string) },
  { weight: 1, arbitrary: longString.map(json.string) },
  { weight: 1, arbitrary: fc.constantFrom(json.array([]), json.object([]), json.string(""), json.bool(true)) },
  { weight: 1, arbitrary: badNumberText.map(json.number) },
  { weight: 1, arbitrary: unreadableBytes.map((bytes): JsonNode => ({ kind: "rawString", bytes })) },
);

export function edits(options: { maxNesting: number }): fc.Arbitrary<Edit> {
  return fc.oneof(
    { weight: 6, arbitrary: replacements.map((node): Edit => ({ kind: "replace", with: node })) },
    { weight: 2, arbitrary: fc.constant<Edit>({ kind: "delete" }) },
    {
      weight: 2,
      arbitrary: fc
        .tuple(replacements, fc.boolean())
        .map(([node, after]): Edit => ({ kind: "repeatKey", with: node, after })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: options.maxNesting })),
          fc.constantFrom<"array" | "object">("array", "object"),
        )
        .map(([depth, container]): Edit => ({ kind: "nest", depth, container })),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 50, max: 1_500 }))
        .map((times): Edit => ({ kind: "repeatItems", times })),
    },
  );
}

/** Mutations aimed at the given paths most of the time, and anywhere now and then. */
export function mutations(paths: fc.Arbitrary<PathStep[]>, options: { maxNesting: number }): fc.Arbitrary<Mutation> {
  const target = fc.oneof(
    { weight: 4, arbitrary: paths.map((path): Target => ({ path })) },
    { weight: 1, arbitrary: fc.nat().map((node): Target => ({ node })) },
  );
  return fc.record({ target, edit: edits(options) });
}

export function applyMutations(tree: JsonNode, list: readonly Mutation[]): JsonNode {
  return list.reduce((node, mutation) => applyMutation(node, mutation), tree);
}

export function applyMutation(tree: JsonNode, { target, edit }: Mutation): JsonNode {
  const path = "path" in target ? target.path : pathOfNode(tree, target.node);
  return editAt(tree, path, edit);
}

/** The path of the n-th node (modulo their number), in document order. */
function pathOfNode(tree: JsonNode, n: number): PathStep[] {
  const paths: PathStep[][] = [];
  const visit = (node: JsonNode, path: PathStep[]) => {
    paths.push(path);
    if (node.kind === "array") node.items.forEach((item, i) => visit(item, [...path, i]));
    if (node.kind === "object") node.entries.forEach(([key, value]) => visit(value, [...path, key]));
  };
  visit(tree, []);
  return paths[n % paths.length]!;
}

function editAt(node: JsonNode, path: readonly PathStep[], edit: Edit): JsonNode {
  if (path.length === 0) return editHere(node, edit);
  const [step, ...rest] = path as [PathStep, ...PathStep[]];
  if (node.kind === "object") {
    const key = typeof step === "number" ? (node.entries[step % Math.max(1, node.entries.length)]?.[0] ?? "a") : step;
    const index = lastIndexOf(node.entries, key);
    if (rest.length === 0) return editMember(node.entries, index, key, edit);
    if (index < 0) return node; // nothing to edit below a missing key
    const entries = [...node.entries];
    entries[index] = [key, editAt(entries[index]![1], rest, edit)];
    return json.object(entries);
  }
  if (node.kind === "array") {
    if (node.items.length === 0)
      return rest.length === 0 && edit.kind !== "delete" && "with" in edit ? json.array([edit.with]) : node;
    const index = (typeof step === "number" ? step : 0) % node.items.length;
    const items = [...node.items];
    if (rest.length === 0 && edit.kind === "delete") items.splice(index, 1);
    else items[index] = editAt(items[index]!, rest, edit);
    return node.repeat === undefined ? json.array(items) : json.array(items, node.repeat);
  }
  return node;
}

function editMember(entries: [string, JsonNode][], index: number, key: string, edit: Edit): JsonNode {
  const out = [...entries];
  if (edit.kind === "delete") {
    if (index >= 0) out.splice(index, 1);
  } else if (edit.kind === "repeatKey") {
    if (index < 0) out.push([key, edit.with]);
    else out.splice(edit.after ? index + 1 : index, 0, [key, edit.with]);
  } else if (index < 0) {
    if (edit.kind === "replace") out.push([key, edit.with]);
  } else {
    out[index] = [key, editHere(out[index]![1], edit)];
  }
  return json.object(out);
}

function editHere(node: JsonNode, edit: Edit): JsonNode {
  switch (edit.kind) {
    case "replace":
      return edit.with;
    case "nest":
      return { kind: "nested", depth: edit.depth, container: edit.container, inner: node };
    case "repeatItems":
      return node.kind === "array" ? json.array(node.items, edit.times) : node;
    default:
      return node; // delete and repeatKey need the parent: editMember
  }
}

function lastIndexOf(entries: [string, JsonNode][], key: string): number {
  for (let i = entries.length - 1; i >= 0; i--) if (entries[i]![0] === key) return i;
  return -1;
}
