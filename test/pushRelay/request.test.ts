/** push-relay's form decoding and number parsing, as Rust's form_urlencoded and `str::parse` do them. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { contentTypeProblem, decodeForm, parsePushForm, parseRustUnsigned } from "../../src/pushRelay/request.js";

const form = (text: string | Buffer) => decodeForm(typeof text === "string" ? Buffer.from(text, "latin1") : text);

describe("the form is decoded as the WHATWG form parser decodes it", () => {
  test("pairs split on &, name and value at the first =, empty sequences skipped", () => {
    assert.deepEqual(form("a=1&&b=2=3&c&=d&"), [
      ["a", "1"],
      ["b", "2=3"],
      ["c", ""],
      ["", "d"],
    ]);
  });
  test("+ is a space, percent escapes are bytes, a broken escape stays as it is", () => {
    assert.deepEqual(form("a+b=%41%2b%3D%zz%4"), [["a b", "A+=%zz%4"]]);
  });
  test("escaped and raw bytes are read as UTF-8 together, what is not UTF-8 becoming U+FFFD", () => {
    assert.deepEqual(form(Buffer.from([0x61, 0x3d, 0xc3, 0x25, 0x41, 0x39, 0x26, 0x62, 0x3d, 0xff])), [
      ["a", "é"],
      ["b", "\ufffd"],
    ]);
  });
  test("a byte-order mark is kept, as Rust's lossy decoding keeps it", () => {
    assert.deepEqual(form("%EF%BB%BFa=1"), [["\ufeffa", "1"]]);
  });
  test("a key such as __proto__ is a parameter like any other", () => {
    const parsed = parsePushForm(Buffer.from("__proto__=x&token=t&session=s&version=1"));
    assert.ok(parsed.ok);
    assert.equal(parsed.request.type, "fcm");
  });
});

describe("numbers are read as Rust's trim().parse::<uN>() reads them", () => {
  for (const [text, value] of [
    ["0", 0],
    ["65535", 65535],
    [" 7\t", 7],
    ["\u00a0\u20287\u3000", 7],
    ["+7", 7],
    ["0007", 7],
    ["000000000000065535", 65535],
  ] as const) {
    test(`${JSON.stringify(text)} is ${value}`, () => assert.equal(parseRustUnsigned(text, 0xffff), value));
  }
  for (const text of ["", " ", "+", "-0", "-1", "65536", "1.0", "1e3", "0x10", "７", "\ufeff7", "1 2"]) {
    test(`${JSON.stringify(text)} is not a u16`, () => assert.equal(parseRustUnsigned(text, 0xffff), undefined));
  }
  test("u32 goes to 4294967295", () => {
    assert.equal(parseRustUnsigned("4294967295", 0xffffffff), 4294967295);
    assert.equal(parseRustUnsigned("4294967296", 0xffffffff), undefined);
  });
});

describe("the content type", () => {
  test("must start with application/x-www-form-urlencoded; parameters and anything after are allowed", () => {
    assert.equal(contentTypeProblem("application/x-www-form-urlencoded"), undefined);
    assert.equal(contentTypeProblem("application/x-www-form-urlencoded; charset=UTF-8"), undefined);
    assert.equal(contentTypeProblem("application/x-www-form-urlencodedXYZ"), undefined);
  });
  test("is echoed when it is something else, even empty", () => {
    assert.equal(
      contentTypeProblem("Application/X-WWW-Form-Urlencoded"),
      "Invalid content type: Application/X-WWW-Form-Urlencoded",
    );
    assert.equal(contentTypeProblem(""), "Invalid content type: ");
  });
  test("counts as missing when absent or not visible ASCII", () => {
    assert.equal(contentTypeProblem(undefined), "Missing content type");
    assert.equal(contentTypeProblem("application/x-www-form-urlencoded; x=\u00e9"), "Missing content type");
  });
});
