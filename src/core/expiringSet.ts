/**
 * A bounded set of keys that forget themselves after a while: the memory behind the dead-token cache and duplicate
 * suppression. Least recently used keys go first when it is full. A disabled set remembers nothing.
 *
 * Keys are kept as given: the dispatcher's are already short digests (`memoryKeys.ts`).
 */
import { LRUCache } from "lru-cache";
import type { CacheConfig } from "../config/types.js";

export class ExpiringSet {
  private readonly cache: LRUCache<string, true> | undefined;

  constructor(config: CacheConfig) {
    this.cache = config.enabled
      ? new LRUCache<string, true>({ max: config.max_entries, ttl: config.ttl * 1000 })
      : undefined;
  }

  has(key: string): boolean {
    return this.cache?.has(key) ?? false;
  }

  add(key: string): void {
    this.cache?.set(key, true);
  }

  get size(): number {
    return this.cache?.size ?? 0;
  }
}
