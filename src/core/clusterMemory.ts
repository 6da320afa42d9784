/**
 * The dispatch memory of a cluster (`http.workers` > 1): the primary holds one `LocalMemory` for every worker of the
 * machine, and each worker asks it over the cluster's IPC channel. A homeserver's retry that lands on another worker
 * is then recognised, and a token one worker learned dead is dead for all.
 *
 * A learn is one message to the primary, sent at once, before the request is answered, and not answered. A recall is
 * one round trip; the recalls a worker makes in one turn of its event loop ask in one message (with a learn, if one
 * goes first), answered in one: under load a worker asks once for many requests. The primary may be busy or a
 * message lost: a recall not answered within `RECALL_TIMEOUT_MS` is answered from the worker's own mirror (what this
 * worker learned), so a push never waits on the primary for longer than that. Every answer is also checked against
 * the mirror, and a recall the mirror can answer alone does not ask the primary at all.
 *
 * Messages are tagged like the cluster's others (`herald`, see cluster.ts) and carry the protocol's version: a side
 * ignores what is not its own, prom-client's metrics requests on the same channel among them.
 */
import type { CacheConfig } from "../config/types.js";
import { LocalMemory, type DispatchMemory, type Learned, type Recollection } from "./dispatchMemory.js";

/** Long enough for a round trip through a primary on a loaded machine (well under a millisecond when idle). */
export const RECALL_TIMEOUT_MS = 50;

const VERSION = 1;

type RecallRequest = { id: number; tokenKeys: string[]; deliveryKeys: string[] };
type RecallAnswer = { id: number } & Recollection;
/** A worker's recalls and what it learned, since its last message. */
type Ask = { herald: "memory-ask"; v: typeof VERSION; recalls: RecallRequest[] } & Learned;
/** The primary's answers to one `Ask`'s recalls. */
type Answer = { herald: "memory-answer"; v: typeof VERSION; answers: RecallAnswer[] };
export type MemoryMessage = Ask | Answer;

/** The worker's end of the IPC channel to the primary: `process` in a worker (a `ChildProcess` also fits). */
export interface Channel {
  readonly connected: boolean;
  send?(message: MemoryMessage, callback: (error: Error | null) => void): boolean;
  on(event: "message", listener: (message: unknown) => void): unknown;
  on(event: "disconnect", listener: () => void): unknown;
  off(event: "message", listener: (message: unknown) => void): unknown;
  off(event: "disconnect", listener: () => void): unknown;
}

type MemoryConfig = { dead_token_cache: CacheConfig; duplicate_suppression: CacheConfig };

/** In a worker: the memory the primary holds, with this worker's own as the fallback. */
export class ClusterMemory implements DispatchMemory {
  private readonly mirror: LocalMemory;
  /** Recalls waiting for the primary, by id: each settles with the primary's answer, or with none from the mirror. */
  private readonly pending = new Map<number, (primary?: Recollection) => void>();
  /** Recalls not yet sent: they go together at the end of this turn of the event loop, or with the next learn. */
  private queued: RecallRequest[] = [];
  private nextId = 1;
  private listening = false;
  private closed = false;

  constructor(
    config: MemoryConfig,
    private readonly channel: Channel,
    private readonly recallTimeoutMs = RECALL_TIMEOUT_MS,
  ) {
    this.mirror = new LocalMemory(config);
  }

  recall(tokenKeys: readonly string[], deliveryKeys: readonly string[]): Promise<Recollection> {
    const known = this.mirror.recallNow(tokenKeys, deliveryKeys);
    if (this.closed || !this.channel.connected || everyKeyKnown(known)) return Promise.resolve(known);
    this.listen();
    const id = this.nextId++;
    return new Promise<Recollection>((resolve) => {
      const settle = (primary?: Recollection) => {
        if (!this.pending.delete(id)) return;
        clearTimeout(timer);
        resolve(primary ? either(primary, known) : known);
      };
      // A worker too busy to read its channel in time finds the timer and the answer due together, and timers come
      // first: the answer, read in this same turn of the event loop, is let in before the mirror answers.
      // Not unref'd: a request waits on it, and it ends within the timeout.
      const timer = setTimeout(() => setImmediate(settle), this.recallTimeoutMs);
      this.pending.set(id, settle);
      // The requests read in one turn of the event loop ask in one message: under load, fewer and larger messages.
      if (this.queued.length === 0) setImmediate(() => this.send({ dead: [], delivered: [] }));
      this.queued.push({ id, tokenKeys: [...tokenKeys], deliveryKeys: [...deliveryKeys] });
    });
  }

