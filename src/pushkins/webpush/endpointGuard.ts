/**
 * A WebPush subscription's endpoint comes from the homeserver, that is from any client: Herald must not become a way
 * to reach the machines behind it (SSRF). Before a push, the endpoint's host is resolved (the answer is kept for 30 s),
 * every address it resolves to is checked, and the request then goes to that address and no other (a second lookup
 * could answer differently). Loopback, private, link-local, shared, multicast and unspecified addresses, IPv4 and IPv6 alike
 * (IPv4-mapped ones by their IPv4 address), are refused unless the host matches `allowed_endpoints`. Plain `http`
 * too. A refused endpoint is not sent to and not rejected: the pusher is not the homeserver's to lose for it.
 */
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { LRUCache } from "lru-cache";
import { TemporaryFailure } from "../../core/pushkin.js";

export type EndpointCheck = { ok: true; url: URL; address: string; family: 4 | 6 } | { ok: false; why: string };

const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this network", unspecified
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15], // benchmarking
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const) {
  BLOCKED.addSubnet(network, prefix, "ipv4");
}
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  BLOCKED.addSubnet(network, prefix, "ipv6");
}

/** `allowed_endpoints` globs, matched ignoring case against the endpoint's host[:port] (its netloc). */
export type AllowList = RegExp[] | undefined;

export async function checkEndpoint(endpoint: string, allowed: AllowList): Promise<EndpointCheck> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { ok: false, why: "the endpoint is not a URL" };
  }
  const listed = allowed?.some((glob) => glob.test(url.host)) ?? false;
  if (allowed && !listed) return { ok: false, why: `the endpoint's host ${url.host} is not in allowed_endpoints` };
  if (url.protocol !== "https:" && !(url.protocol === "http:" && listed)) {
    return { ok: false, why: `the endpoint is ${url.protocol.replace(":", "")}, not https` };
  }

  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  let addresses: { address: string; family: number }[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
  } else {
    addresses = await resolve(host);
  }
  if (!listed) {
    const refused = addresses.find((a) => isBlocked(a.address));
    if (refused)
      return {
        ok: false,
        why: `the endpoint's host ${host} is ${refused.address}, an address Herald does not push to`,
      };
  }
  const first = addresses[0];
  if (!first) return { ok: false, why: `the endpoint's host ${host} has no address` };
  return { ok: true, url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

export function isBlocked(address: string): boolean {
  const ipv4 = mappedIpv4(address);
  if (ipv4) return BLOCKED.check(ipv4, "ipv4");
  return BLOCKED.check(address, isIP(address) === 6 ? "ipv6" : "ipv4");
}

/** The IPv4 address inside an IPv4-mapped IPv6 one, written `::ffff:127.0.0.1` or, as URLs normalise it, `::ffff:7f00:1`. */
function mappedIpv4(address: string): string | undefined {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (dotted) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return undefined;
  const [high, low] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}

/**
 * Host name → addresses, for a short while: a busy app pushes to the same few push services all the time, and
 * getaddrinfo caches nothing. The cached answer is what is checked and connected to, so it cannot be switched under
 * the check.
 */
const RESOLVED = new LRUCache<string, { address: string; family: number }[]>({ max: 1000, ttl: 30_000 });

async function resolve(host: string): Promise<{ address: string; family: number }[]> {
  const cached = RESOLVED.get(host);
  if (cached) return cached;
  try {
    const addresses = await lookup(host, { all: true, verbatim: true });
    RESOLVED.set(host, addresses);
    return addresses;
  } catch (error) {
    throw new TemporaryFailure(`cannot resolve the endpoint's host ${host}: ${(error as Error).message}`);
  }
}
