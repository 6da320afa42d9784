/**
 * Duplicate suppression and the dead-token cache shared through Redis (the `redis` section), by every worker and every
 * instance that names the same Redis and key prefix: a homeserver's retry that lands on another process finds what
 * the first attempt learned.
 *
 * Redis trouble never fails or holds a push. A request asks Redis once (one `MGET` for all its keys) and waits at
 * most `recall_timeout`; past it, or on an error, or while the client is not connected, it is answered from this
 * process's own memory, which keeps everything this process learned (so one instance keeps its guarantees while
 * Redis is away). What a request learned is sent as one pipeline of `SET key 1 PX ttl`, not waited for. Commands are
 * refused at once while the client is not connected rather than queued (`enableOfflineQueue: false`), and a
 * connection that gets no answer for `command_timeout` is closed and opened again: the client reconnects by itself.
 * Becoming unusable and recovering are logged once each, and shown by `herald_shared_state_ok`.
 *
 * Keys are the memory's digests (`memoryKeys.ts`) under the prefix and a version segment, so that a later change of
 * what a key holds cannot read the old ones: `herald:v1:dead:<digest>`, `herald:v1:delivered:<digest>`. Redis
 * bounds them by their TTL (and by its own `maxmemory`), not by `max_entries`, which bounds the local copy.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { CacheConfig, RedisConfig } from "../config/types.js";
import { sharedCounter, sharedGauge } from "../observability/metrics.js";
import { LocalMemory, type DispatchMemory, type Learned, type Recollection } from "./dispatchMemory.js";
import { withoutSecrets } from "./urlSecrets.js";

export interface RedisMemoryOptions {
  redis: RedisConfig;
  dead_token_cache: CacheConfig;
  duplicate_suppression: CacheConfig;
  /** The config file's directory, where `redis.ca` is found. */
  dir: string;
  registry: Registry;
  log: Logger;
}

/** The segment that says what the keys' format is; a new format takes a new one. */
const KEY_VERSION = "v1";
/** Between attempts to reconnect: growing by 100 ms an attempt, up to this. */
const MAX_RECONNECT_DELAY_MS = 2000;
/** At shutdown, how long Redis may take to acknowledge QUIT before the connection is cut. */
const QUIT_WAIT_MS = 1000;

type Operation = "recall" | "learn" | "connect";

export class RedisMemory implements DispatchMemory {
  private readonly local: LocalMemory;
  private readonly client: Redis;
  private readonly shown: string;
  private readonly log: Logger;
  private readonly recallTimeoutMs: number;
  private readonly dead: { enabled: boolean; ttlMs: number; prefix: string };
  private readonly delivered: { enabled: boolean; ttlMs: number; prefix: string };
  private readonly ok;
  private readonly failures;
  /** Undefined until the first connection succeeds or fails. */
  private usable: boolean | undefined;
  private closing = false;

  /** Connects, waiting at most `connect_timeout` for Redis: an unusable Redis is logged, never thrown. */
  static async open(options: RedisMemoryOptions): Promise<RedisMemory> {
    const memory = new RedisMemory(options);
    await memory.firstConnection(options.redis.connect_timeout * 1000);
    return memory;
  }

  private constructor(options: RedisMemoryOptions) {
    const { redis } = options;
    this.local = new LocalMemory(options);
    this.shown = withoutSecrets(redis.url);
    this.log = options.log.child({ redis: this.shown });
    this.recallTimeoutMs = redis.recall_timeout * 1000;
    const keys = (kind: string, cache: CacheConfig) => ({
      enabled: cache.enabled,
      ttlMs: Math.max(1, Math.round(cache.ttl * 1000)),
      prefix: `${redis.key_prefix}${KEY_VERSION}:${kind}:`,
    });
    this.dead = keys("dead", options.dead_token_cache);
    this.delivered = keys("delivered", options.duplicate_suppression);
    this.ok = sharedGauge(options.registry, {
      name: "herald_shared_state_ok",
      help: "1 while duplicate suppression and the dead-token cache are shared through Redis; 0 while Redis is unusable and each process answers from its own memory",
      // With http.workers: 0 as soon as one worker cannot use Redis.
      aggregator: "min",
    });
    this.ok.set(0);
    this.failures = sharedCounter(options.registry, {
      name: "herald_shared_state_failures_total",
      help: "Redis failures: a request answered from this process's memory (recall: Redis failed, was not connected or did not answer within redis.recall_timeout), what a request learned not stored (learn), an attempt to connect that failed, or an error on the connection (connect)",
      labelNames: ["operation"] as const,
    });
    for (const operation of ["recall", "learn", "connect"] as const) this.failures.labels(operation).inc(0);
    this.client = new Redis(redis.url, clientOptions(redis, options.dir));
    this.client.on("ready", () => this.succeeded());
    this.client.on("error", (error: Error) => this.failed("connect", error.message));
    this.client.on("close", () => this.failed(undefined, "the connection closed"));
  }