  /** Sent at once, before the request is answered: a retry, which comes after the answer, is asked about after it. */
  learn(learned: Learned): void {
    this.mirror.learn(learned);
    if (learned.dead.length + learned.delivered.length === 0 || this.closed) return;
    this.send(learned);
  }

  /** Recalls still waiting are answered from the mirror; later ones are too. */
  close(): Promise<void> {
    this.closed = true;
    this.queued = [];
    this.answerAllLocally();
    if (this.listening) {
      this.channel.off("message", this.onMessage);
      this.channel.off("disconnect", this.answerAllLocally);
      this.listening = false;
    }
    return Promise.resolve();
  }

  /** Listening starts at the first recall: a memory never asked holds nothing open. */
  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    this.channel.on("message", this.onMessage);
    this.channel.on("disconnect", this.answerAllLocally);
  }

  private readonly onMessage = (message: unknown) => {
    if (!isMemoryMessage(message) || message.herald !== "memory-answer" || !Array.isArray(message.answers)) return;
    for (const answer of message.answers) this.pending.get(answer?.id)?.(answer);
  };

  /** The primary is gone, or this memory closes: nothing waits for an answer that will not come. */
  private readonly answerAllLocally = () => {
    for (const settle of [...this.pending.values()]) settle();
  };

  /** What was learned, with the recalls queued; a message that cannot be sent answers its recalls from the mirror. */
  private send(learned: Learned): void {
    const recalls = this.queued;
    if (recalls.length === 0 && learned.dead.length + learned.delivered.length === 0) return;
    this.queued = [];
    const failed = () => recalls.forEach(({ id }) => this.pending.get(id)?.());
    const message: Ask = {
      herald: "memory-ask",
      v: VERSION,
      recalls,
      dead: learned.dead,
      delivered: learned.delivered,
    };
    try {
      if (!this.channel.connected || !this.channel.send) return failed();
      this.channel.send(message, (error) => error && failed());
    } catch {
      failed();
    }
  }
}

/**
 * In the primary: takes in what a worker learned and answers its recalls from `memory`; returns false for any other
 * message, which is left to whoever reads it.
 */
export function answerMemoryMessage(
  memory: LocalMemory,
  message: unknown,
  reply: (answer: MemoryMessage) => void,
): boolean {
  if (!isMemoryMessage(message)) return false;
  if (message.herald !== "memory-ask") return true;
  // Malformed parts are dropped: a throw here would end the primary, and every worker with it.
  if (areStrings(message.dead) && areStrings(message.delivered)) memory.learn(message);
  if (!Array.isArray(message.recalls)) return true;
  const answers: RecallAnswer[] = [];
  for (const recall of message.recalls as unknown[]) {
    const { id, tokenKeys, deliveryKeys } = (recall ?? {}) as Partial<RecallRequest>;
    if (areStrings(tokenKeys) && areStrings(deliveryKeys))
      answers.push({ id: id!, ...memory.recallNow(tokenKeys, deliveryKeys) });
  }
  if (answers.length > 0) reply({ herald: "memory-answer", v: VERSION, answers });
  return true;
}

/** This version's messages only: another version's (a worker started from newer files) are not read. */
function isMemoryMessage(message: unknown): message is MemoryMessage {
  if (typeof message !== "object" || message === null) return false;
  const { herald, v } = message as { herald?: unknown; v?: unknown };
  return typeof herald === "string" && herald.startsWith("memory-") && v === VERSION;
}

function areStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

function everyKeyKnown(known: Recollection): boolean {
  return known.dead.every(Boolean) && known.delivered.every(Boolean);
}

/** What either knows; `a` (the primary's answer) is read defensively. */
function either(a: Partial<Recollection>, b: Recollection): Recollection {
  return {
    dead: b.dead.map((known, i) => known || a.dead?.[i] === true),
    delivered: b.delivered.map((known, i) => known || a.delivered?.[i] === true),
  };
}
