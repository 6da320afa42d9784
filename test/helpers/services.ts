/**
 * The services some tests need and this machine may not have: where to reach them, or why their tests cannot run.
 * Such a test is reported as skipped with that reason, never as passed; under CI=true it fails with the reason
 * instead, since CI must run every test.
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import * as nodeTest from "node:test";
import { hasRedisServer, pings, REDIS_SERVER, startRedisServer } from "./redisServer.js";

export interface Service {
  /** Where to reach it (a URL, or a command's path); undefined when it is not configured. */
  url: string | undefined;
  /** Why its tests cannot run here, or false when they can. */
  missing: string | false;
}

export const underCi = !["", "0", "false"].includes((process.env.CI ?? "").toLowerCase());

function service(name: string, variable: string, example: string): Service {
  const url = process.env[variable] || undefined;
  if (url) return { url, missing: false };
  return { url: undefined, missing: `${name} is not configured: set ${variable} (e.g. ${example}) to run these tests` };
}

/** The PostgreSQL database of `HERALD_TEST_DATABASE_URL`; each test works in a schema of its own. */
export function postgres(): Service {
  return service("PostgreSQL", "HERALD_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test");
}

/**
 * A Redis: `HERALD_TEST_REDIS_URL` when set; else the machine's on 127.0.0.1:6379 when it answers; else one started
 * here from `redis-server` (killed when the test file's process exits). Tests share it: each keeps to a key prefix of
 * its own and never flushes it.
 */
export async function redis(): Promise<Service> {
  const configured = process.env.HERALD_TEST_REDIS_URL || undefined;
  if (configured) return { url: configured, missing: false };
  if (await pings(6379)) return { url: "redis://127.0.0.1:6379", missing: false };
  if (hasRedisServer()) return { url: (await startRedisServer()).url, missing: false };
  return {
    url: undefined,
    missing: `Redis is not available: no Redis answers on 127.0.0.1:6379, there is no ${REDIS_SERVER} to start, and HERALD_TEST_REDIS_URL is not set (e.g. redis://127.0.0.1:6379)`,
  };
}

/** `redis-server` itself, for tests that start their own Redis (to stop it, or with TLS or Sentinel). */
export function redisServer(): Service {
  if (hasRedisServer()) return { url: undefined, missing: false };
  return { url: undefined, missing: `${REDIS_SERVER} is not installed (Debian: apt-get install redis-server)` };
}

/** A command on PATH (`promtool`), where it is; `install` says how to get it when it is missing. */
export function command(name: string, install: string): Service {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return { url: path, missing: false };
    } catch {
      // not in this directory
    }
  }
  return { url: undefined, missing: `${name} is not installed: ${install} to run these tests` };
}

type Suite = Pick<typeof nodeTest, "test" | "before" | "after">;

/**
 * node:test's `test` and hooks for a suite that needs a service. When it is `missing`, every test is reported
 * skipped with why (under CI=true: failed with why), and the hooks, which would set the service up, do not run:
 * node:test runs `before` and `after` even when every test is skipped. Each test is skipped rather than their
 * `describe`, so that the run counts them: a skipped suite counts as no skipped test at all.
 */
export function unless(missing: string | false): Suite {
  if (!missing) return { test: nodeTest.test, before: nodeTest.before, after: nodeTest.after };
  const test = (name: string, ...rest: unknown[]) => {
    if (underCi) {
      return nodeTest.test(name, () => {
        throw new Error(`CI=true, and ${missing}`);
      });
    }
    const fn = rest.find((arg) => typeof arg === "function") as (() => void) | undefined;
    return nodeTest.test(name, { skip: missing }, fn);
  };
  const hook = () => {};
  return { test: test as unknown as typeof nodeTest.test, before: hook, after: hook };
}
