/**
 * A WebPush subscription's endpoint comes from the homeserver, that is from any client: Herald must not become a way
 * to reach the machines behind it (SSRF). Before a push, the endpoint's host is resolved (the answer is kept for 30 s),
 * every address it resolves to is judged against the table of special-purpose addresses (`specialAddresses.ts`), and
 * the request then goes to the first of them and no other, directly or as the proxy's CONNECT target (a second lookup
 * could answer differently). `allowed_endpoints` only narrows this: a listed host is judged like any other. The
 * operator's own opt-ins widen it: `allow_private_addresses` (networks an endpoint may lead to although the table
 * refuses them) and `allow_http` (plain `http` endpoints).
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { LRUCache } from "lru-cache";
import { TemporaryFailure } from "../../core/pushkin.js";
import { judgeAddress, type AddressNetwork } from "./specialAddresses.js";

export type EndpointCheck = { ok: true; url: URL; address: string; family: 4 | 6 } | { ok: false; why: string };

/** `allowed_endpoints` globs, matched ignoring case against the endpoint's host[:port] (its netloc). */
export type AllowList = RegExp[] | undefined;

/** What a WebPush app lets its endpoints reach. */
export interface EndpointPolicy {
  allowedEndpoints: AllowList;
  /** `allow_private_addresses`: networks reachable although special-purpose. */
  privateAddresses: readonly AddressNetwork[];
  /** `allow_http`: plain `http` endpoints too. */
  allowHttp: boolean;
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Host name → every address it has; the system's resolver, cached, unless a test brings its own. */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

export async function checkEndpoint(
  endpoint: string,
  policy: EndpointPolicy,
  resolve: Resolver = resolveCached,
): Promise<EndpointCheck> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { ok: false, why: "the endpoint is not a URL" };
  }
  if (url.protocol !== "https:" && !(url.protocol === "http:" && policy.allowHttp)) {
    const fix = url.protocol === "http:" ? " (allow_http is off)" : "";
    return { ok: false, why: `the endpoint is ${url.protocol.replace(/:$/, "")}, not https${fix}` };
  }
  if (policy.allowedEndpoints && !policy.allowedEndpoints.some((glob) => glob.test(url.host))) {
    return { ok: false, why: `the endpoint's host ${url.host} is not in allowed_endpoints` };
  }

  // The URL parser has already turned every way of writing an IPv4 address (2130706433, 0x7f.1, 0177.0.0.1) into
  // the dotted one, and lower-cased and compressed an IPv6 one (between brackets, without a zone id).
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const family = isIP(host);
  const addresses = family ? [{ address: host, family }] : await resolve(host);
  for (const { address } of addresses) {
    const verdict = judgeAddress(address, policy.privateAddresses);
    if (verdict.refused) {
      const leadsTo = family ? `is ${verdict.why}` : `resolves to ${address}, ${verdict.why}`;
      return { ok: false, why: `the endpoint's host ${host} ${leadsTo}: an address Herald does not push to` };
    }
  }
  const first = addresses[0];
  if (!first) return { ok: false, why: `the endpoint's host ${host} has no address` };
  return { ok: true, url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/**
 * Host name → addresses, for a short while: a busy app pushes to the same few push services all the time, and
 * getaddrinfo caches nothing. The cached answer is what is checked and connected to, so it cannot be switched under
 * the check (DNS rebinding).
 */
const RESOLVED = new LRUCache<string, ResolvedAddress[]>({ max: 1000, ttl: 30_000 });

async function resolveCached(host: string): Promise<ResolvedAddress[]> {
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