  recall(tokenKeys: readonly string[], deliveryKeys: readonly string[]): Promise<Recollection> {
    const local = this.local.recallNow(tokenKeys, deliveryKeys);
    const asked = [
      ...(this.dead.enabled ? tokenKeys.map((key) => this.dead.prefix + key) : []),
      ...(this.delivered.enabled ? deliveryKeys.map((key) => this.delivered.prefix + key) : []),
    ];
    if (asked.length === 0) return Promise.resolve(local);
    if (this.client.status !== "ready") {
      this.failed("recall", "not connected");
      return Promise.resolve(local);
    }
    return new Promise((answer) => {
      let answered = false;
      const timer = setTimeout(() => {
        answered = true;
        this.failed("recall", `no answer within ${this.recallTimeoutMs} ms (redis.recall_timeout)`);
        answer(local);
      }, this.recallTimeoutMs);
      // A late answer is dropped, and says nothing of Redis: the timeout already counted.
      this.client.mget(asked).then(
        (values) => {
          if (answered) return;
          answered = true;
          clearTimeout(timer);
          this.succeeded();
          const remembered = (i: number) => values[i] !== null && values[i] !== undefined;
          const deadCount = this.dead.enabled ? tokenKeys.length : 0;
          answer({
            dead: local.dead.map((known, i) => known || (this.dead.enabled && remembered(i))),
            delivered: local.delivered.map(
              (known, i) => known || (this.delivered.enabled && remembered(deadCount + i)),
            ),
          });
        },
        (error: Error) => {
          if (answered) return;
          answered = true;
          clearTimeout(timer);
          this.failed("recall", error.message);
          answer(local);
        },
      );
    });
  }

  learn(learned: Learned): void {
    this.local.learn(learned);
    const dead = this.dead.enabled ? learned.dead : [];
    const delivered = this.delivered.enabled ? learned.delivered : [];
    if (dead.length + delivered.length === 0) return;
    if (this.client.status !== "ready") return this.failed("learn", "not connected");
    const pipeline = this.client.pipeline();
    for (const key of dead) pipeline.set(this.dead.prefix + key, "1", "PX", this.dead.ttlMs);
    for (const key of delivered) pipeline.set(this.delivered.prefix + key, "1", "PX", this.delivered.ttlMs);
    pipeline.exec().then(
      (results) => {
        // One error is enough to say why: they share their cause (out of memory, a read-only replica).
        const error = results?.find(([error]) => error)?.[0];
        if (error) this.failed("learn", error.message);
        else this.succeeded();
      },
      (error: Error) => this.failed("learn", error.message),
    );
  }

  /** Lets Redis acknowledge what was sent, for at most a second, then cuts the connection. */
  async close(): Promise<void> {
    this.closing = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.quit(),
        new Promise((resolve) => (timer = setTimeout(resolve, QUIT_WAIT_MS).unref())),
      ]);
    } catch {
      // Not connected: nothing to acknowledge.
    } finally {
      clearTimeout(timer);
      this.client.disconnect();
    }
  }

  private async firstConnection(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const settled = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      const check = () => {
        if (this.usable !== undefined) resolve();
      };
      this.client.once("ready", check).once("error", check).once("close", check);
    });
    await settled;
    clearTimeout(timer);
    if (this.usable === undefined)
      this.failed("connect", `no connection within ${timeoutMs} ms (redis.connect_timeout)`);
  }

  private succeeded(): void {
    if (this.closing || this.usable === true) return;
    const before = this.usable;
    this.usable = true;
    this.ok.set(1);
    if (before === undefined) this.log.info("Duplicate suppression and the dead-token cache are shared through Redis");
    else this.log.info("Redis is back: duplicate suppression and the dead-token cache are shared again");
  }

  private failed(operation: Operation | undefined, reason: string): void {
    if (this.closing) return;
    if (operation) this.failures.labels(operation).inc();
    if (this.usable === false) return;
    this.usable = false;
    this.ok.set(0);
    this.log.warn(
      { reason },
      "Redis is unusable: each process answers duplicate suppression and the dead-token cache from its own memory until it is back",
    );
  }
}

function clientOptions(redis: RedisConfig, dir: string): RedisOptions {
  const options: RedisOptions = {
    connectTimeout: redis.connect_timeout * 1000,
    commandTimeout: redis.command_timeout * 1000,
    // A connection waiting for answers that gets none for this long is taken for dead, and replaced.
    socketTimeout: redis.command_timeout * 1000,
    // Refused at once while not connected, instead of queued: the request answers from local memory.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS),
    // A primary that became a replica (a failover) refuses writes: connect again, to wherever the primary is now.
    reconnectOnError: (error) => (error.message.startsWith("READONLY") ? 1 : false),
    connectionName: "herald",
    // The commands of the requests in one turn of the event loop go out in one write and come back in one read:
    // under load, one system call for many requests' MGETs instead of one each.
    enableAutoPipelining: true,
  };
  if (redis.ca !== undefined) {
    const path = resolve(dir, redis.ca);
    try {
      options.tls = { ca: readFileSync(path) };
    } catch (error) {
      throw new Error(`redis.ca: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  if (redis.sentinel) {
    options.name = redis.sentinel.master_name;
    options.sentinels = redis.sentinel.nodes.map(hostAndPort);
    options.sentinelUsername = redis.sentinel.username;
    options.sentinelPassword = redis.sentinel.password;
    options.sentinelRetryStrategy = (attempt) => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS);
    // Listens for the sentinels' announcement of a new primary, and moves to it at once: the old one may go on
    // taking writes until Sentinel reconfigures it, seconds later, and what it is told then is lost.
    options.failoverDetector = true;
  }
  return options;
}

/** `host:port`, `[::1]:26379` (checked by the schema). */
function hostAndPort(node: string): { host: string; port: number } {
  const colon = node.lastIndexOf(":");
  return { host: node.slice(0, colon).replace(/^\[|\]$/g, ""), port: Number(node.slice(colon + 1)) };
}
