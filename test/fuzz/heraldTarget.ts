/** What every fuzz target started from a test Herald shares: its port, its error lines and its health check. */
import assert from "node:assert/strict";
import type { TestHerald } from "../helpers/herald.js";
import type { FuzzTarget } from "./harness.js";

export function heraldProbes(herald: TestHerald): Omit<FuzzTarget, "stop"> {
  return {
    port: Number(new URL(herald.url).port),
    takeErrors: () =>
      herald.logs
        .splice(0)
        .filter((line) => Number(line.level) >= 50)
        .map((line) => JSON.stringify(line).slice(0, 500)),
    async checkHealth() {
      const res = await fetch(`${herald.url}/health`);
      assert.equal(res.status, 200, "/health");
    },
  };
}
