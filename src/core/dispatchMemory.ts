/**
 * What the dispatcher remembers from one request to the next: the devices that already got an event (duplicate
 * suppression) and the tokens a provider declared dead (the dead-token cache).
 *
 * A request asks once, for all its devices, before sending (`recall`), and tells once what it learned, before it is
 * answered (`learn`): so that a memory shared by several processes (through Redis, or a cluster's primary) costs a
 * request at most one round trip before sending and one after, and a homeserver's retry, which only comes after the
 * answer, finds what the first attempt learned.
 */
import type { CacheConfig } from "../config/types.js";
import { ExpiringSet } from "./expiringSet.js";

export interface Recollection {
  /** For each token key asked about, whether its token was declared dead. */
  dead: boolean[];
  /** For each delivery key asked about, whether that device already got that event. */
  delivered: boolean[];
}

export interface Learned {
  dead: string[];
  delivered: string[];
}

export interface DispatchMemory {
  /** Never rejects: a memory that cannot answer answers from what it knows locally, or "not known". */
  recall(tokenKeys: readonly string[], deliveryKeys: readonly string[]): Promise<Recollection>;
  /** Never throws, and is not waited for: a shared memory sends it on its way. */
  learn(learned: Learned): void;
  close(): Promise<void>;
}

/** The memory of one process: two bounded, expiring sets. */
export class LocalMemory implements DispatchMemory {
  readonly deadTokens: ExpiringSet;
  readonly deliveries: ExpiringSet;

  constructor(config: { dead_token_cache: CacheConfig; duplicate_suppression: CacheConfig }) {
    this.deadTokens = new ExpiringSet(config.dead_token_cache);
    this.deliveries = new ExpiringSet(config.duplicate_suppression);
  }

  recallNow(tokenKeys: readonly string[], deliveryKeys: readonly string[]): Recollection {
    return {
      dead: tokenKeys.map((key) => this.deadTokens.has(key)),
      delivered: deliveryKeys.map((key) => this.deliveries.has(key)),
    };
  }

  recall(tokenKeys: readonly string[], deliveryKeys: readonly string[]): Promise<Recollection> {
    return Promise.resolve(this.recallNow(tokenKeys, deliveryKeys));
  }

  learn({ dead, delivered }: Learned): void {
    for (const key of dead) this.deadTokens.add(key);
    for (const key of delivered) this.deliveries.add(key);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
