/**
 * A reference model of what /notify answers to a body, written from Sygnal's rules (reference/sygnal.md §a.2: the
 * checks, their order and their texts; §a.4: which pushkeys are rejected) plus Herald's documented differences
 * (docs/sygnal-compat.md: 400 where Sygnal answers 500 for bad input, 413 over 512 KiB, 503 over the in-flight limit).
 * It reads the body the way Python reads it: the last of repeated keys wins, `2.0` is no integer, `true` is one.
 *
 * It does not model what depends on the Python build: a document nested deeper than Python's recursion limit (Sygnal
 * then answers `Expected JSON request body`; either answer is accepted beyond 900 levels), and integers of more than
 * 4,300 digits, which the arbitraries never write.
 */
import { depthOf, isArray, isObject, isPythonInt, isReadable, itemsOf, member, type JsonNode } from "../json.js";

export const NOTIFY_PATH = "/_matrix/push/v1/notify";
export const MAX_BODY_BYTES = 512 * 1024;
/** The apps of the Herald under test: one exact key, two overlapping globs (as Sygnal's own HTTP cases). */
export const APP_KEYS = ["com.example.spqr", "com.glob.*", "com.glob.a*"] as const;
/** The default `inflight_request_limit`. */
export const INFLIGHT_LIMIT = 512;
const PYTHON_SAFE_DEPTH = 900;

export const MESSAGES = {
  notJson: "Expected JSON request body",
  notification: "Invalid notification: expecting object in 'notification' key",
  devices: "Expected list in 'devices' key",
  counts: "counts is of invalid type",
  unread: "unread is of invalid type",
  missedCalls: "missed_calls is of invalid type",
  appId: "Device with missing or non-string app_id",
  pushkey: "Device with missing or non-string pushkey",
  pushkeyTs: "pushkey_ts is of invalid type",
  data: "data is of invalid type",
  tweaks: "tweaks is of invalid type",
  sound: "sound is of invalid type",
  noDevices: "No devices in notification",
} as const;

export type Expected =
  /** `served`: the pushkeys handed to a pushkin, with the app that serves each. */
  | { status: 200; rejected: string[]; served: { pushkey: string; app: string }[] }
  | { status: 400; message: string }
  | { status: 413 }
  /** Some app got more devices than its in-flight limit: refused whole (docs/configuration.md). */
  | { status: 503 };

/** The answers Herald may give; the first is the one the rules give. */
export function expectedAnswers(body: JsonNode, byteLength: number): Expected[] {
  if (byteLength > MAX_BODY_BYTES) return [{ status: 413 }];
  const answer = sygnalAnswer(body);
  const answers: Expected[] = [answer];
  if (depthOf(body) > PYTHON_SAFE_DEPTH) answers.push({ status: 400, message: MESSAGES.notJson });
  if (answer.status === 200 && overInflightLimit(answer.served)) answers.push({ status: 503 });
  return answers;
}

function sygnalAnswer(body: JsonNode): Expected {
  const bad = (message: string): Expected => ({ status: 400, message });
  if (!isReadable(body)) return bad(MESSAGES.notJson);
  const notification = isObject(body) ? member(body, "notification") : undefined;
  if (!notification || !isObject(notification)) return bad(MESSAGES.notification);

  const devices = member(notification, "devices");
  if (!devices || !isArray(devices)) return bad(MESSAGES.devices);
  const counts = member(notification, "counts");
  if (counts) {
    if (!isObject(counts)) return bad(MESSAGES.counts);
    if (has(counts, "unread") && !isPythonInt(member(counts, "unread"))) return bad(MESSAGES.unread);
    if (has(counts, "missed_calls") && !isPythonInt(member(counts, "missed_calls"))) return bad(MESSAGES.missedCalls);
  }
  const list = itemsOf(devices)!;
  for (const device of list) {
    const message = deviceError(device);
    if (message) return bad(message);
  }
  if (list.length === 0) return bad(MESSAGES.noDevices);

  const rejected: string[] = [];
  const served: { pushkey: string; app: string }[] = [];
  for (const device of list) {
    const pushkey = stringOf(member(device, "pushkey"));
    const app = routeOf(stringOf(member(device, "app_id")));
    if (app === undefined) rejected.push(pushkey);
    else served.push({ pushkey, app });
  }
  return { status: 200, rejected, served };
}

function deviceError(device: JsonNode): string | undefined {
  if (!isObject(device)) return MESSAGES.appId;
  if (member(device, "app_id")?.kind !== "string") return MESSAGES.appId;
  if (member(device, "pushkey")?.kind !== "string") return MESSAGES.pushkey;
  if (has(device, "pushkey_ts") && !isPythonInt(member(device, "pushkey_ts"))) return MESSAGES.pushkeyTs;
  if (has(device, "data") && !isObject(member(device, "data"))) return MESSAGES.data;
  const tweaks = member(device, "tweaks");
  if (tweaks && !isObject(tweaks)) return MESSAGES.tweaks;
  if (tweaks && has(tweaks, "sound") && member(tweaks, "sound")?.kind !== "string") return MESSAGES.sound;
  return undefined;
}

function has(node: JsonNode, key: string): boolean {
  return member(node, key) !== undefined;
}

function stringOf(node: JsonNode | undefined): string {
  return node?.kind === "string" ? node.value : "";
}

function overInflightLimit(served: { app: string }[]): boolean {
  const perApp = new Map<string, number>();
  for (const { app } of served) perApp.set(app, (perApp.get(app) ?? 0) + 1);
  return [...perApp.values()].some((n) => n > INFLIGHT_LIMIT);
}

/**
 * The app that serves an app id, as Sygnal finds it: the key equal to it, else the one glob key that matches it
 * (`*` any run of characters, `?` one character, neither a line feed, as Python's `.`; case-sensitive; whole id).
 * Undefined when no key or several globs match: the pushkey is rejected.
 */
export function routeOf(appId: string): string | undefined {
  if ((APP_KEYS as readonly string[]).includes(appId)) return appId;
  const globs = APP_KEYS.filter((key) => /[*?]/.test(key) && globMatches([...key], [...appId]));
  return globs.length === 1 ? globs[0] : undefined;
}

function globMatches(glob: string[], text: string[]): boolean {
  // matches[j]: the glob's prefix read so far matches text[0..j).
  let matches = text.map(() => false).concat(false);
  matches[0] = true;
  for (const g of glob) {
    const next = matches.map(() => false);
    for (let j = 0; j <= text.length; j++) {
      if (g === "*") next[j] = matches[j]! || (j > 0 && next[j - 1]! && text[j - 1] !== "\n");
      else if (j > 0 && matches[j - 1]) next[j] = g === "?" ? text[j - 1] !== "\n" : text[j - 1] === g;
    }
    matches = next;
  }
  return matches[text.length]!;
}

/** The 200 body as Sygnal writes it: Python's `json.dumps({"rejected": [...]})`, ASCII only. */
export function rejectedBody(rejected: readonly string[]): string {
  return `{"rejected": [${rejected.map(pythonJsonString).join(", ")}]}`;
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

function pythonJsonString(value: string): string {
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const char = value[i]!;
    const code = value.charCodeAt(i);
    if (SHORT_ESCAPES[char]) out += SHORT_ESCAPES[char];
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += char;
  }
  return out + '"';
}
