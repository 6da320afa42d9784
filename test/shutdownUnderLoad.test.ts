/**
 * SIGTERM under load, on a real `herald serve` process pushing to the sandbox APNs: every request Herald accepted is
 * finished (200, its push delivered) or answered 503 with Retry-After; a request it never accepted fails to connect,
 * which a homeserver retries. Nothing is lost: no push reached Apple without its request being answered 200, and no
 * 200 was given for a push that did not reach Apple.
 */
import assert from "node:assert/strict";
import { request } from "node:http";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { writeYaml } from "../src/config/yaml.js";
import { SANDBOX_APPS, startSandbox } from "../src/sandbox/index.js";
import { spawnHerald } from "./helpers/processes.js";
import { tempDir } from "./helpers/tempDir.js";
import { waitFor } from "./helpers/waitFor.js";

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
  async (t) => {
    const sandbox = await startSandbox();
    t.after(() => sandbox.close());
    sandbox.apns.faults = { latencyMs: [20, 120] };
    const config = join(tempDir(t, "herald-sigterm-"), "sygnal.yaml");
    writeFileSync(
      config,
      writeYaml({ http: { port: 0 }, log: { level: "info" }, shutdown_timeout: 20, apps: sandbox.apps() }),
    );
    const herald = spawnHerald(t, ["serve", "--config", config]);
    const output = () => herald.stdout();
    const listening = await herald.waitForOutput(/"port":(\d+),"msg":"Listening for push requests"/, "its port");
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
    await waitFor(
      "50 requests answered 200",
      () => outcomes.filter((o) => "status" in o && o.status === 200).length >= 50,
    );
    herald.child.kill("SIGTERM");
    await load;
    assert.equal(await herald.exited, 0, output().slice(-2000));

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
    assert.match(output(), /"msg":"Shut down"/);
  },
);
