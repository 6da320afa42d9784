/**
 * Starts a Herald in the test process from a config object, listening on a free port, and talks to it over HTTP.
 */
import { request } from "node:http";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { LevelWithSilent } from "pino";
import { writeYaml } from "../../src/config/yaml.js";
import { parseConfig } from "../../src/config/load.js";
import { openErrorReports } from "../../src/observability/errorReports.js";
import { createLogger } from "../../src/observability/logger.js";
import { startHerald, type Herald } from "../../src/server.js";
import { repoRoot, testPushkinPath } from "./paths.js";

export interface TestHerald {
  herald: Herald;
  url: string;
  metricsUrl: string | undefined;
  /** Every log line written so far, parsed. */
  logs: Record<string, unknown>[];
  /** POSTs a body (object → JSON) to /_matrix/push/v1/notify. */
  notify(body: unknown): Promise<Response>;
  stop(): Promise<void>;
}

/** An app served by the test pushkin. */
export function testApp(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: testPushkinPath, ...extra };
}

/** `logLevel`: what is logged (and kept in `logs`); debug unless said otherwise. */
export async function startTestHerald(
  config: Record<string, unknown>,
  env: NodeJS.ProcessEnv = {},
  options: { logLevel?: LevelWithSilent } = {},
): Promise<TestHerald> {
  const full = {
    http: { bind_addresses: ["127.0.0.1"], port: 0 },
    // The sandboxes share this process and do synchronous crypto (key generation): their pauses are not overload.
    load_shedding: { max_event_loop_delay: 0 },
    ...config,
  };
  const { config: parsed } = parseConfig(writeYaml(full), join(repoRoot, "test-config.yaml"), env);
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n"))
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = createLogger(options.logLevel ?? "debug", sink);
  const errorReports = await openErrorReports(parsed.metrics.sentry, parsed.proxy, log);
  const herald = await startHerald(parsed, log, { errorReports }).catch(async (error: unknown) => {
    await errorReports.close(0);
    throw error;
  });
  const address = herald.addresses[0]!;
  const url = `http://127.0.0.1:${address.port}`;
  return {
    herald,
    url,
    metricsUrl: herald.metricsAddress ? `http://127.0.0.1:${herald.metricsAddress.port}` : undefined,
    logs,
    notify: (body) =>
      fetch(`${url}/_matrix/push/v1/notify`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
      }),
    stop: () => herald.shutdown(),
  };
}

/** The fields of a text message's notification as a homeserver sends it, for tests that push one. */
export const MESSAGE_EVENT = {
  room_id: "!room:example.org",
  type: "m.room.message",
  sender: "@alice:example.org",
  content: { msgtype: "m.text", body: "hello" },
  counts: { unread: 1 },
} as const;

export function notification(devices: unknown[], fields: Record<string, unknown> = {}): Record<string, unknown> {
  return { notification: { devices, ...fields } };
}

export function device(pushkey: string, appId = "com.example.spqr"): Record<string, unknown> {
  return { app_id: appId, pushkey };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A request with node:http, for what fetch cannot send (HEAD bodies, raw bytes, chunked uploads). `localAddress`: the
 * address to send from, to be another client (127.0.0.2 and the rest of 127/8 reach a listener on 127.0.0.1).
 */
export function rawRequest(
  url: string,
  options: {
    method: string;
    path: string;
    body?: Uint8Array | string;
    headers?: Record<string, string>;
    localAddress?: string;
  },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const { method, headers, localAddress } = options;
    const req = request(`${url}${options.path}`, { method, headers, localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
      );
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(options.body);
  });
}
