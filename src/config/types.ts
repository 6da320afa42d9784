/** Herald's configuration after validation, with every default applied (see schemas/config.schema.json). */
import type { LevelWithSilent } from "pino";
import type { JsonObject } from "../core/notification.js";
import type { ProxyConfig } from "./proxy.js";
import type { TracingSettings } from "./tracing.js";

export interface CacheConfig {
  enabled: boolean;
  max_entries: number;
  /** seconds */
  ttl: number;
}

/** The `redis` section as validated, defaults applied. */
export interface RedisConfig {
  /** redis:// or rediss://, with its credentials: printed only through `withoutSecrets`. */
  url: string;
  key_prefix: string;
  /** seconds */
  connect_timeout: number;
  /** seconds */
  command_timeout: number;
  /** seconds */
  recall_timeout: number;
  /** A PEM file, relative to the config's directory. */
  ca?: string;
  sentinel?: { master_name: string; nodes: string[]; username?: string; password?: string };
}

export interface CircuitBreakerConfig {
  enabled: boolean;
  failure_threshold: number;
  /** seconds */
  cool_down: number;
  /** Origins whose circuit is kept, per app whose devices choose where they are pushed (WebPush). */
  max_origins: number;
}

export interface LoadSheddingConfig {
  /** /notify's requests being worked on; 0: no limit. */
  max_concurrent_requests: number;
  /** /push's and /clients' requests being worked on; 0: no limit. */
  max_concurrent_public_requests: number;
  /** seconds; 0: not checked. */
  max_event_loop_delay: number;
  /** 0..1 of the heap limit; 1: not checked. */
  max_heap_used: number;
  /** 0..1 of the memory available to the process; 1: not checked. */
  max_memory_used: number;
}

/** The `http` section's limits on clients, per process. */
export interface ConnectionLimitsConfig {
  /** 0: no limit. */
  max_connections: number;
  /** 0: no limit. */
  max_connections_per_address: number;
  /** seconds */
  body_timeout: number;
  /** bytes a second; 0: no minimum. */
  body_min_rate: number;
}

/** A token bucket: a burst of `requests`, then `requests` per `period`. */
export interface RateLimitConfig {
  /** 0: no limit. */
  requests: number;
  /** seconds */
  period: number;
}

/** Herald's `metrics.opentelemetry`, defaults applied. */
export interface OpenTelemetryConfig {
  enabled: boolean;
  /** The OTLP/HTTP traces URL of a collector. */
  endpoint: string;
  service_name: string;
  /** 0..1: the share of the traces Herald starts that are kept; a caller's decision is followed. */
  sampling_ratio: number;
  /** Sent with every export (a collector's API key): never logged. */
  headers: Record<string, string>;
}

/** Sygnal's `metrics.opentracing`, defaults applied; `jaeger` is the Jaeger client's config, as written. */
export interface OpenTracingConfig {
  enabled: boolean;
  implementation: string | null;
  jaeger: JsonObject;
  service_name: string;
}

export interface AppConfig extends JsonObject {
  type: string;
  inflight_request_limit: number;
  /** Over the top-level `circuit_breaker`. */
  circuit_breaker?: Partial<CircuitBreakerConfig>;
}

/** `metrics.sentry`: unexpected errors reported to this project (observability/errorReports.ts). */
export interface SentryConfig {
  enabled: boolean;
  /** `https://<public key>@<host>/<project id>`; checked by the loader when `enabled`. */
  dsn?: string;
}

export interface HeraldConfig {
  /** Absolute path of the file this was read from. */
  path: string;
  /** Its directory: relative paths in the config resolve against it. */
  dir: string;
  http: ConnectionLimitsConfig & {
    bind_addresses: string[];
    port: number;
    workers: number;
    cors_allowed_origins: string[];
    /** Addresses or CIDR networks, checked by `config/addresses.ts`. */
    trusted_proxies: string[];
    exempt_addresses: string[];
    /** The public surfaces' own listeners; absent: every surface on `bind_addresses` and `port`. */
    public_listener: { bind_addresses: string[]; port: number } | undefined;
  };
  log: { level: LevelWithSilent; access: { x_forwarded_for: boolean } };
  /** `address` undefined: every interface. */
  metrics: { prometheus: { enabled: boolean; address: string | undefined; port: number }; sentry: SentryConfig };
  /** Where spans go, from `metrics.opentelemetry` or Sygnal's `metrics.opentracing` (`config/tracing.ts`); off: absent. */
  tracing: TracingSettings | undefined;
  proxy: ProxyConfig | undefined;
  /** seconds */
  request_deadline: number;
  /** seconds */
  shutdown_timeout: number;
  dead_token_cache: CacheConfig;
  duplicate_suppression: CacheConfig;
  /** Herald: duplicate suppression and the dead-token cache shared through Redis; absent: each process's own. */
  redis: RedisConfig | undefined;
  circuit_breaker: CircuitBreakerConfig;
  load_shedding: LoadSheddingConfig;
  apps: Record<string, AppConfig>;
  /** Herald: serve Threema push-relay's `POST /push`; absent: no such route. */
  push_relay: PushRelayConfig | undefined;
  /** Herald: serve WalletConnect's push-server API (`/clients`); absent: no such routes. */
  walletconnect: WalletConnectConfig | undefined;
}

/** The `push_relay` section as validated: push-relay's config.toml sections, plus Herald's endpoints and CAs. */
export interface PushRelayConfig {
  fcm?: {
    service_account_key_base64?: string;
    service_account_file?: string;
    project_id: string | number;
    max_retries?: number;
    timeout_secs?: number;
    endpoint?: string;
    ca?: string;
  };
  apns?: {
    keyfile: string;
    key_id: string;
    team_id: string;
    production_endpoint?: string;
    sandbox_endpoint?: string;
    ca?: string;
  };
  /** By the `appid` Threema Web sends. */
  hms?: Record<
    string,
    {
      client_id: string;
      client_secret: string;
      high_priority?: boolean;
      endpoint?: string;
      token_endpoint?: string;
      ca?: string;
    }
  >;
  threema_gateway?: { base_url: string; identity: string; secret: string; private_key_file: string; ca?: string };
  /** Accepted and ignored: Herald's metrics are Prometheus. */
  influxdb?: JsonObject;
  /** Herald's: by client address, and by the token or Threema ID a push goes to. */
  rate_limits: { per_address: RateLimitConfig; per_recipient: RateLimitConfig };
}

/** The `walletconnect` section as validated, defaults applied. */
export interface WalletConnectProviders {
  apns?: string;
  "apns-sandbox"?: string;
  fcm?: string;
}

export interface WalletConnectConfig {
  relay_public_key?: string;
  validate_signatures: boolean;
  /** seconds; 0: not checked */
  timestamp_window: number;
  public_url?: string | string[];
  /** Every registration and deletion must carry a wallet JWT. */
  require_client_auth: boolean;
  /** Push type → the key of the app that serves it. */
  providers?: WalletConnectProviders;
  /** Without `tenants`: the only project ids served under `/{id}/clients`; absent: any. */
  allowed_tenants?: string[];
  /** Project id → its own apps; its clients are its own. */
  tenants?: Record<string, { providers?: WalletConnectProviders }>;
  accept_noop: boolean;
  store: { type: "sqlite"; path?: string } | { type: "postgres"; url: string; schema?: string };
  /** seconds */
  message_ttl: number;
  /** A relay message is pushed to one client of a project at most, unless its body names its client. */
  one_client_per_message: boolean;
  /** Registrations and deletions, by client address. */
  rate_limits: { per_address: RateLimitConfig };
  /** 0: no limit. */
  max_clients: number;
}
