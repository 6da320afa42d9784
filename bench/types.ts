/** The shapes shared by the scenarios, the report and the runner. */
import type { LoadResult } from "./load.js";
import type { Usage } from "./measure.js";
import type { BareServer, SandboxProcess } from "./processes.js";

export interface Settings {
  connections: number;
  /** Connections of the 10-device scenarios: 10 pushes each must stay within the default inflight_request_limit. */
  tenDeviceConnections: number;
  /** Connections of the 50 ms scenario: many requests waiting on the provider at once. */
  latencyConnections: number;
  durationS: number;
  warmupS: number;
  soakS: number;
  /** The isolation scenario's load on the hanging app. */
  hangingRate: number;
  hangingConnections: number;
  /** The abuse scenario's attacker: stalled-body connections, and keep-alive connections flooding /push. */
  abuseSlowConnections: number;
  abuseFloodConnections: number;
  /** Sandbox latency of scenario 4. */
  latencyMs: number;
  /** Extra node flags for Herald's process (e.g. --cpu-prof), empty for a normal run. */
  heraldNodeArgs: string[];
  /** The soak's first seconds, left out of the RSS slope. */
  soakSkipS: number;
}

export interface BenchContext {
  settings: Settings;
  sandbox: SandboxProcess;
  bare: BareServer;
  /** Where generated configs go. */
  dir: string;
  rows: Row[];
  log(message: string): void;
}

export interface Row {
  id: string;
  name: string;
  /** ceiling: the bare server; floor: the bare relay to the sandbox APNs (relayFloor.ts). */
  target: "herald" | "ceiling" | "floor";
  /** false: skipped, `note` says why. */
  available: boolean;
  note?: string;
  connections?: number;
  rate?: number | null;
  load?: LoadResult;
  usage?: Usage;
  /**
   * Pushes the row's provider (APNs; FCM, WebPush or HMS for their rows) accepted during the measured run: one per
   * device of each good answer.
   */
  sandboxPushes?: number | null;
  /** reqPerS / the ceiling's. */
  ratioToCeiling?: number;
  /** Scenario-specific figures (isolation, open loop, soak). */
  extra?: Record<string, unknown>;
}

export interface Scenario {
  id: string;
  run(ctx: BenchContext): Promise<Row[]>;
}
