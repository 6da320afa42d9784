/**
 * Bodies for /notify: valid notifications grown from Sygnal's fixtures (sygnal-fixtures/test-fixtures.json and
 * expected-provider-payloads.json) and from generated fields, and the mutations that make them nearly valid.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { fixturesDir } from "../../helpers/paths.js";
import {
  anyJson,
  anyNumberText,
  anyString,
  anyStyle,
  json,
  keyArbitrary,
  longString,
  type JsonNode,
  type JsonStyle,
} from "../json.js";
import { mutations, type Edit, type Mutation, type PathStep } from "../jsonMutations.js";
import { APP_KEYS } from "./model.js";

type Value = Record<string, unknown>;

const payloads = JSON.parse(readFileSync(join(fixturesDir, "expected-provider-payloads.json"), "utf8")) as {
  cases: Record<string, { notification?: Value }>;
};
const testFixtures = JSON.parse(readFileSync(join(fixturesDir, "test-fixtures.json"), "utf8")) as {
  notifications: Record<string, { notification: Value }>;
  devices: Record<string, Record<string, unknown>>;
};

/** The notifications of the fixtures, without devices (placeholders and generated fields left out). */
const seedNotifications: Value[] = [
  ...Object.values(payloads.cases).flatMap((c) => (c.notification ? [c.notification] : [])),
  ...Object.values(testFixtures.notifications)
    .map(({ notification }) => Object.fromEntries(Object.entries(notification).filter(([key]) => key !== "devices")))
    .filter((n) => !JSON.stringify(n).includes("<GENERATE")),
];

/** Every device constant of Sygnal's tests. */
const seedDevices: Value[] = Object.values(testFixtures.devices).flatMap((group) =>
  Object.entries(group).flatMap(([name, device]) =>
    !name.startsWith("_") && typeof device === "object" && device !== null && "app_id" in device
      ? [device as Value]
      : [],
  ),
);

/** Pushkeys that script the test pushkin (test/helpers/testPushkin.ts): a valid body never holds one. */
const SCRIPTED = new Set([
  "reject",
  "skip",
  "remote_error",
  "temporary_remote_error",
  "raise_exception",
  "slow",
  "stubborn",
  "hang",
  "barrier",
]);

export function isScriptedPushkey(pushkey: string): boolean {
  return SCRIPTED.has(pushkey.split(":")[0]!);
}

const pushkeys: fc.Arbitrary<string> = fc
  .oneof(fc.constantFrom("spqr", "spqr2", "accept", "badpayload", "k"), fc.stringMatching(/^[0-9a-f]{64}$/), anyString)
  .map((pushkey) => (isScriptedPushkey(pushkey) ? `k${pushkey}` : pushkey));

/** App ids: the configured keys, ids that one glob or both globs match, unknown ones, and odd ones. */
const appIds: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...APP_KEYS) },
  { weight: 2, arbitrary: anyString.map((s) => `com.glob.${s}`) },
  { weight: 1, arbitrary: anyString.map((s) => `com.glob.a${s}`) },
  { weight: 2, arbitrary: fc.constantFrom(...seedDevices.map((d) => String(d.app_id))) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "",
      "COM.GLOB.x",
      "com.glob.",
      "com.glob.\n",
      "com.glob.x\ny",
      "com.example.spqr\n",
      "com.example.spqr ",
      "com.globx",
    ),
  },
  { weight: 1, arbitrary: anyString },
);

/** An integer as Python reads one: any size and sign, or a boolean. */
const pythonInts: fc.Arbitrary<JsonNode> = fc.oneof(
  { weight: 4, arbitrary: anyNumberText.filter((t) => /^-?\d+$/.test(t) && t.length < 400).map(json.number) },
  { weight: 1, arbitrary: fc.boolean().map(json.bool) },
);

/** Anything, for the fields Sygnal does not check. */
const lenientValue = anyJson({ maxDepth: 2 });

function optionalEntries(entries: [string, fc.Arbitrary<JsonNode>][]): fc.Arbitrary<[string, JsonNode][]> {
  return fc
    .tuple(
      ...entries.map(([key, value]) =>
        fc.option(
          value.map((v): [string, JsonNode] => [key, v]),
          { nil: undefined },
        ),
      ),
    )
    .map((list) => list.filter((entry): entry is [string, JsonNode] => entry !== undefined));
}

/** Entries in any order, some keys written twice with another value first (a reader keeps the last). */
function objectOf(
  required: fc.Arbitrary<[string, JsonNode][]>,
  extra: fc.Arbitrary<[string, JsonNode][]>,
): fc.Arbitrary<JsonNode> {
  return fc
    .tuple(required, extra, fc.array(fc.tuple(fc.nat(), lenientValue), { maxLength: 1 }))
    .chain(([own, more, shadows]) =>
      fc.shuffledSubarray([...own, ...more], { minLength: own.length + more.length }).map((entries) => {
        for (const [at, value] of shadows) {
          if (entries.length === 0) break;
          const key = entries[at % entries.length]![0];
          entries.unshift([key, value]);
        }
        return json.object(entries);
      }),
    );
}

const validTweaks: fc.Arbitrary<JsonNode> = objectOf(
  optionalEntries([["sound", anyString.map(json.string)]]),
  fc.array(
    fc.tuple(
      keyArbitrary(["highlight"]).filter((k) => k !== "sound"),
      lenientValue,
    ),
    { maxLength: 2 },
  ),
);

const validCounts: fc.Arbitrary<JsonNode> = objectOf(
  optionalEntries([
    ["unread", pythonInts],
    ["missed_calls", pythonInts],
  ]),
  fc.array(
    fc.tuple(
      keyArbitrary().filter((k) => k !== "unread" && k !== "missed_calls"),
      lenientValue,
    ),
    { maxLength: 1 },
  ),
);

