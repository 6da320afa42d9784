/**
 * `herald send-test --app APP --pushkey KEY [--data JSON]`: sends one real test notification through the pushkin
 * that serves APP, as configured, and says in plain words what the provider answered and what to look at next. It is
 * the first thing to run when "push doesn't arrive": it takes the homeserver, the network in front of Herald and the
 * client's pusher out of the question.
 *
 * Exit codes: 0 the provider accepted the push; 1 anything else (rejected, failed, nothing sent, a broken config).
 */
import { Writable } from "node:stream";
import { ConfigError, configPath, loadConfig } from "../config/load.js";
import type { HeraldConfig } from "../config/types.js";
import { startDeadline } from "../core/deadline.js";
import { isJsonObject, type Device, type JsonObject, type Notification } from "../core/notification.js";
import { CredentialFailure, isDispatchFailure, type DeviceOutcome, type Pushkin } from "../core/pushkin.js";
import { AppRouter } from "../core/routing.js";
import { createLogger } from "../observability/logger.js";
import { GatewayMetrics } from "../observability/metrics.js";
import { loadPushkins, PushkinLoadError } from "../pushkins/load.js";
import { explainFailure, explainOutcome } from "./sendTestAdvice.js";

export interface SendTestOptions {
  config?: string;
  app?: string;
  pushkey?: string;
  /** The device's `data` (a pusher's data: WebPush endpoint and auth, Threema public_key, default_payload), JSON. */
  data?: string;
  /** Print Herald's own log lines (debug) on stderr. */
  verbose?: boolean;
}

export async function sendTest(options: SendTestOptions): Promise<number> {
  if (!options.app || !options.pushkey) {
    console.error("herald send-test: --app and --pushkey are required");
    return 2;
  }
  let data: JsonObject | undefined;
  if (options.data !== undefined) {
    const parsed = parseJson(options.data);
    if (!isJsonObject(parsed)) {
      console.error('herald send-test: --data must be a JSON object, e.g. \'{"endpoint": "…", "auth": "…"}\'');
      return 2;
    }
    data = parsed;
  }

  const path = configPath(options.config);
  let config: HeraldConfig;
  try {
    config = loadConfig(path).config;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    return 1;
  }

  const route = new AppRouter(Object.keys(config.apps).map((key) => [key, key])).route(options.app);
  if (route.kind !== "found") {
    const why =
      route.kind === "unknown"
        ? `no app of ${path} matches it (apps: ${Object.keys(config.apps).join(", ")})`
        : `it matches several app globs (${route.matches.join(", ")}) and no exact key`;
    console.log(`Not sent: app_id '${options.app}' cannot be served: ${why}.`);
    console.log("A homeserver's push for this pusher would be answered 'rejected', and the pusher deleted.");
    return 1;
  }
  const appKey = route.target;

  let pushkin: Pushkin;
  try {
    const log = createLogger(options.verbose ? "debug" : "silent", stderr());
    [pushkin] = (await loadPushkins(
      { ...config, apps: { [appKey]: config.apps[appKey]! } },
      new GatewayMetrics({ processMetrics: false }),
      log,
    )) as [Pushkin];
  } catch (error) {
    if (!(error instanceof PushkinLoadError)) throw error;
    console.log(`Not sent: the app cannot be built from ${path}:\n  ${error.message}`);
    return 1;
  }

  const device: Device = { app_id: options.app, pushkey: options.pushkey, ...(data ? { data } : {}) };
  const notification = testNotification(device);
  const deadline = startDeadline(config.request_deadline);
  const log = createLogger(options.verbose ? "debug" : "silent", stderr());
  const type = String(config.apps[appKey]!.type);
  console.log(`Sending a test notification through app '${appKey}' (${type}) to pushkey ${options.pushkey}…`);
  try {
    const outcome: DeviceOutcome = await Promise.race([
      pushkin.dispatch(notification, device, {
        requestId: "send-test",
        signal: deadline.signal,
        deadline: deadline.at,
        log,
      }),
      deadline.passed,
    ]);
    console.log(explainOutcome(type, outcome));
    return outcome.kind === "delivered" ? 0 : 1;
  } catch (error) {
    if (!isDispatchFailure(error)) throw error;
    console.log(explainFailure(error, error instanceof CredentialFailure ? error.fix : undefined));
    return 1;
  } finally {
    deadline.clear();
    await pushkin.close();
  }
}

/** A message any app shows: an m.room.message with a body, an unread count of 1, high priority. */
function testNotification(device: Device): Notification {
  return {
    event_id: `$herald-send-test-${Date.now()}`,
    room_id: "!herald-send-test:localhost",
    type: "m.room.message",
    sender: "@herald:localhost",
    sender_display_name: "Herald",
    room_name: "Herald send-test",
    content: { msgtype: "m.text", body: "A test push from herald send-test" },
    prio: "high",
    counts: { unread: 1 },
    devices: [device],
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function stderr(): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      process.stderr.write(chunk, () => done());
    },
  });
}
