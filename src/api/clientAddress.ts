/**
 * Who a request comes from, for the per-address limits.
 *
 * The client is the connection's peer, unless the peer is one of `http.trusted_proxies`: then it is the right-most
 * address of X-Forwarded-For that is not itself a trusted proxy (the entries to its left were written by the client
 * and prove nothing). Without trusted proxies the header is ignored, so that no client can choose its own address.
 *
 * Limits count IPv6 clients by /64, a site's usual allocation, so that one client cannot step around its limits by
 * rotating through the addresses of its own prefix.
 */
import { BlockList, isIPv4 } from "node:net";
import { parseAddressRange } from "../config/addresses.js";

export class AddressSet {
  private readonly list = new BlockList();
  readonly empty: boolean;

  /** Entries as validated by the config (`config/addresses.ts`). */
  constructor(entries: readonly string[]) {
    this.empty = entries.length === 0;
    for (const entry of entries) {
      const range = parseAddressRange(entry);
      if (typeof range === "string") throw new Error(range);
      this.list.addSubnet(range.address, range.prefix, range.family);
    }
  }

  has(address: string): boolean {
    if (this.empty || !address) return false;
    const plain = unmapped(address);
    return this.list.check(plain, isIPv4(plain) ? "ipv4" : "ipv6");
  }
}

export interface ClientAddresses {
  /** `http.trusted_proxies` */
  trustedProxies: AddressSet;
  /** `http.exempt_addresses`: homeservers that no per-address limit applies to. */
  exempt: AddressSet;
}

/** The client's address: the peer's, or the one a trusted proxy says it forwarded for. */
export function clientAddress(peer: string | undefined, forwardedFor: string | undefined, trusted: AddressSet): string {
  let address = unmapped(peer ?? "");
  if (!forwardedFor || !trusted.has(address)) return address;
  const hops = forwardedFor.split(",").map((hop) => hop.trim());
  for (let i = hops.length - 1; i >= 0 && trusted.has(address); i--) {
    const hop = unmapped(hops[i] ?? "");
    if (!hop) break;
    address = hop;
  }
  return address;
}

/** The key a per-address limit counts under: the IPv4 address, or the IPv6 address's /64. */
export function limitKey(address: string): string {
  if (isIPv4(address) || !address.includes(":")) return address;
  return `${ipv6Groups(address).slice(0, 4).join(":")}::/64`;
}

/** `::ffff:192.0.2.1`, as a dual-stack socket reports IPv4 peers, is 192.0.2.1. */
function unmapped(address: string): string {
  return address.startsWith("::ffff:") && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

function ipv6Groups(address: string): string[] {
  const [head = "", tail] = address.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  // An IPv4 tail (`64:ff9b::192.0.2.1`) stands for two groups.
  const width = (groups: string[]) => groups.reduce((n, group) => n + (group.includes(".") ? 2 : 1), 0);
  const missing = tail === undefined ? 0 : 8 - width(left) - width(right);
  return [...left, ...Array<string>(missing).fill("0"), ...right].map((group) =>
    (parseInt(group, 16) || 0).toString(16),
  );
}
