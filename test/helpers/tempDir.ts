/**
 * Temporary directories that are removed when their owner ends, pass or fail, so that a run leaves nothing in /tmp
 * (some hold test private keys). The test runner checks that: see scripts/run-tests.mjs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Who removes the directory: a test's `t` (when the test ends), or node:test's `after` (when the suite or file ends). */
export type Owner = { after(fn: () => unknown): unknown } | ((fn: () => unknown) => unknown);

/**
 * A new, empty directory under the OS temp directory, removed when `owner` ends. Pass `after` only at a file's or a
 * `describe`'s top level: inside a hook, node:test would run it when the hook returns.
 */
export function tempDir(owner: Owner, prefix = "herald-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => rmSync(dir, { recursive: true, force: true });
  if (typeof owner === "function") owner(remove);
  else owner.after(remove);
  return dir;
}
