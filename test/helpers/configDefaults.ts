/** What Herald's config holds for sections a sygnal.yaml leaves out or leaves empty. */

/** `http`: Sygnal's defaults for its keys, Herald's for its own. */
export const DEFAULT_HTTP = {
  bind_addresses: ["127.0.0.1"],
  port: 5000,
  workers: 1,
  cors_allowed_origins: ["*"],
  trusted_proxies: [],
  exempt_addresses: [],
  max_connections: 16384,
  max_connections_per_address: 4096,
  body_timeout: 10,
  body_min_rate: 1024,
};

/** `metrics.prometheus`: off, and where Sygnal would serve it. */
export const DEFAULT_PROMETHEUS = { enabled: false, address: "127.0.0.1", port: 8000 };
