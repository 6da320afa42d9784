/**
 * Parsing and validating the /notify body: Sygnal's checks in Sygnal's order, its reading of numbers, and the
 * lenient reading of every field it does not validate.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseNotificationBody, type ParsedBody } from "../src/api/notificationBody.js";

function parse(body: string | Uint8Array): ParsedBody {
  return parseNotificationBody(typeof body === "string" ? new TextEncoder().encode(body) : body);
}

function messageOf(body: unknown): string | undefined {
  const result = parse(JSON.stringify(body));
  return result.ok ? undefined : result.message;
}

const good = { app_id: "a", pushkey: "k" };

describe("the order of Sygnal's checks", () => {
  test("a missing devices list is reported before bad counts", () => {
    assert.equal(messageOf({ notification: { counts: { unread: "x" } } }), "Expected list in 'devices' key");
  });
  test("bad counts are reported before a bad device", () => {
    assert.equal(messageOf({ notification: { counts: { unread: "x" }, devices: [{}] } }), "unread is of invalid type");
  });
  test("unread is checked before missed_calls", () => {
    assert.equal(
      messageOf({ notification: { counts: { missed_calls: "1", unread: "2" }, devices: [good] } }),
      "unread is of invalid type",
    );
  });
  test("devices are checked in order, and within a device app_id, pushkey, pushkey_ts, data, tweaks, sound", () => {
    const bad = { app_id: 1, pushkey: 2, pushkey_ts: "x", data: [], tweaks: { sound: 1 } };
    assert.equal(messageOf({ notification: { devices: [good, bad] } }), "Device with missing or non-string app_id");
    const steps: [Record<string, unknown>, string][] = [
      [{ pushkey: 2, pushkey_ts: "x" }, "Device with missing or non-string pushkey"],
      [{ pushkey_ts: "x", data: [] }, "pushkey_ts is of invalid type"],
      [{ data: [], tweaks: "x" }, "data is of invalid type"],
      [{ tweaks: "x" }, "tweaks is of invalid type"],
      [{ tweaks: { sound: 1 } }, "sound is of invalid type"],
    ];
    for (const [fields, message] of steps) {
      assert.equal(messageOf({ notification: { devices: [{ ...good, ...fields }, { app_id: 5 }] } }), message);
    }
  });
  test("an empty devices list is valid here: the handler counts it, then refuses it", () => {
    assert.equal(parse('{"notification": {"devices": []}}').ok, true);
  });
});

describe("bodies that are not JSON", () => {
  for (const [name, body] of [
    [
      "invalid UTF-8 inside a JSON string",
      Buffer.from([
        ...Buffer.from('{"notification": {"devices": [{"app_id": "'),
        0xff,
        ...Buffer.from('", "pushkey": "k"}]}}'),
      ]),
    ],
    ["a byte-order mark", Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from('{"notification": {"devices": []}}')])],
    ["Infinity", '{"notification": {"devices": [], "x": Infinity}}'],
    ["-Infinity", '{"notification": {"devices": [], "x": -Infinity}}'],
    ["a truncated document", '{"notification": {"devices": ['],
  ] as const) {
    test(`${name} is 'Expected JSON request body'`, () => {
      assert.deepEqual(parse(body), { ok: false, message: "Expected JSON request body" });
    });
  }
  for (const body of ["null", "5", "true", '"notification"']) {
    test(`the JSON value ${body} is refused as 400, where Sygnal answers 500`, () => {
      assert.deepEqual(parse(body), {
        ok: false,
        message: "Invalid notification: expecting object in 'notification' key",
      });
    });
  }
});

describe("numbers as Python reads them", () => {
  for (const lexeme of ["2.0", "2e0", "2E1", "-1.0"]) {
    test(`a count written ${lexeme} is a float, so invalid`, () => {
      assert.deepEqual(
        parse(`{"notification": {"counts": {"unread": ${lexeme}}, "devices": [{"app_id": "a", "pushkey": "k"}]}}`),
        {
          ok: false,
          message: "unread is of invalid type",
        },
      );
      assert.deepEqual(
        parse(
          `{"notification": {"counts": {"missed_calls": ${lexeme}}, "devices": [{"app_id": "a", "pushkey": "k"}]}}`,
        ),
        {
          ok: false,
          message: "missed_calls is of invalid type",
        },
      );
      assert.deepEqual(
        parse(`{"notification": {"devices": [{"app_id": "a", "pushkey": "k", "pushkey_ts": ${lexeme}}]}}`),
        {
          ok: false,
          message: "pushkey_ts is of invalid type",
        },
      );
    });
  }
  test("a float count is refused whatever else the body holds: repeated keys, deep nesting", () => {
    const device = '{"app_id": "a", "pushkey": "k"}';
    for (const body of [
      `{"notification": {"counts": {"unread": 2.0}, "devices": [${device}]}, "x": 1, "x": 2}`,
      `{"notification": {"counts": {"unread": 2.0}, "devices": [${device}], "content": ${"[".repeat(100_000)}${"]".repeat(100_000)}}}`,
    ]) {
      assert.deepEqual(parse(body), { ok: false, message: "unread is of invalid type" });
    }
  });
  test("a float count is refused when its key is written with escapes", () => {
    const device = (ts: string) => `{"app_id": "a", "pushkey": "k", "pushkey_ts": ${ts}}`;
    assert.deepEqual(parse(`{"notification": {"counts": {"unre\\u0061d": 2.0}, "devices": [${device("1")}]}}`), {
      ok: false,
      message: "unread is of invalid type",
    });
    assert.deepEqual(
      parse(`{"notification": {"devices": [{"app_id": "a", "pushkey": "k", "\\u0070ushkey_ts": 1.5}]}}`),
      {
        ok: false,
        message: "pushkey_ts is of invalid type",
      },
    );
  });
  test("an integer of any size is an integer, as in Python", () => {
    const huge = "1" + "0".repeat(400);
    const result = parse(
      `{"notification": {"counts": {"unread": ${huge}, "missed_calls": -${huge}}, "devices": [{"app_id": "a", "pushkey": "k", "pushkey_ts": ${huge}}]}}`,
    );
    assert.ok(result.ok);
    assert.deepEqual(result.notification.counts, { unread: Number.MAX_VALUE, missed_calls: -Number.MAX_VALUE });
    assert.equal(result.notification.devices[0]!.pushkey_ts, Number.MAX_VALUE);
  });
  test("of repeated keys the last decides, as in Python", () => {
    const device = (ts: string) => `{"app_id": "a", "pushkey": "k", "pushkey_ts": ${ts}}`;
    const cases: [string, string | undefined][] = [
      [`{"counts": {"unread": 3, "unread": 2.0}, "devices": [${device("1")}]}`, "unread is of invalid type"],
      [`{"counts": {"unread": 2.0, "unread": 3}, "devices": [${device("1")}]}`, undefined],
      [
        `{"counts": {"missed_calls": 1}, "counts": {"missed_calls": 1e0}, "devices": [${device("1")}]}`,
        "missed_calls is of invalid type",
      ],
      [`{"counts": {"missed_calls": 1e0}, "counts": {"missed_calls": 1}, "devices": [${device("1")}]}`, undefined],
      [`{"devices": [${device("1")}, ${device("1.5")}], "devices": [${device("1")}]}`, undefined],
      [`{"devices": [${device("1")}], "devices": [${device("1")}, ${device("1.5")}]}`, "pushkey_ts is of invalid type"],
    ];
    for (const [notification, message] of cases) {
      const result = parse(`{"notification": ${notification}}`);
      assert.deepEqual(result.ok ? undefined : result.message, message, notification);
    }
  });
  test("a float elsewhere, even under a count's name, is not validated", () => {
    const result = parse(
      '{"notification": {"content": {"unread": 2.0}, "devices": [{"app_id": "a", "pushkey": "k", "data": {"pushkey_ts": 1.5}}]}}',
    );
    assert.equal(result.ok, true);
  });
  test("booleans are integers in Python: accepted as counts, read as 1 and 0", () => {
    const result = parse(
      '{"notification": {"counts": {"unread": true, "missed_calls": false}, "devices": [{"app_id": "a", "pushkey": "k", "pushkey_ts": true}]}}',
    );
    assert.ok(result.ok);
    assert.deepEqual(result.notification.counts, { unread: 1, missed_calls: 0 });
  });
});

describe("fields Sygnal does not validate", () => {
  test("are absent when null or of another type, as a badge-only update from Synapse sends them", () => {
    const result = parse(
      JSON.stringify({
        notification: {
          id: "",
          type: null,
          sender: "",
          room_name: 7,
          prio: 5,
          content: "str",
          user_is_target: "no",
          counts: { unread: 2 },
          devices: [{ app_id: "a", pushkey: "k", tweaks: { highlight: "yes" }, data: { format: "event_id_only" } }],
        },
      }),
    );
    assert.ok(result.ok);
    const n = result.notification;
    assert.equal(n.type, undefined);
    assert.equal(n.sender, "");
    assert.equal(n.room_name, undefined);
    assert.equal(n.prio, "high");
    assert.equal(n.content, undefined);
    assert.equal(n.user_is_target, undefined);
    assert.deepEqual(n.counts, { unread: 2 });
    assert.deepEqual(n.devices, [
      { app_id: "a", pushkey: "k", tweaks: { highlight: "yes" }, data: { format: "event_id_only" } },
    ]);
  });
  test("prio is low only when it says low", () => {
    const result = parse('{"notification": {"prio": "low", "devices": [{"app_id": "a", "pushkey": "k"}]}}');
    assert.ok(result.ok);
    assert.equal(result.notification.prio, "low");
  });
});
