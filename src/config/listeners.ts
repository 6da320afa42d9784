/**
 * The TCP listeners a config opens, and the check that no two of them would take the same port on the same
 * interface: such a config is refused when it is read (by `check-config` as by `serve`), naming both keys, instead
 * of failing at start-up with a bare EADDRINUSE.
 */
import { isIPv4 } from "node:net";

/** The keys a listener comes from: a listen failure names the one to change. */
export const HTTP_LISTENER_KEYS = { port: "http.port", address: "http.bind_addresses" };
export const METRICS_LISTENER_KEYS = { port: "metrics.prometheus.port", address: "metrics.prometheus.address" };
export const PUBLIC_LISTENER_KEYS = {
  port: "http.public_listener.port",
  address: "http.public_listener.bind_addresses",
};

export interface ListenerConfig {
  http: { bind_addresses: string[]; port: number; public_listener?: { bind_addresses: string[]; port: number } };
  metrics: { prometheus: { enabled: boolean; address: string | null | undefined; port: number } };
}

interface Listener {
  /** How a message names it, e.g. `http.bind_addresses[1] ('::')`. */
  name: string;
  keys: { port: string; address: string };
  /** `undefined`: every interface. */
  address: string | undefined;
  port: number;
}

/** One line per pair of listeners that would collide; empty when none do. */
export function listenerClashes(config: ListenerConfig): string[] {
  const { http, metrics } = config;
  const listeners: Listener[] = http.bind_addresses.map((address, i) => ({
    name: `http.bind_addresses[${i}] ('${address}')`,
    keys: HTTP_LISTENER_KEYS,
    address,
    port: http.port,
  }));
  const publicListener = http.public_listener;
  if (publicListener) {
    listeners.push(
      ...publicListener.bind_addresses.map((address, i) => ({
        name: `http.public_listener.bind_addresses[${i}] ('${address}')`,
        keys: PUBLIC_LISTENER_KEYS,
        address,
        port: publicListener.port,
      })),
    );
  }
  const prometheus = metrics.prometheus;
  if (prometheus.enabled) {
    const address = prometheus.address || undefined;
    listeners.push({
      name: `metrics.prometheus.address (${address === undefined ? "every interface" : `'${address}'`})`,
      keys: METRICS_LISTENER_KEYS,
      address,
      port: prometheus.port,
    });
  }
  const clashes: string[] = [];
  listeners.forEach((a, i) => {
    for (const b of listeners.slice(i + 1)) {
      // Port 0 is a free port chosen at start-up: it never collides.
      if (a.port === 0 || a.port !== b.port || !overlap(a.address, b.address)) continue;
      const same = a.keys === b.keys;
      const ports = same ? `${a.keys.port} (${a.port})` : `${a.keys.port} and ${b.keys.port} (both ${a.port})`;
      const fix = same ? `list each interface once in ${a.keys.address}` : `give ${b.keys.port} a port of its own`;
      clashes.push(`${ports}: ${a.name} and ${b.name} would listen on the same port of the same interface: ${fix}`);
    }
  });
  return clashes;
}

/** Whether two listen addresses share an interface. `::` takes IPv4 as well (dual stack); `0.0.0.0` all of IPv4. */
function overlap(a: string | undefined, b: string | undefined): boolean {
  return a === b || covers(a, b) || covers(b, a);
}

function covers(wildcard: string | undefined, address: string | undefined): boolean {
  if (wildcard === undefined || wildcard === "::" || wildcard === "::0") return true;
  if (wildcard === "0.0.0.0") return address === undefined || address === "::" || isIPv4(address ?? "");
  return false;
}
