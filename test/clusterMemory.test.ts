/**
 * A cluster's workers share one dispatch memory, held by the primary (src/core/clusterMemory.ts). Here a real IPC
 * channel to a child process that plays the primary; test/workersShareMemory.test.ts runs a real cluster.
 */
import assert from "node:assert/strict";
import { fork, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { test, type TestContext } from "node:test";
import { answerMemoryMessage, ClusterMemory, RECALL_TIMEOUT_MS } from "../src/core/clusterMemory.js";
import { LocalMemory } from "../src/core/dispatchMemory.js";
import { tempDir } from "./helpers/tempDir.js";
import { within } from "./helpers/waitFor.js";

const cache = { enabled: true, max_entries: 1000, ttl: 600 };
const config = { dead_token_cache: cache, duplicate_suppression: cache };
/** Long enough that only what the test does can settle a recall before it. */
const NEVER_MS = 10 * 60_000;

async function startPrimary(t: TestContext): Promise<ChildProcess> {
  const child = fork(fileURLToPath(new URL("./helpers/memoryPrimary.js", import.meta.url)));
  t.after(() => child.kill("SIGKILL"));
  const [ready] = (await within("the primary to start", once(child, "message"))) as [unknown];
  assert.deepEqual(ready, { helper: "ready" });
  return child;
}

/** A worker's memory whose primary never answers (and which a test may kill). */
async function workerOfDeafPrimary(t: TestContext): Promise<{ primary: ChildProcess; worker: ClusterMemory }> {
  const primary = await startPrimary(t);
  primary.send({ helper: "deaf" });
  return { primary, worker: new ClusterMemory(config, primary, NEVER_MS) };
}

/** How many memory messages the primary has had: those sent before are counted, the channel keeping their order. */
async function memoryMessages(primary: ChildProcess): Promise<number> {
  primary.send({ helper: "count" });
  const [count] = (await within("the count", once(primary, "message"))) as [{ memoryMessages: number }];
  return count.memoryMessages;
}

test("a worker's recall is answered by the primary, from what every worker taught it", async (t) => {
  const primary = await startPrimary(t);
  const first = new ClusterMemory(config, primary);
  first.learn({ dead: ["token-1"], delivered: ["event-1 device-1"] });
  await first.close();
  // Another worker, or this one restarted: nothing of its own yet.
  const second = new ClusterMemory(config, primary);
  t.after(() => second.close());
  assert.deepEqual(await second.recall(["token-1", "token-2"], ["event-1 device-1", "event-2 device-1"]), {
    dead: [true, false],
    delivered: [true, false],
  });
});

test(`a primary that does not answer (stopped): the recall is answered after ${RECALL_TIMEOUT_MS} ms from what the worker learned itself`, async (t) => {
  const primary = await startPrimary(t);
  const other = new ClusterMemory(config, primary);
  other.learn({ dead: ["token-of-another-worker"], delivered: [] });
  const worker = new ClusterMemory(config, primary);
  t.after(() => worker.close());
  worker.learn({ dead: ["token-1"], delivered: ["event-1 device-1"] });
  const before = await memoryMessages(primary);
  assert.deepEqual(await worker.recall(["token-1"], ["event-1 device-1"]), { dead: [true], delivered: [true] });
  await new Promise(setImmediate);
  assert.equal(await memoryMessages(primary), before, "every key known to the worker: the primary was not asked");
  assert.deepEqual(await worker.recall(["token-of-another-worker"], []), { dead: [true], delivered: [] });

  primary.kill("SIGSTOP");
  t.after(() => primary.kill("SIGCONT"));
  const since = performance.now();
  assert.deepEqual(
    await within("the recall, from the worker's own memory", worker.recall(["token-1", "token-of-another-worker"], [])),
    { dead: [true, false], delivered: [] },
  );
  // Timers may fire up to a millisecond early.
  assert.ok(performance.now() - since >= RECALL_TIMEOUT_MS - 1, "the worker waited for the primary first");
  await other.close();
});

test("a worker too busy to read the primary's answer before the timeout still takes it, once it reads", async (t) => {
  const primary = await startPrimary(t);
  const answered = join(tempDir(t, "herald-memory-"), "answered");
  primary.send({ helper: "mark", path: answered });
  const other = new ClusterMemory(config, primary);
  other.learn({ dead: ["token-of-another-worker"], delivered: [] });
  const worker = new ClusterMemory(config, primary);
  t.after(() => Promise.all([worker.close(), other.close()]));
  const recalled = worker.recall(["token-of-another-worker"], []);
  await new Promise(setImmediate); // the recall is sent
  // This event loop is blocked until the primary's answer waits in the channel and the timeout has passed.
  const since = performance.now();
  while (!existsSync(answered) || performance.now() - since < 2 * RECALL_TIMEOUT_MS) {
    if (performance.now() - since > 10_000) throw new Error("the primary did not answer within 10 s");
  }
  assert.deepEqual(await recalled, { dead: [true], delivered: [] });
});

test("the recalls of one turn of the event loop ask the primary in one message, answered in one", async (t) => {
  const primary = await startPrimary(t);
  const worker = new ClusterMemory(config, primary);
  t.after(() => worker.close());
  const recalls = Array.from({ length: 10 }, (_, i) => worker.recall([`token-${i}`], [`event-1 device-${i}`]));
  for (const recalled of await Promise.all(recalls)) assert.deepEqual(recalled, { dead: [false], delivered: [false] });
  assert.equal(await memoryMessages(primary), 1);
});

test("closing the memory answers the recalls still waiting, from the worker's own memory", async (t) => {
  const { worker } = await workerOfDeafPrimary(t);
  worker.learn({ dead: [], delivered: ["event-1 device-1"] });
  const waiting = worker.recall(["token-1"], ["event-1 device-1"]);
  await worker.close();
  assert.deepEqual(await within("the waiting recall", waiting), { dead: [false], delivered: [true] });
  assert.deepEqual(await within("a recall after closing", worker.recall(["token-1"], [])), {
    dead: [false],
    delivered: [],
  });
});

test("the primary gone: recalls waiting are answered at once, and later ones without asking", async (t) => {
  const { primary, worker } = await workerOfDeafPrimary(t);
  t.after(() => worker.close());
  const waiting = worker.recall(["token-1"], []);
  primary.kill("SIGKILL");
  assert.deepEqual(await within("the waiting recall", waiting), { dead: [false], delivered: [] });
  assert.deepEqual(await within("a recall after", worker.recall(["token-1"], [])), { dead: [false], delivered: [] });
});

test("a worker reads only its own answers: another version's, or another id's, are ignored", async (t) => {
  const { primary, worker } = await workerOfDeafPrimary(t);
  t.after(() => worker.close());
  const waiting = worker.recall(["token-1"], []);
  const answer = (id: number, dead: boolean) => ({ id, dead: [dead], delivered: [] });
  const message = { herald: "memory-answer", v: 1, answers: [answer(1, true)] };
  for (const wrong of [
    { ...message, v: 2 },
    { ...message, answers: [answer(2, true)] },
    { ...message, herald: "ready" },
    { type: "prom-client:getMetricsReq", requestId: 1 },
  ])
    primary.send({ helper: "say", message: wrong });
  // Messages on the channel keep their order: when this one is read, the others have been.
  primary.send({ helper: "say", message: { ...message, answers: [answer(1, false)] } });
  assert.deepEqual(await within("the answer", waiting), { dead: [false], delivered: [] });
});

test("the primary answers only this version's memory messages, and a malformed one does not end it", async (t) => {
  const primary = await startPrimary(t);
  const foreign = [
    { herald: "ready" },
    { type: "prom-client:getMetricsReq", requestId: 1 },
    { herald: "memory-ask", v: 2, recalls: [{ id: 1, tokenKeys: [], deliveryKeys: [] }], dead: [], delivered: [] },
    "memory-recall",
    7,
  ];
  for (const message of foreign) {
    primary.send(message);
    const [reply] = (await within("the primary's reply", once(primary, "message"))) as [unknown];
    assert.deepEqual(reply, { notMine: message });
  }
  const local = new LocalMemory(config);
  let replies = 0;
  for (const malformed of [
    { herald: "memory-ask", v: 1, recalls: [{ id: 1, tokenKeys: [7], deliveryKeys: [] }], dead: [], delivered: [] },
    { herald: "memory-ask", v: 1, recalls: [null], dead: "token-1", delivered: [] },
    { herald: "memory-ask", v: 1, recalls: "token-1", dead: [], delivered: [{}] },
    { herald: "memory-answer", v: 1, answers: [] },
  ])
    assert.equal(
      answerMemoryMessage(local, malformed, () => replies++),
      true,
    );
  assert.equal(replies, 0);
});
