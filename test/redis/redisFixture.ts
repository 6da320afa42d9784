/** What the Redis tests share: a key prefix of each test's own, and its removal; URLs through a relay; metrics; logs. */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import type { TestHerald } from "../helpers/herald.js";

/** A prefix no other test or user of the shared Redis writes under. */
export function uniquePrefix(): string {
  return `herald-test:${randomUUID()}:`;
}

/** Removes every key under `prefix`: a shared Redis is left as it was found (never flushed). */
export async function removeKeys(url: string, prefix: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    const keys = await keysUnder(client, prefix);
    if (keys.length > 0) await client.del(...keys);
  } finally {
    client.disconnect();
  }
}

/** The keys under `prefix`, by SCAN (not KEYS, which holds a shared Redis). */
export async function keysUnder(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await client.scan(cursor, "MATCH", `${escapeGlob(prefix)}*`, "COUNT", 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== "0");
  return keys;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

/** `url` with its host and port replaced by a loopback port (a relay's), its credentials and database kept. */
export function atPort(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.hostname = "127.0.0.1";
  parsed.port = String(port);
  return parsed.toString();
}

/** The value of a metric of `herald`'s registry, for the sample whose labels include `labels`. */
export async function metric(
  herald: TestHerald,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const found = herald.herald.metrics.registry.getSingleMetric(name);
  if (!found) return undefined;
  const { values } = await found.get();
  return values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value))?.value;
}

/** The log lines whose message matches. */
export function logged(herald: TestHerald, message: RegExp): Record<string, unknown>[] {
  return herald.logs.filter((line) => typeof line.msg === "string" && message.test(line.msg));
}

export const UNUSABLE = /^Redis is unusable/;
export const BACK = /^Redis is back/;
