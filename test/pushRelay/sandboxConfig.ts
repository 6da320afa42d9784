/** A `push_relay` section whose every provider is a sandbox: shared by the /push tests and the /push fuzz target. */
import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { ApnsSandbox } from "../../src/sandbox/apns.js";
import { SANDBOX_APNS, SANDBOX_FCM, startSandbox, type Sandbox } from "../../src/sandbox/index.js";
import { startTestHerald, type TestHerald } from "../helpers/herald.js";

/** APNs' two endpoints, each its own sandbox accepting the sandbox's signing key (for `topics`, or any topic). */
export async function startApnsEndpoints(
  sandbox: Sandbox,
  topics?: string[],
): Promise<{ production: ApnsSandbox; development: ApnsSandbox }> {
  const key = {
    keyId: SANDBOX_APNS.keyId,
    teamId: SANDBOX_APNS.teamId,
    publicKeyPem: createPublicKey(readFileSync(sandbox.files.apnsKey))
      .export({ type: "spki", format: "pem" })
      .toString(),
  };
  const [production, development] = await Promise.all([
    ApnsSandbox.start({ ca: sandbox.ca, keys: [key], ...(topics ? { topics } : {}) }),
    ApnsSandbox.start({ ca: sandbox.ca, keys: [key], ...(topics ? { topics } : {}) }),
  ]);
  return { production, development };
}

/**
 * Its rate limits are off: the suites push hundreds of times from one address to a few recipients (the limits have
 * their own tests, test/pushRelay/rateLimits.test.ts).
 */
export function pushRelaySection(
  sandbox: Sandbox,
  apns: { production: ApnsSandbox; development: ApnsSandbox },
  hms: Record<string, unknown>,
): Record<string, Record<string, unknown>> {
  return {
    fcm: {
      service_account_key_base64: readFileSync(sandbox.files.serviceAccount).toString("base64"),
      project_id: SANDBOX_FCM.projectId,
      endpoint: sandbox.fcm.url,
      ca: sandbox.files.ca,
    },
    apns: {
      keyfile: sandbox.files.apnsKey,
      key_id: SANDBOX_APNS.keyId,
      team_id: SANDBOX_APNS.teamId,
      production_endpoint: apns.production.url,
      sandbox_endpoint: apns.development.url,
      ca: sandbox.files.ca,
    },
    hms,
    threema_gateway: {
      base_url: sandbox.threema.url,
      identity: sandbox.threemaAccount.identity,
      secret: sandbox.threemaAccount.secret,
      private_key_file: sandbox.files.threemaKey,
      ca: sandbox.files.ca,
    },
    rate_limits: { per_address: { requests: 0 }, per_recipient: { requests: 0 } },
  };
}

export interface PushRelayHerald {
  sandbox: Sandbox;
  apns: { production: ApnsSandbox; development: ApnsSandbox };
  herald: TestHerald;
  /** Stops Herald, then the sandboxes. */
  close(): Promise<void>;
}

/**
 * A sandbox, APNs' two endpoints, and a Herald serving `/push` on them: `config` is merged into its config (its `http`
 * and apps, say), `pushRelay` into its `push_relay` section (its rate limits, say).
 */
export async function startPushRelayHerald(
  config: Record<string, unknown>,
  pushRelay: Record<string, unknown> = {},
): Promise<PushRelayHerald> {
  const sandbox = await startSandbox();
  const apns = await startApnsEndpoints(sandbox);
  const herald = await startTestHerald({
    ...config,
    push_relay: { ...pushRelaySection(sandbox, apns, {}), ...pushRelay },
  });
  return {
    sandbox,
    apns,
    herald,
    close: async () => {
      await herald.stop();
      await Promise.all([sandbox.close(), apns.production.close(), apns.development.close()]);
    },
  };
}
