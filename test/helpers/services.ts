/**
 * The services some tests need and this machine may not have: where to reach them, or why their tests cannot run.
 * Such a test is reported as skipped with that reason, never as passed; under CI=true it fails with the reason
 * instead, since CI must run every test.
 */
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import * as nodeTest from "node:test";

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
