/**
 * The sandbox providers in a process of its own (forked by the benchmark): `count` sandboxes (argv[2], default 1),
 * each a sandbox APNs and a sandbox FCM (HTTP v1, with its Google OAuth endpoint) with their own CA and credentials.
 * It reports their URLs and credential files over IPC, then answers the parent's requests: set a provider's fault
 * mix, zero the counters, read the counters. It exits when the parent goes.
 *
 * Each provider keeps every accepted push in `received`; under load those lists are emptied every second (and
 * counted), so that the sandbox's memory does not grow with the length of the run.
 */
import type { FaultMix } from "../src/sandbox/apns.js";
import { SANDBOX_APNS, SANDBOX_FCM, startSandbox, type Sandbox } from "../src/sandbox/index.js";

/** The providers of a sandbox. */
export type Provider = "apns" | "fcm";
export const PROVIDERS: readonly Provider[] = ["apns", "fcm"];

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
  const received = sandboxes.map(() => ({ apns: 0, fcm: 0 }));

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
      if (message.provider === "fcm") {
        const { goawayEvery: _, ...faults } = message.faults; // FCM has no GOAWAY fault
        sandbox.fcm.faults = faults;
      } else {
        sandbox.apns.faults = message.faults;
      }
    } else if (message.op === "zero") {
      sandboxes.forEach((sandbox, i) => {
        const { faults } = sandbox.apns;
        sandbox.apns.reset();
        sandbox.apns.faults = faults;
        const fcmFaults = sandbox.fcm.faults;
        sandbox.fcm.reset();
        sandbox.fcm.faults = fcmFaults;
        received[i] = { apns: 0, fcm: 0 };
      });
    } else {
      drain();
      const stats = sandboxes.map((sandbox, i): SandboxStats => ({
        apns: { requests: sandbox.apns.requests, received: received[i]!.apns },
        fcm: { requests: sandbox.fcm.requests, received: received[i]!.fcm },
      }));
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

  const info: SandboxInfo[] = sandboxes.map((sandbox) => ({
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
  }));
  process.send!({ type: "ready", sandboxes: info });
}

await main();
