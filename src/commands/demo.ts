/**
 * `herald demo`: Herald and the sandbox providers on this machine, with no credentials at all. It sends a first
 * notification itself, to an iPhone (APNs), Android phones (FCM, Huawei), a Threema user (Threema Gateway) and a browser
 * (WebPush), shows in plain words what each sandbox received (the browser's and the Threema user's messages
 * decrypted), then wakes phones through push-relay's `POST /push` as Threema Web does (FCM, APNs, Huawei, Threema
 * Gateway), registers a wallet with WalletConnect's `POST /clients` and sends it a relay message signed with a
 * throwaway relay key, and prints what to `curl` next. Nothing leaves the machine.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { writeYaml } from "../config/yaml.js";
import { parseConfig } from "../config/load.js";
import { createLogger } from "../observability/logger.js";
import type { ReceivedPush } from "../sandbox/apns.js";
import type { ReceivedFcmMessage } from "../sandbox/fcm.js";
import type { ReceivedHmsMessage } from "../sandbox/hms.js";
import type { ReceivedThreemaMessage } from "../sandbox/threemaGateway.js";
import type { ReceivedWebPush } from "../sandbox/webpush.js";
import { SANDBOX_APNS, SANDBOX_APPS, SANDBOX_FCM, startSandbox, type Sandbox } from "../sandbox/index.js";
import { startHerald } from "../server.js";
import { relaySignatureHeaders } from "../walletConnect/signature.js";

const IPHONE_TOKEN = "c0ffee00deadbeefc0ffee00deadbeefc0ffee00deadbeefc0ffee00deadbeef";
const DEAD_IPHONE_TOKEN = "dead00000000000000000000000000000000000000000000000000000000dead";
const ANDROID_TOKEN = "fcm-demo-token:APA91bHerald";
const HUAWEI_TOKEN = "hms-demo-token-0123456789abcdef";
const THREEMA_ID = "HERALD42";
const WALLET_ID = "did:key:z6MkHeraldDemoWallet";
const WALLET_TOKEN = "0a11e7000000000000000000000000000000000000000000000000000000cafe";

export async function demo(options: { port?: number } = {}): Promise<number> {
  const sandbox = await startSandbox();
  sandbox.apns.script(DEAD_IPHONE_TOKEN, { status: 410, reason: "Unregistered" });
  const port = options.port ?? 5000;
  const configPath = join(sandbox.dir, "sygnal.yaml");
  const relay = generateKeyPairSync("ed25519");
  const yaml = writeYaml({
    http: { bind_addresses: ["127.0.0.1"], port },
    log: { level: "warn" },
    apps: sandbox.apps(),
    push_relay: pushRelaySection(sandbox),
    walletconnect: walletConnectSection(relay.publicKey),
  });
  // Written out, so that `herald check-config` and `herald send-test` can be tried on it while the demo runs.
  writeFileSync(configPath, yaml);
  const { config } = parseConfig(yaml, configPath);
  let herald;
  try {
    herald = await startHerald(config, createLogger("warn"));
  } catch (error) {
    await sandbox.close();
    console.error(`herald demo: cannot start Herald on 127.0.0.1:${port}: ${(error as Error).message}`);
    console.error("Is something else listening there? Choose another port with --port.");
    return 1;
  }
  const base = `http://127.0.0.1:${herald.addresses[0]!.port}`;
  const url = `${base}/_matrix/push/v1/notify`;
  const pushUrl = `${base}/push`;
  sandbox.apns.on("push", (push: ReceivedPush) => console.log(describeApnsPush(push)));
  sandbox.fcm.on("push", (message: ReceivedFcmMessage) => console.log(describeFcmPush(message)));
  sandbox.webpush.on("push", (push: ReceivedWebPush) => console.log(describeWebPush(push)));
  sandbox.hms.on("push", (message: ReceivedHmsMessage) => console.log(describeHmsPush(message)));
  sandbox.threema.on("push", (message: ReceivedThreemaMessage) => console.log(describeThreemaPush(message)));
  const subscription = sandbox.webpush.createSubscription();
  const browser = {
    app_id: SANDBOX_APPS.webpush,
    pushkey: subscription.keys.p256dh,
    data: { endpoint: subscription.endpoint, auth: subscription.keys.auth },
  };

  const threemaUser = sandbox.threema.createRecipient(THREEMA_ID);
  const threema = {
    app_id: SANDBOX_APPS.threema,
    pushkey: threemaUser.identity,
    data: { public_key: threemaUser.publicKeyHex },
  };

  console.log(`Herald demo: Herald and sandbox APNs, FCM, WebPush, Huawei and Threema services run on this machine; nothing leaves it.

  Herald        ${url}
                ${pushUrl} (Threema push-relay's API, for Threema Web)
                ${base}/clients (WalletConnect's push-server API; its registry in ${join(sandbox.dir, "data")})
  sandbox APNs  ${sandbox.apns.url} (checks each push's JWT, topic and token, as Apple does)
  sandbox FCM   ${sandbox.fcm.url} (checks the OAuth token Herald got for its service account)
  sandbox Web   ${sandbox.webpush.url} (checks VAPID, decrypts each message with the browser's keys)
  sandbox HMS   ${sandbox.hms.url} (checks the OAuth token Herald got for the Huawei app)
  sandbox 3MA   ${sandbox.threema.url} (Threema Gateway: checks the gateway ID and secret, decrypts with the user's key)
  apps          ${SANDBOX_APPS.apns}: APNs, token auth
                ${SANDBOX_APPS.fcm}: FCM HTTP v1, service account
                ${SANDBOX_APPS.webpush}: WebPush, VAPID
                ${SANDBOX_APPS.hms}: Huawei Push Kit
                ${SANDBOX_APPS.threema}: Threema Gateway, gateway ID ${sandbox.threemaAccount.identity}
  config        ${configPath}
`);
  console.log(
    "Sending a first notification to an iPhone, two Android phones, a Threema user and a browser, as a homeserver would…",
  );
  const huawei = { app_id: SANDBOX_APPS.hms, pushkey: HUAWEI_TOKEN };
  const devices = [iphone(IPHONE_TOKEN), android(ANDROID_TOKEN), huawei, threema, browser];
  const first = await fetch(url, { method: "POST", body: JSON.stringify(sampleNotification("$first-event", devices)) });
  console.log(`  Herald answered ${first.status} ${await first.text()}\n`);

  console.log(
    "Waking an Android phone, an iPhone, a Huawei phone and a Threema user through /push, as Threema Web does…",
  );
  for (const form of wakeups(sandbox, threemaUser)) {
    const answer = await fetch(pushUrl, { method: "POST", body: new URLSearchParams(form) });
    console.log(`  Herald answered ${answer.status} to type=${form.type}\n`);
  }

  console.log(
    "Registering a wallet with WalletConnect's POST /clients, then sending it a message as the relay does, signed…",
  );
  const registration = { client_id: WALLET_ID, type: "apns", token: WALLET_TOKEN };
  const registered = await fetch(`${base}/clients`, { method: "POST", body: JSON.stringify(registration) });
  console.log(`  Herald answered ${registered.status} ${await registered.text()} to POST /clients`);
  const relayed = signedRelayMessage(
    relay.privateKey,
    "demo-message-1",
    "Sign request",
    "dapp.example asks you to sign a message",
  );
  const sent = await fetch(`${base}/clients/${WALLET_ID}`, {
    method: "POST",
    headers: relayed.headers,
    body: relayed.body,
  });
  console.log(`  Herald answered ${sent.status} to the relay's POST /clients/${WALLET_ID}\n`);
  const next = signedRelayMessage(
    relay.privateKey,
    "demo-message-2",
    "Session proposal",
    "dapp.example wants to connect",
  );

  // Listening before saying "Ctrl-C stops the demo": a Ctrl-C right after it must stop the demo cleanly too.
  const stopped = new Promise<void>((resolve) => {
    process.once("SIGINT", () => resolve());
    process.once("SIGTERM", () => resolve());
  });
  console.log(`Send your own. An iOS pushkey is the device token in base64, an Android one the FCM or HMS token, a
Threema user's their Threema ID, with their public key in the device's data, and a browser's the p256dh key of its
subscription, whose endpoint and auth secret go in the device's data:

  curl -s -X POST ${url} \\
    -H 'Content-Type: application/json' \\
    -d '${JSON.stringify(sampleNotification("$event-1", devices))}'

Herald pushes an event to a device once: send the same request twice and the second is answered without a push
(change "event_id" to push again).

A device whose token the provider declares dead is answered in "rejected", so that the homeserver deletes its pusher:

  curl -s -X POST ${url} \\
    -d '${JSON.stringify(sampleNotification("$event-2", [iphone(DEAD_IPHONE_TOKEN)]))}'

Threema Web's wake-up through push-relay's API (204: sent; a dead token: 400 "Push not successful"):

  curl -s -i -X POST ${pushUrl} \\
    -d '${new URLSearchParams(wakeups(sandbox, threemaUser)[0]).toString()}'

A wallet registers with WalletConnect's API (type apns, apns-sandbox, fcm or noop):

  curl -s -X POST ${base}/clients \\
    -d '${JSON.stringify({ client_id: "did:key:z6MkMyWallet", type: "noop", token: "my-device-token" })}'

The relay's next message to the demo wallet, signed with the demo's relay key (the signature holds for five
minutes; sent twice, it is answered 200 and pushed once):

  curl -s -i -X POST ${base}/clients/${WALLET_ID} \\
    -H 'X-Ed25519-Signature: ${next.headers["X-Ed25519-Signature"]}' \\
    -H 'X-Ed25519-Timestamp: ${next.headers["X-Ed25519-Timestamp"]}' \\
    -d '${next.body}'

Ask a provider what it answers for one device, without a homeserver (here: the sandbox APNs):

  node ${process.argv[1]} send-test --config ${configPath} --app ${SANDBOX_APPS.apns} --pushkey ${iphone(IPHONE_TOKEN).pushkey}

Ctrl-C stops the demo.
`);

  await stopped;
  await herald.shutdown();
  await sandbox.close();
  return 0;
}

/** The push_relay section: every provider at the sandbox. */
function pushRelaySection(sandbox: Sandbox) {
  const hms = sandbox.apps()[SANDBOX_APPS.hms]!;
  const ca = sandbox.files.ca;
  return {
    fcm: {
      service_account_file: sandbox.files.serviceAccount,
      project_id: SANDBOX_FCM.projectId,
      endpoint: sandbox.fcm.url,
      ca,
    },
    apns: {
      keyfile: sandbox.files.apnsKey,
      key_id: SANDBOX_APNS.keyId,
      team_id: SANDBOX_APNS.teamId,
      production_endpoint: sandbox.apns.url,
      sandbox_endpoint: sandbox.apns.url,
      ca,
    },
    hms: {
      [String(hms.app_id)]: {
        client_id: hms.client_id,
        client_secret: hms.client_secret,
        endpoint: hms.endpoint,
        token_endpoint: hms.token_endpoint,
        ca,
      },
    },
    threema_gateway: {
      base_url: sandbox.threema.url,
      identity: sandbox.threemaAccount.identity,
      secret: sandbox.threemaAccount.secret,
      private_key_file: sandbox.files.threemaKey,
      ca,
    },
  };
}

