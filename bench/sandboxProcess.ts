/**
 * The sandbox providers in a process of its own (forked by the benchmark): `count` sandboxes (argv[2], default 1),
 * each a sandbox APNs, a sandbox FCM (HTTP v1, with its Google OAuth endpoint), a sandbox WebPush service and a
 * sandbox Huawei Push Kit (with its OAuth endpoint), with their own CA and credentials. It reports their URLs and
 * credential files over IPC (for WebPush, also one browser subscription made at start), then answers the parent's
 * requests: set a provider's fault mix, zero the counters, read the counters. It exits when the parent goes.
 *
 * Each provider keeps every accepted push in `received`; under load those lists are emptied every second (and
 * counted), so that the sandbox's memory does not grow with the length of the run.
 */
import type { FaultMix } from "../src/sandbox/apns.js";
import { SANDBOX_APNS, SANDBOX_APPS, SANDBOX_FCM, startSandbox, type Sandbox } from "../src/sandbox/index.js";

/** The providers of a sandbox. */
export type Provider = "apns" | "fcm" | "webpush" | "hms";
export const PROVIDERS: readonly Provider[] = ["apns", "fcm", "webpush", "hms"];

/** A Herald app config as the sandbox's `apps()` gives it (credential files, CA, endpoints). */
export type AppConfig = Record<string, unknown>;

export interface SandboxInfo {
  /** The sandbox APNs. */
  url: string;
  /** The CA certificate of both providers (and of the OAuth endpoint). */
  ca: string;
  keyfile: string;
  keyId: string;
  teamId: string;
  topic: string;
  /** The sandbox FCM (HTTP v1); the service account's `token_uri` is the sandbox's Google OAuth endpoint. */
  fcm: { url: string; ca: string; projectId: string; serviceAccountFile: string };
  /**
   * The sandbox WebPush service: its ready Herald app (`type: webpush`, VAPID key file, `allowed_endpoints` and
   * `allow_private_addresses` for the sandbox on loopback) and one browser subscription made at start (the sandbox
   * keeps its private key, to decrypt).
   */
  webpush: { url: string; app: AppConfig; subscription: { endpoint: string; p256dh: string; auth: string } };
  /** The sandbox Huawei Push Kit: its ready Herald app (`type: hms`, the app's OAuth client, both endpoints). */
  hms: { url: string; app: AppConfig };
}

export interface ProviderStats {
  /** Every request seen since the last reset, any answer. */
  requests: number;
  /** Pushes answered 200 since the last reset. */
  received: number;
}

export type SandboxStats = Record<Provider, ProviderStats>;

export type SandboxRequest =
  | { id: number; op: "faults"; index: number; provider: Provider; faults: FaultMix }
  | { id: number; op: "zero" }
  | { id: number; op: "stats" };

export interface SandboxReply {
  id: number;
  stats?: SandboxStats[];
}

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 1);
  const sandboxes: Sandbox[] = [];
  for (let i = 0; i < count; i++) sandboxes.push(await startSandbox());
  const noneReceived = (): Record<Provider, number> => ({ apns: 0, fcm: 0, webpush: 0, hms: 0 });
  const received = sandboxes.map(noneReceived);

  const drain = () =>
    sandboxes.forEach((sandbox, i) => {
      for (const provider of PROVIDERS) {
        received[i]![provider] += sandbox[provider].received.length;
        sandbox[provider].received.length = 0;
      }
    });
  setInterval(drain, 1000).unref();

  process.on("message", (message: SandboxRequest) => {
    if (message.op === "faults") {
      const sandbox = sandboxes[message.index]!;
      if (message.provider === "apns") {
        sandbox.apns.faults = message.faults;
      } else {
        const { goawayEvery: _, ...faults } = message.faults; // only the sandbox APNs has a GOAWAY fault
        sandbox[message.provider].faults = faults;
      }
    } else if (message.op === "zero") {
      sandboxes.forEach((sandbox, i) => {
        // reset() also clears the fault mix, which must stay.
        const { faults } = sandbox.apns;
        sandbox.apns.reset();
        sandbox.apns.faults = faults;
        const fcmFaults = sandbox.fcm.faults;
        sandbox.fcm.reset();
        sandbox.fcm.faults = fcmFaults;
        const webpushFaults = sandbox.webpush.faults;
        sandbox.webpush.reset();
        sandbox.webpush.faults = webpushFaults;
        const hmsFaults = sandbox.hms.faults;
        sandbox.hms.reset();
        sandbox.hms.faults = hmsFaults;
        received[i] = noneReceived();
      });
    } else {
      drain();
      const stats = sandboxes.map(
        (sandbox, i): SandboxStats =>
          Object.fromEntries(
            PROVIDERS.map((provider) => [
              provider,
              { requests: sandbox[provider].requests, received: received[i]![provider] },
            ]),
          ) as SandboxStats,
      );
      process.send!({ id: message.id, stats } satisfies SandboxReply);
      return;
    }
    process.send!({ id: message.id } satisfies SandboxReply);
  });

  const close = async () => {
    await Promise.allSettled(sandboxes.map((sandbox) => sandbox.close()));
    process.exit(0);
  };
  process.once("disconnect", () => void close());
  process.once("SIGTERM", () => void close());
  process.once("SIGINT", () => void close());

  const info: SandboxInfo[] = sandboxes.map((sandbox) => {
    const apps = sandbox.apps();
    const subscription = sandbox.webpush.createSubscription();
    return {
      url: sandbox.apns.url,
      ca: sandbox.files.ca,
      keyfile: sandbox.files.apnsKey,
      keyId: SANDBOX_APNS.keyId,
      teamId: SANDBOX_APNS.teamId,
      topic: SANDBOX_APNS.topic,
      fcm: {
        url: sandbox.fcm.url,
        ca: sandbox.files.ca,
        projectId: SANDBOX_FCM.projectId,
        serviceAccountFile: sandbox.files.serviceAccount,
      },
      webpush: {
        url: sandbox.webpush.url,
        app: apps[SANDBOX_APPS.webpush]!,
        subscription: { endpoint: subscription.endpoint, ...subscription.keys },
      },
      hms: { url: sandbox.hms.url, app: apps[SANDBOX_APPS.hms]! },
    };
  });
  process.send!({ type: "ready", sandboxes: info });
}

await main();
