/**
 * Address lists in the config (`http.trusted_proxies`, `http.exempt_addresses`): each entry an IPv4 or IPv6 address,
 * or a network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`).
 */
import { isIP } from "node:net";

export interface AddressRange {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

/** The entry as a range, or a sentence saying what is wrong with it. */
export function parseAddressRange(entry: string): AddressRange | string {
  const [address = "", prefixText, ...rest] = entry.trim().split("/");
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return `'${entry}' is neither an IP address nor a network such as 10.0.0.0/8`;
  const family = version === 4 ? "ipv4" : "ipv6";
  const bits = version === 4 ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: bits, family };
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!(prefix >= 0 && prefix <= bits)) return `'${entry}': the prefix length must be a number from 0 to ${bits}`;
  return { address, prefix, family };
}

/** A problem for each entry of each list that is not an address or network, named by its key. */
export function addressListProblems(lists: Record<string, readonly string[]>): string[] {
  const problems: string[] = [];
  for (const [key, entries] of Object.entries(lists)) {
    entries.forEach((entry, index) => {
      const range = parseAddressRange(entry);
      if (typeof range === "string") problems.push(`${key}[${index}]: ${range}`);
    });
  }
  return problems;
}
