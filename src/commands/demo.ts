/**
 * `herald demo`: Herald and the sandbox providers on this machine, with no credentials at all. It sends a first
 * notification itself, shows in plain words what the sandbox APNs received, and prints what to `curl` next.
 * Nothing leaves the machine.
 */
import { join } from "node:path";
import { stringify } from "yaml";
import { parseConfig } from "../config/load.js";
import { createLogger } from "../observability/logger.js";
import { startSandbox, SANDBOX_APNS } from "../sandbox/index.js";
import type { ReceivedPush } from "../sandbox/apns.js";
import { startHerald } from "../server.js";

const DEVICE_TOKEN = "c0ffee00deadbeefc0ffee00deadbeefc0ffee00deadbeefc0ffee00deadbeef";
const DEAD_TOKEN = "dead00000000000000000000000000000000000000000000000000000000dead";
const APP_ID = `${SANDBOX_APNS.topic}.ios`;

export async function demo(options: { port?: number } = {}): Promise<number> {
  const sandbox = await startSandbox();
  sandbox.apns.script(DEAD_TOKEN, { status: 410, reason: "Unregistered" });
  const port = options.port ?? 5000;
  const configPath = join(sandbox.dir, "sygnal.yaml");
  const { config } = parseConfig(
    stringify({ http: { bind_addresses: ["127.0.0.1"], port }, log: { level: "warn" }, apps: sandbox.apps() }),
    configPath,
  );
  let herald;
  try {
    herald = await startHerald(config, createLogger("warn"));
  } catch (error) {
    await sandbox.close();
    console.error(`herald demo: cannot start Herald on 127.0.0.1:${port}: ${(error as Error).message}`);
    console.error("Is something else listening there? Choose another port with --port.");
    return 1;
  }
  const url = `http://127.0.0.1:${herald.addresses[0]!.port}/_matrix/push/v1/notify`;
  sandbox.apns.on("push", (push: ReceivedPush) => console.log(describePush(push)));

  console.log(`Herald demo: Herald and a sandbox APNs run on this machine; nothing leaves it.

  Herald        ${url}
  sandbox APNs  ${sandbox.apns.url} (checks each push's JWT, topic and token, as Apple does)
  app           ${APP_ID}: APNs with token auth (config: ${configPath})
`);
  console.log("Sending a first notification, as a homeserver would…");
  const first = await fetch(url, {
    method: "POST",
    body: JSON.stringify(sampleNotification(DEVICE_TOKEN, "$first-event")),
  });
  console.log(`  Herald answered ${first.status} ${await first.text()}\n`);

  console.log(`Send your own (the pushkey is the device token in base64, as iOS clients register it):

  curl -s -X POST ${url} \\
    -H 'Content-Type: application/json' \\
    -d '${JSON.stringify(sampleNotification(DEVICE_TOKEN, "$event-1"))}'

Herald pushes an event to a device once: send the same request twice and the second is answered without a push
(change "event_id" to push again).

A device whose token APNs declares dead is answered in "rejected", so that the homeserver deletes its pusher:

  curl -s -X POST ${url} \\
    -d '${JSON.stringify(sampleNotification(DEAD_TOKEN, "$event-2"))}'

Ctrl-C stops the demo.
`);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await herald.shutdown();
  await sandbox.close();
  return 0;
}

function sampleNotification(tokenHex: string, eventId: string): unknown {
  return {
    notification: {
      event_id: eventId,
      room_id: "!demo:example.org",
      type: "m.room.message",
      sender: "@major.tom:example.org",
      sender_display_name: "Major Tom",
      room_name: "Mission Control",
      content: { msgtype: "m.text", body: "Hello from Herald" },
      counts: { unread: 1 },
      devices: [{ app_id: APP_ID, pushkey: Buffer.from(tokenHex, "hex").toString("base64") }],
    },
  };
}

/** One push as a person reads it: which device, what the alert says, the badge, and the raw payload. */
export function describePush(push: ReceivedPush): string {
  const payload = (push.payload ?? {}) as {
    aps?: { alert?: { "loc-key"?: string; "loc-args"?: unknown[] }; badge?: number };
  };
  const alert = payload.aps?.alert;
  const parts = [
    alert?.["loc-key"] ? `alert ${alert["loc-key"]} ${JSON.stringify(alert["loc-args"] ?? [])}` : "no alert",
    payload.aps?.badge !== undefined ? `badge ${payload.aps.badge}` : "no badge",
  ];
  return `  sandbox APNs received a push for device ${push.token.slice(0, 12)}… (topic ${push.topic}, priority ${push.priority}): ${parts.join(", ")}\n    payload ${push.body}`;
}