const lenientObject = anyJson({ maxDepth: 3 }).map((node) =>
  node.kind === "object" ? node : json.object([["default_payload", node]]),
);

const generatedDevice: fc.Arbitrary<JsonNode> = objectOf(
  fc
    .tuple(
      appIds,
      pushkeys,
      optionalEntries([
        ["pushkey_ts", pythonInts],
        ["data", lenientObject],
        ["tweaks", validTweaks],
      ]),
    )
    .map(([appId, pushkey, rest]): [string, JsonNode][] => [
      ["app_id", json.string(appId)],
      ["pushkey", json.string(pushkey)],
      ...rest,
    ]),
  fc.array(
    fc.tuple(
      keyArbitrary().filter((k) => !["app_id", "pushkey", "pushkey_ts", "data", "tweaks"].includes(k)),
      lenientValue,
    ),
    { maxLength: 1 },
  ),
);

const seedDevice: fc.Arbitrary<JsonNode> = fc
  .tuple(fc.constantFrom(...seedDevices), fc.option(appIds, { nil: undefined }))
  .map(([device, appId]) => {
    const pushkey = String(device.pushkey);
    const safe = { ...device, pushkey: isScriptedPushkey(pushkey) ? `k${pushkey}` : pushkey };
    return json.from(appId === undefined ? safe : { ...safe, app_id: appId });
  });

export const validDevices: fc.Arbitrary<JsonNode> = fc
  .tuple(
    fc.array(fc.oneof(seedDevice, generatedDevice), { minLength: 1, maxLength: 6 }),
    fc.oneof({ weight: 9, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 2, max: 80 }) }),
  )
  .map(([items, repeat]) => json.array(items, repeat === 1 ? undefined : repeat));

/** The fields Sygnal reads without checking, of any type (Synapse sends `"type": null` in badge-only updates). */
const NOTIFICATION_FIELDS = [
  "id",
  "event_id",
  "room_id",
  "type",
  "sender",
  "sender_display_name",
  "room_name",
  "room_alias",
  "prio",
  "membership",
  "content",
  "user_is_target",
];

const generatedNotification: fc.Arbitrary<[string, JsonNode][]> = optionalEntries([
  ...NOTIFICATION_FIELDS.map((key): [string, fc.Arbitrary<JsonNode>] => [
    key,
    fc.oneof(
      { weight: 10, arbitrary: anyString.map(json.string) },
      { weight: 10, arbitrary: lenientValue },
      { weight: 1, arbitrary: longString.map(json.string) },
    ),
  ]),
]);

const seedNotification: fc.Arbitrary<[string, JsonNode][]> = fc
  .constantFrom(...seedNotifications)
  .map((n) => Object.entries(n).map(([key, value]): [string, JsonNode] => [key, json.from(value)]));

/** A notification body Sygnal accepts: every checked field right, every other field anything. */
export const validNotification: fc.Arbitrary<JsonNode> = fc
  .tuple(
    fc.oneof(seedNotification, generatedNotification),
    fc.option(validCounts, { nil: undefined }),
    validDevices,
    fc.array(
      fc.tuple(
        keyArbitrary().filter((k) => k !== "notification"),
        lenientValue,
      ),
      { maxLength: 1 },
    ),
  )
  .chain(([fields, counts, devices, outside]) =>
    objectOf(
      fc.constant([
        ...fields.filter(([key]) => key !== "devices" && !(counts && key === "counts")),
        ...(counts ? [["counts", counts] as [string, JsonNode]] : []),
        ["devices", devices] as [string, JsonNode],
      ]),
      fc.constant([]),
    ).map((notification) => json.object([...outside, ["notification", notification]])),
  );

/** The paths of every field Sygnal checks, where mutations aim. */
const checkedPaths: fc.Arbitrary<PathStep[]> = fc.oneof(
  fc.constantFrom<PathStep[]>(
    [],
    ["notification"],
    ["notification", "devices"],
    ["notification", "counts"],
    ["notification", "counts", "unread"],
    ["notification", "counts", "missed_calls"],
  ),
  fc
    .tuple(
      fc.nat(),
      fc.constantFrom<PathStep[]>(
        [],
        ["app_id"],
        ["pushkey"],
        ["pushkey_ts"],
        ["data"],
        ["tweaks"],
        ["tweaks", "sound"],
      ),
    )
    .map(([i, rest]): PathStep[] => ["notification", "devices", i, ...rest]),
  fc.constantFrom(...NOTIFICATION_FIELDS).map((key): PathStep[] => ["notification", key]),
);

/** A number written any way, at one of the three fields Sygnal wants integers: where a reader's slip would show. */
const checkedNumberEdits: fc.Arbitrary<Mutation> = fc.record({
  target: fc
    .oneof(
      fc.constantFrom<PathStep[]>(["notification", "counts", "unread"], ["notification", "counts", "missed_calls"]),
      fc.nat().map((i): PathStep[] => ["notification", "devices", i, "pushkey_ts"]),
    )
    .map((path) => ({ path })),
  edit: anyNumberText.map((text): Edit => ({ kind: "replace", with: json.number(text) })),
});

export const notifyMutations: fc.Arbitrary<Mutation[]> = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: mutations(checkedPaths, { maxNesting: 100_000 }) },
    { weight: 1, arbitrary: checkedNumberEdits },
  ),
  { minLength: 1, maxLength: 3 },
);

export interface Document {
  tree: JsonNode;
  style: JsonStyle;
}

export const styledValidNotification: fc.Arbitrary<Document> = fc.record({ tree: validNotification, style: anyStyle });
