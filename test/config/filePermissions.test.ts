/** A config, key or module file that others can change is named in a warning, with the fix. */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { loadConfig } from "../../src/config/load.js";
import { tempDir } from "../helpers/tempDir.js";

const directory = tempDir(after, "herald-permissions-");

function file(name: string, mode: number, text = ""): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

test("group- or world-writable config, key, CA and module files are each named, others are not", () => {
  mkdirSync(join(directory, "pushkins"), { recursive: true });
  file("AuthKey.p8", 0o664);
  file("ca.pem", 0o646);
  file("service-account.json", 0o600);
  file("pushkins/mine.js", 0o666, "export default class {}");
  const config = file(
    "sygnal.yaml",
    0o620,
    [
      "apps:",
      "  com.example.ios: {type: apns, keyfile: AuthKey.p8, key_id: ABC1234567, team_id: ABC1234567, topic: x, ca: ca.pem}",
      "  com.example.android: {type: gcm, api_version: v1, project_id: p, service_account_file: service-account.json}",
      "  com.example.mine: {type: './pushkins/mine.js#Pushkin'}",
      "",
    ].join("\n"),
  );
  const { warnings } = loadConfig(config);
  const about = (what: string) => warnings.filter((w) => w.includes(what));
  assert.match(
    about("sygnal.yaml")[0] ?? "",
    /^the configuration file: .*sygnal\.yaml can be changed by its group \(mode 0620\)/,
  );
  assert.match(
    about("AuthKey.p8")[0] ?? "",
    /^apps\.com\.example\.ios\.keyfile: .*AuthKey\.p8 can be changed by its group \(mode 0664\), who could then push as this gateway .*: chmod go-w /,
  );
  assert.match(about("ca.pem")[0] ?? "", /^apps\.com\.example\.ios\.ca: .* can be changed by everyone \(mode 0646\)/);
  assert.match(
    about("mine.js")[0] ?? "",
    /^apps\.com\.example\.mine\.type: .*pushkins\/mine\.js can be changed by its group and everyone/,
  );
  assert.deepEqual(about("service-account.json"), [], "a file only its owner can change is not named");
});