/** The walletconnect section: apns at the sandbox, noop accepted, the demo's relay key; the registry beside the config. */
function walletConnectSection(relayPublicKey: KeyObject) {
  const x = relayPublicKey.export({ format: "jwk" }).x!;
  return {
    relay_public_key: Buffer.from(x, "base64url").toString("hex"),
    providers: { apns: SANDBOX_APPS.apns, "apns-sandbox": SANDBOX_APPS.apns, fcm: SANDBOX_APPS.fcm },
    accept_noop: true,
  };
}

/** A legacy cleartext relay message (its blob the title and body to show), signed as the relay signs it. */
function signedRelayMessage(key: KeyObject, id: string, title: string, body: string) {
  const blob = Buffer.from(JSON.stringify({ title, body })).toString("base64");
  const text = JSON.stringify({ id, payload: { topic: "demo-topic", flags: 0, blob } });
  return { body: text, headers: relaySignatureHeaders(Buffer.from(text), key, Date.now()) };
}

/** One /push form per provider, as Threema Web sends them. */
function wakeups(sandbox: Sandbox, threemaUser: { identity: string; publicKeyHex: string }): Record<string, string>[] {
  const common = { session: "9f86d081884c7d659a2feaa0c55ad015", version: "3", affiliation: "demo" };
  return [
    { type: "fcm", token: ANDROID_TOKEN, ...common },
    { type: "apns", token: IPHONE_TOKEN, bundleid: SANDBOX_APNS.topic, endpoint: "p", ...common },
    { type: "hms", appid: String(sandbox.apps()[SANDBOX_APPS.hms]!.app_id), token: HUAWEI_TOKEN, ...common },
    { type: "threema-gateway", identity: threemaUser.identity, public_key: threemaUser.publicKeyHex, ...common },
  ];
}

