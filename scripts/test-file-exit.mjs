// Loaded into every test file's process by scripts/run-tests.mjs (--import): once the file's tests and hooks are done,
// the process exits even if a failed test left a server or a timer behind, so that a failure cannot hang the run.
// node:test's own --test-force-exit does this on Node 22 and later, but on Node 20 it also cuts the report short.
import { after } from "node:test";

// Hooks run in the order they were registered, and this one comes first: the file's own `after` hooks (closing
// sandboxes, draining a Herald) run after it, so the exit waits long enough for them. A file that leaves nothing open
// exits on its own at once; the timer does not hold it.
const GRACE_MS = 10_000;

// Only in a test file's process, not in the runner that reports them.
if (process.env.NODE_TEST_CONTEXT) {
  after(() => {
    setTimeout(() => process.exit(), GRACE_MS).unref();
  });
}
