/**
 * A child process that plays a cluster's primary for the dispatch memory, over its IPC channel: it answers the memory's
 * messages as the primary does, and sends back `{ notMine }` for any other. For tests of what a worker does when the
 * primary misbehaves it obeys `{ helper: "deaf" }` (stops answering), `{ helper: "say", message }`,
 * `{ helper: "mark", path }` (a byte appended to that file after each answer is sent, for a test whose event loop is
 * blocked and cannot read its channel), and `{ helper: "count" }` (answers `{ memoryMessages }`, how many it got).
 */
import { appendFileSync } from "node:fs";
import { answerMemoryMessage } from "../../src/core/clusterMemory.js";
import { LocalMemory } from "../../src/core/dispatchMemory.js";

const cache = { enabled: true, max_entries: 1000, ttl: 600 };
const memory = new LocalMemory({ dead_token_cache: cache, duplicate_suppression: cache });
let deaf = false;
let mark: string | undefined;
let memoryMessages = 0;

process.on("message", (message: unknown) => {
  const order = (typeof message === "object" && message !== null ? message : {}) as {
    helper?: string;
    message?: unknown;
    path?: string;
  };
  const answer = (reply: unknown) => {
    process.send!(reply);
    if (mark) appendFileSync(mark, "x");
  };
  if (order.helper === "deaf") deaf = true;
  else if (order.helper === "say") process.send!(order.message);
  else if (order.helper === "mark") mark = order.path;
  else if (order.helper === "count") process.send!({ memoryMessages });
  else if (deaf) return;
  else if (answerMemoryMessage(memory, message, answer)) memoryMessages++;
  else process.send!({ notMine: message });
});
process.send!({ helper: "ready" });