function iphone(tokenHex: string) {
  return { app_id: SANDBOX_APPS.apns, pushkey: Buffer.from(tokenHex, "hex").toString("base64") };
}

function android(token: string) {
  return { app_id: SANDBOX_APPS.fcm, pushkey: token };
}

function sampleNotification(eventId: string, devices: unknown[]): unknown {
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
      devices,
    },
  };
}

/** One APNs push as a person reads it: which device, what the alert says, the badge, and the raw payload. */
export function describeApnsPush(push: ReceivedPush): string {
  const payload = (push.payload ?? {}) as {
    aps?: { alert?: { "loc-key"?: string; "loc-args"?: unknown[]; title?: string; body?: string }; badge?: number };
    "3mw"?: ThreemaWakeup;
    topic?: string;
  };
  if (typeof payload.topic === "string") {
    const alert = payload.aps?.alert;
    const shown = alert?.body === undefined ? `"${alert?.title}"` : `"${alert.title}: ${alert.body}"`;
    return `  sandbox APNs received a push for device ${push.token.slice(0, 12)}… (topic ${push.topic}, ${push.pushType}): WalletConnect message on topic ${payload.topic}, alert ${shown}\n    payload ${push.body}`;
  }
  if (payload["3mw"]) {
    return `  sandbox APNs received a push for device ${push.token.slice(0, 12)}… (topic ${push.topic}, ${push.pushType}): ${describeWakeup(payload["3mw"])}\n    payload ${push.body}`;
  }
  const alert = payload.aps?.alert;
  const parts = [
    alert?.["loc-key"] ? `alert ${alert["loc-key"]} ${JSON.stringify(alert["loc-args"] ?? [])}` : "no alert",
    payload.aps?.badge !== undefined ? `badge ${payload.aps.badge}` : "no badge",
  ];
  return `  sandbox APNs received a push for device ${push.token.slice(0, 12)}… (topic ${push.topic}, priority ${push.priority}): ${parts.join(", ")}\n    payload ${push.body}`;
}

