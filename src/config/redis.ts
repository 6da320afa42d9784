/**
 * What the schema cannot check of the `redis` section: that its URL parses as Redis's clients read it, that asking
 * Redis leaves time to push, and the one combination Herald does not offer. Messages show the URL only without its
 * secrets.
 */
import { withoutSecrets } from "../core/urlSecrets.js";
import type { RedisConfig } from "./types.js";

export function redisProblems(redis: RedisConfig | undefined, requestDeadline: number): string[] {
  if (!redis) return [];
  const problems: string[] = [];
  if (redis.recall_timeout >= requestDeadline)
    problems.push(
      `redis.recall_timeout: ${redis.recall_timeout} s leaves no time to push within request_deadline (${requestDeadline} s): make it a small part of it`,
    );
  const shown = withoutSecrets(redis.url);
  let url: URL | undefined;
  try {
    url = new URL(redis.url);
  } catch {
    problems.push(
      `redis.url: ${shown} is not a URL (in the password, write characters such as / ? # % as %2F %3F %23 %25)`,
    );
  }
  if (url) {
    if (!redis.sentinel && url.hostname === "") problems.push(`redis.url: ${shown} names no host`);
    if (!/^(\/\d*)?$/.test(url.pathname))
      problems.push(`redis.url: ${shown}: the path, if any, is a database number (/0), found ${url.pathname}`);
    // Redis's client would take a query's parameters for its own options, overriding Herald's.
    if (url.search !== "") problems.push(`redis.url: ${shown}: takes no query (?...): the section's keys say the rest`);
  }
  const tls = redis.url.startsWith("rediss://");
  if (redis.ca !== undefined && !tls)
    problems.push("redis.ca: given, but redis.url is not rediss://: the connection would not use TLS");
  if (redis.sentinel && tls)
    problems.push("redis.sentinel: Herald reaches Redis through Sentinel without TLS only: use redis://");
  return problems;
}
