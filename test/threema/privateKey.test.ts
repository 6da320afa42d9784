/** push-relay's Threema Gateway private key file: what is read, and what stops start-up naming the file. */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { PushkinSetupError } from "../../src/core/pushkin.js";
import { readGatewayPrivateKey } from "../../src/pushkins/threema/privateKey.js";
import { tempDir } from "../helpers/tempDir.js";

const dir = tempDir(after, "herald-threema-key-");
const KEY = "00112233445566778899aabbccddeeff0123456789abcdef0123456789abcdef";
let files = 0;

function keyFile(text: string): string {
  const path = join(dir, `key-${++files}.txt`);
  writeFileSync(path, text);
  return path;
}

describe("readGatewayPrivateKey", () => {
  test("reads 'private:' and 64 hex characters, with or without a final newline, of either case", () => {
    const expected = Buffer.from(KEY, "hex");
    assert.deepEqual(readGatewayPrivateKey(keyFile(`private:${KEY}`)), expected);
    assert.deepEqual(readGatewayPrivateKey(keyFile(`private:${KEY}\n`)), expected);
    assert.deepEqual(readGatewayPrivateKey(keyFile(`private:${KEY.toUpperCase()}\n`)), expected);
  });

  const broken: [string, string][] = [
    ["a wrong prefix", `public:${KEY}\n`],
    ["no prefix", `${KEY}\n`],
    ["a prefix in capitals", `PRIVATE:${KEY}\n`],
    ["63 hex characters", `private:${KEY.slice(1)}\n`],
    ["65 hex characters", `private:${KEY}0\n`],
    ["not hex", `private:${KEY.slice(2)}zz\n`],
    ["a space after the prefix", `private: ${KEY}\n`],
    ["two newlines", `private:${KEY}\n\n`],
    ["a Windows line end", `private:${KEY}\r\n`],
    ["an empty file", ""],
  ];
  for (const [name, text] of broken) {
    test(`${name}: a setup error naming the file, without its content`, () => {
      const path = keyFile(text);
      assert.throws(
        () => readGatewayPrivateKey(path),
        (error: unknown) =>
          error instanceof PushkinSetupError &&
          error.message.includes(`'${path}'`) &&
          /must hold 'private:' followed by the key as 64 hex characters/.test(error.message) &&
          !error.message.includes(KEY.slice(8, 40)),
      );
    });
  }

  test("a missing file: a setup error naming it", () => {
    const path = join(dir, "missing.txt");
    assert.throws(
      () => readGatewayPrivateKey(path),
      (error: unknown) =>
        error instanceof PushkinSetupError &&
        error.message === `The Threema Gateway private key file '${path}' does not exist.`,
    );
  });
});
