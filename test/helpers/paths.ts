import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** The repository root (tests run from dist/test/). */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
/** The shared reference material beside the repository (`../shared`), or $HERALD_SHARED. */
export const sharedDir = process.env.HERALD_SHARED ?? join(repoRoot, "..", "shared");
export const fixturesDir = join(sharedDir, "sygnal-fixtures");
/** The compiled CLI. */
export const heraldBin = join(repoRoot, "dist", "src", "main.js");
/** The compiled test pushkin, for `type:` in test configs. */
export const testPushkinPath = fileURLToPath(new URL("./testPushkin.js", import.meta.url));