/** One FCM message as a person reads it: which device, its priority, and the data the app receives. */
export function describeFcmPush(message: ReceivedFcmMessage): string {
  const body = message.message as { data?: Record<string, string>; android?: { priority?: string } };
  const data = body.data ?? {};
  if (data.wcs !== undefined) {
    return `  sandbox FCM received a push for device ${(message.token ?? "").slice(0, 12)}… (project ${message.projectId}, priority ${body.android?.priority}): ${describeWakeup(data)}\n    data ${JSON.stringify(data)}`;
  }
  const what = data.content_body
    ? `"${data.sender_display_name ?? data.sender}: ${data.content_body}"`
    : "no message text";
  return `  sandbox FCM received a push for device ${(message.token ?? "").slice(0, 12)}… (project ${message.projectId}, priority ${body.android?.priority}): ${what}, unread ${data.unread ?? 0}\n    data ${JSON.stringify(data)}`;
}

/** One WebPush message as the browser's service worker would read it, decrypted by the sandbox. */
export function describeWebPush(push: ReceivedWebPush): string {
  const payload = (push.payload ?? {}) as {
    sender_display_name?: string;
    content?: { body?: string };
    unread?: number;
  };
  const what = payload.content?.body ? `"${payload.sender_display_name}: ${payload.content.body}"` : "no message text";
  return `  sandbox WebPush decrypted a message for subscription ${push.subscriptionId.slice(0, 8)}… (urgency ${push.urgency}, TTL ${push.ttl}): ${what}, unread ${payload.unread ?? 0}\n    plaintext ${push.plaintext}`;
}

/** One Huawei message as the app receives it: the data string, parsed. */
export function describeHmsPush(message: ReceivedHmsMessage): string {
  const data = (message.data ?? {}) as Record<string, string>;
  const android = (message.message.android ?? {}) as { urgency?: string };
  if (data.wcs !== undefined) {
    return `  sandbox HMS received a push for device ${message.token.slice(0, 12)}… (urgency ${android.urgency}): ${describeWakeup(data)}\n    data ${message.message.data as string}`;
  }
  const what = data.content_body
    ? `"${data.sender_display_name ?? data.sender}: ${data.content_body}"`
    : "no message text";
  return `  sandbox HMS received a push for device ${message.token.slice(0, 12)}… (urgency ${android.urgency}): ${what}, unread ${data.unread ?? 0}\n    data ${JSON.stringify(data)}`;
}

/** One Threema Gateway message as the user's phone decrypts it: the type byte, then the data map as JSON. */
export function describeThreemaPush(message: ReceivedThreemaMessage): string {
  const type = `0x${message.type.toString(16).toUpperCase()}`;
  const json = (message.json ?? {}) as Record<string, unknown>;
  if (typeof json.wcs === "string") {
    return `  sandbox Threema Gateway decrypted a message for ${message.to} from ${message.from} (type ${type}): ${describeWakeup(json as unknown as ThreemaWakeup)}\n    plaintext ${JSON.stringify(json)}`;
  }
  const data = json as Record<string, string>;
  const what = data.content_body
    ? `"${data.sender_display_name ?? data.sender}: ${data.content_body}"`
    : "no message text";
  return `  sandbox Threema Gateway decrypted a message for ${message.to} from ${message.from} (type ${type}): ${what}, unread ${data.unread ?? 0}\n    data ${JSON.stringify(data)}`;
}

interface ThreemaWakeup {
  wcs: string;
  wcv: number | string;
}

/** push-relay's payload as a person reads it. */
function describeWakeup(payload: ThreemaWakeup | Record<string, string>): string {
  return `Threema Web wake-up for session ${String(payload.wcs).slice(0, 8)}… (protocol version ${payload.wcv})`;
}
