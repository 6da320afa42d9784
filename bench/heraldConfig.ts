/**
 * The Herald configs of the benchmark. Defaults everywhere (duplicate suppression and the dead-token cache on,
 * `inflight_request_limit` 512, `request_deadline` 10 s), log level info so that the access log is paid for, and
 * `shutdown_timeout: 2` so that stopping Herald between scenarios is quick. The port is set when Herald starts.
 */
import { APP_ID, FCM_APP_ID, HANGING_APP_ID, HMS_APP_ID, WEBPUSH_APP_ID } from "./bodies.js";
import type { SandboxInfo } from "./sandboxProcess.js";

export type HeraldConfig = Record<string, unknown>;

function apnsApp(sandbox: SandboxInfo, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "apns",
    endpoint: sandbox.url,
    ca: sandbox.ca,
    keyfile: sandbox.keyfile,
    key_id: sandbox.keyId,
    team_id: sandbox.teamId,
    topic: sandbox.topic,
    ...extra,
  };
}

/** One APNs app on the first sandbox; `http` is merged in (e.g. `{workers: 2}`). */
export function oneAppConfig(sandbox: SandboxInfo, http: Record<string, unknown> = {}): HeraldConfig {
  return {
    http,
    log: { level: "info" },
    shutdown_timeout: 2,
    apps: { [APP_ID]: apnsApp(sandbox) },
  };
}

/** One FCM app (HTTP v1; Herald's defaults, among them `max_connections: 20`) on the sandbox FCM of `sandbox`. */
export function fcmAppConfig(sandbox: SandboxInfo): HeraldConfig {
  const { fcm } = sandbox;
  return {
    log: { level: "info" },
    shutdown_timeout: 2,
    apps: {
      [FCM_APP_ID]: {
        type: "gcm",
        api_version: "v1",
        endpoint: fcm.url,
        ca: fcm.ca,
        project_id: fcm.projectId,
        service_account_file: fcm.serviceAccountFile,
      },
    },
  };
}

/**
 * One WebPush app (VAPID, `allowed_endpoints` and `allow_private_addresses` for the sandbox on loopback; Herald's
 * defaults, among them `max_connections: 20`) as the sandbox's `apps()` gives it.
 */
export function webPushAppConfig(sandbox: SandboxInfo): HeraldConfig {
  return { log: { level: "info" }, shutdown_timeout: 2, apps: { [WEBPUSH_APP_ID]: sandbox.webpush.app } };
}

/** One Huawei Push Kit app (Herald's defaults, among them `max_connections: 20`) as the sandbox's `apps()` gives it. */
export function hmsAppConfig(sandbox: SandboxInfo): HeraldConfig {
  return { log: { level: "info" }, shutdown_timeout: 2, apps: { [HMS_APP_ID]: sandbox.hms.app } };
}

/** Isolation settings: the hanging app's requests end within the measured window, by deadline (502) or limit (503). */
export const ISOLATION = { requestDeadlineS: 2, hangingInflightLimit: 64 } as const;

/** The healthy app on one sandbox, a second app on another sandbox (the one that will hang). */
export function twoAppConfig(healthy: SandboxInfo, hanging: SandboxInfo): HeraldConfig {
  return {
    log: { level: "info" },
    shutdown_timeout: 2,
    request_deadline: ISOLATION.requestDeadlineS,
    apps: {
      [APP_ID]: apnsApp(healthy),
      [HANGING_APP_ID]: apnsApp(hanging, { inflight_request_limit: ISOLATION.hangingInflightLimit }),
    },
  };
}

/**
 * The abuse scenario's Herald: the APNs app of `oneAppConfig` for the homeserver, push-relay's `POST /push` on the
 * sandbox FCM of the same sandbox for the attacker, and the metrics listener on `metricsPort`, where the benchmark
 * reads what the attack cost (open connections, slow bodies, requests shed, connections refused). The limits on
 * clients and load shedding keep their defaults. With `publicPort`, /push is served there alone (`http.public_listener`).
 */
export function abuseConfig(sandbox: SandboxInfo, metricsPort: number, publicPort?: number): HeraldConfig {
  const { fcm } = sandbox;
  const publicListener = publicPort === undefined ? {} : { public_listener: { port: publicPort } };
  return {
    ...oneAppConfig(sandbox, publicListener),
    metrics: { prometheus: { enabled: true, address: "127.0.0.1", port: metricsPort } },
    push_relay: {
      fcm: { service_account_file: fcm.serviceAccountFile, project_id: fcm.projectId, endpoint: fcm.url, ca: fcm.ca },
    },
  };
}
