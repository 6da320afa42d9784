/**
 * The primary's side of a cluster's shared dispatch memory (src/core/clusterMemory.ts) in a process of its own, for
 * the micro-benchmark of a recall through the primary: forked by micro.ts, answers over its IPC channel.
 */
import { answerMemoryMessage } from "../src/core/clusterMemory.js";
import { LocalMemory } from "../src/core/dispatchMemory.js";
import { MEMORY_CONFIG } from "./micro.js";

const memory = new LocalMemory(MEMORY_CONFIG);
process.on("message", (message: unknown) => answerMemoryMessage(memory, message, (answer) => process.send!(answer)));
process.send!("ready");
