/**
 * A bounded set of keys that forget themselves after a while: the memory behind the dead-token cache and duplicate
 * suppression. Least recently used keys go first when it is full. A disabled set remembers nothing.
 *
 * Keys are kept as their SHA-1 digest (27 characters), not as given: a key made of an event id, an app id and a
 * pushkey is several hundred bytes, and a full set holds a hundred thousand of them. A collision, which would make
 * two keys one, is as likely as a SHA-1 collision.
 */
import { hash } from "node:crypto";
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
    return this.cache?.has(keyDigest(key)) ?? false;
  }

  add(key: string): void {
    this.cache?.set(keyDigest(key), true);
  }

  get size(): number {
    return this.cache?.size ?? 0;
  }
}

/** The form a key is kept in, here and in Redis (`redisMemory.ts`). */
export function keyDigest(key: string): string {
  return hash("sha1", key, "base64url");
}
