/**
 * The sandbox APNs in a process of its own (forked by the benchmark): `count` sandboxes, each with its own CA and
 * key (argv[2], default 1). It reports their URLs and credential files over IPC, then answers the parent's requests:
 * set a sandbox's fault mix, zero the counters, read the counters. It exits when the parent goes.
 *
 * The sandbox keeps every accepted push in `received`; under load that list is emptied every second (and counted),
 * so that the sandbox's memory does not grow with the length of the run.
 */
import type { FaultMix } from "../src/sandbox/apns.js";
import { SANDBOX_APNS, startSandbox, type Sandbox } from "../src/sandbox/index.js";

export interface SandboxInfo {
  url: string;
  ca: string;
  keyfile: string;
  keyId: string;
  teamId: string;
  topic: string;
}

export interface SandboxStats {
  /** Every request seen since the last reset, any answer. */
  requests: number;
  /** Pushes answered 200 since the last reset. */
  received: number;
}

export type SandboxRequest =
  | { id: number; op: "faults"; index: number; faults: FaultMix }
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
  const received = sandboxes.map(() => 0);

  const drain = () =>
    sandboxes.forEach((sandbox, i) => {
      received[i]! += sandbox.apns.received.length;
      sandbox.apns.received.length = 0;
    });
  setInterval(drain, 1000).unref();

  process.on("message", (message: SandboxRequest) => {
    if (message.op === "faults") {
      sandboxes[message.index]!.apns.faults = message.faults;
    } else if (message.op === "zero") {
      sandboxes.forEach((sandbox, i) => {
        const { faults } = sandbox.apns;
        sandbox.apns.reset();
        sandbox.apns.faults = faults;
        received[i] = 0;
      });
    } else {
      drain();
      const stats = sandboxes.map((sandbox, i) => ({ requests: sandbox.apns.requests, received: received[i]! }));
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
  }));
  process.send!({ type: "ready", sandboxes: info });
}

await main();
