/**
 * The numbers Sygnal requires to be integers — `counts.unread`, `counts.missed_calls` and each device's `pushkey_ts`
 * — as they are written in the body's text, which JSON.parse does not keep (`2` and `2.0` both become 2).
 *
 * The text must be JSON that JSON.parse has accepted. It is read in one pass without recursion, so any depth is
 * fine, and with JSON.parse's reading of the document: when a key is repeated, its last value wins.
 */

export interface CheckedNumbers {
  /** The lexemes of `counts.unread` and `counts.missed_calls`, when they are numbers. */
  counts: { unread?: string; missed_calls?: string };
  /** The lexeme of each device's `pushkey_ts`, by the device's position, when it is a number. */
  pushkeyTs: (string | undefined)[];
}

/** The parts of the document that are read: objects by key, arrays by item, and numbers. */
type Shape = "number" | { readonly [key: string]: Shape } | readonly [Shape];
/** What was found where a shape was expected: a number's lexeme, an object's members, an array's items. */
type Found = string | Map<string, Found | undefined> | (Found | undefined)[] | undefined;

const CHECKED: Shape = {
  notification: { counts: { unread: "number", missed_calls: "number" }, devices: [{ pushkey_ts: "number" }] },
};

interface Frame {
  isObject: boolean;
  /** The shape of this container, when it is read. */
  shape: Shape | undefined;
  found: Map<string, Found> | Found[] | undefined;
  /** For objects: the key of the value that comes next; undefined while a key is expected. */
  key: string | undefined;
}

const TOKEN = /\s*(?:([{}[\],:])|("[^"\\]*(?:\\.[^"\\]*)*")|(-?[\d.eE+-]+)|true|false|null)/y;

export function checkedNumbers(text: string): CheckedNumbers {
  const stack: Frame[] = [];
  let root: Found;
  const store = (value: Found) => {
    const top = stack.at(-1);
    if (!top) root = value;
    else if (Array.isArray(top.found)) top.found.push(value);
    else top.found?.set(top.key!, value);
  };
  const expectedShape = (): Shape | undefined => {
    const top = stack.at(-1);
    if (!top) return CHECKED;
    const { shape } = top;
    if (shape === undefined || shape === "number") return undefined;
    if (isArrayShape(shape)) return shape[0];
    return Object.hasOwn(shape, top.key!) ? shape[top.key!] : undefined;
  };

  TOKEN.lastIndex = 0;
  for (let match = TOKEN.exec(text); match; match = TOKEN.exec(text)) {
    const [, punctuation, string, number] = match;
    const top = stack.at(-1);
    if (punctuation === "{" || punctuation === "[") {
      const isObject = punctuation === "{";
      const shape = expectedShape();
      const read = shape !== undefined && shape !== "number" && isArrayShape(shape) !== isObject;
      const found = read ? (isObject ? new Map<string, Found>() : []) : undefined;
      store(found);
      stack.push({ isObject, shape: read ? shape : undefined, found, key: undefined });
    } else if (punctuation === "}" || punctuation === "]") {
      stack.pop();
    } else if (punctuation === ",") {
      if (top?.isObject) top.key = undefined;
    } else if (punctuation === ":") {
      // the key was taken with its string
    } else if (string !== undefined && top?.isObject && top.key === undefined) {
      top.key = JSON.parse(string) as string;
    } else {
      store(number !== undefined && expectedShape() === "number" ? number : undefined);
    }
  }
  return collect(root);
}

function isArrayShape(shape: Exclude<Shape, "number">): shape is readonly [Shape] {
  return Array.isArray(shape);
}

function collect(root: Found): CheckedNumbers {
  const notification = root instanceof Map ? root.get("notification") : undefined;
  const counts = notification instanceof Map ? notification.get("counts") : undefined;
  const devices = notification instanceof Map ? notification.get("devices") : undefined;
  const lexeme = (found: Found) => (typeof found === "string" ? found : undefined);
  const result: CheckedNumbers = { counts: {}, pushkeyTs: [] };
  if (counts instanceof Map) {
    const unread = lexeme(counts.get("unread"));
    const missedCalls = lexeme(counts.get("missed_calls"));
    if (unread !== undefined) result.counts.unread = unread;
    if (missedCalls !== undefined) result.counts.missed_calls = missedCalls;
  }
  if (Array.isArray(devices)) {
    result.pushkeyTs = devices.map((device) => (device instanceof Map ? lexeme(device.get("pushkey_ts")) : undefined));
  }
  return result;
}
