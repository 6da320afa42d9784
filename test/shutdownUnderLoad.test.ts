/**
 * SIGTERM under load, on a real `herald serve` process pushing to the sandbox APNs: every request Herald accepted is
 * finished (200, its push delivered) or answered 503 with Retry-After; a request it never accepted fails to connect,
 * which a homeserver retries. Nothing is lost: no push reached Apple without its request being answered 200, and no
 * 200 was given for a push that did not reach Apple.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { request } from "node:http";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { stringify } from "yaml";
import { SANDBOX_APPS, startSandbox } from "../src/sandbox/index.js";
import { heraldBin } from "./helpers/paths.js";

const CLIENTS = 16;

type Outcome = { token: string } & ({ status: number; retryAfter?: string } | { error: string });

/** One POST on a connection of its own, so that a connection the listener never accepted shows as such. */
function notify(port: number, token: string): Promise<Outcome> {
  const body = JSON.stringify({
    notification: {
      event_id: `$${token}`,
      counts: { unread: 1 },
      devices: [{ app_id: SANDBOX_APPS.apns, pushkey: Buffer.from(token, "hex").toString("base64") }],
    },
  });
  return new Promise((resolve) => {
    const req = request(
      { host: "127.0.0.1", port, method: "POST", path: "/_matrix/push/v1/notify", agent: false },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve({ token, status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] as string | undefined }),
        );
      },
    );
    req.on("error", (error: NodeJS.ErrnoException) => resolve({ token, error: error.code ?? error.message }));
    req.end(body);
  });
}

test(
  "SIGTERM under load: every accepted request finishes or gets 503; nothing is lost",
  { timeout: 60_000 },
  async () => {
    const sandbox = await startSandbox();
    sandbox.apns.faults = { latencyMs: [20, 120] };
    const config = join(mkdtempSync(join(tmpdir(), "herald-sigterm-")), "sygnal.yaml");
    writeFileSync(
      config,
      stringify({ http: { port: 0 }, log: { level: "info" }, shutdown_timeout: 20, apps: sandbox.apps() }),
    );
    const child = spawn(process.execPath, [heraldBin, "serve", "--config", config]);
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      let listening: RegExpMatchArray | null = null;
      while (!(listening = output.match(/"port":(\d+),"msg":"Listening for push requests"/))) {
        await new Promise((r) => setTimeout(r, 20));
      }
      const port = Number(listening[1]);

      const outcomes: Outcome[] = [];
      let sent = 0;
      const client = async (c: number) => {
        for (;;) {
          const token = `${c.toString(16).padStart(4, "0")}${(++sent).toString(16).padStart(60, "0")}`;
          const outcome = await notify(port, token);
          outcomes.push(outcome);
          if ("error" in outcome) return; // the listener is gone
        }
      };
      const load = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
      while (outcomes.filter((o) => "status" in o && o.status === 200).length < 50) {
        await new Promise((r) => setTimeout(r, 10));
      }
      child.kill("SIGTERM");
      await load;
      assert.equal(await exited, 0, output.slice(-2000));

      const answered = new Map(outcomes.filter((o) => "status" in o).map((o) => [o.token, o]));
      for (const outcome of outcomes) {
        if ("error" in outcome) {
          assert.match(outcome.error, /^(ECONNREFUSED|ECONNRESET)$/, "only a connection the listener never accepted");
        } else if (outcome.status === 503) {
          assert.equal(outcome.retryAfter, "1");
        } else {
          assert.equal(outcome.status, 200);
        }
      }
      const delivered = new Set(sandbox.apns.received.map((push) => push.token));
      for (const token of delivered) {
        assert.equal(
          (answered.get(token) as { status?: number } | undefined)?.status,
          200,
          `a push reached Apple, and its request was answered 200: ${token}`,
        );
      }
      for (const [token, outcome] of answered) {
        if ("status" in outcome && outcome.status === 200)
          assert.ok(delivered.has(token), `200 means delivered: ${token}`);
      }
      assert.match(output, /"msg":"Shut down"/);
    } finally {
      child.kill("SIGKILL");
      await sandbox.close();
    }
  },
);
