/**
 * The addresses a WebPush endpoint may not lead to: IANA's IPv4 and IPv6 special-purpose registries, multicast, the
 * reserved blocks, and the IPv6 forms that carry an IPv4 address. This table is the one place they are listed;
 * docs/reliability.md ("SSRF guard") shows it, and a test keeps the two the same.
 *
 * An IPv6 address that embeds an IPv4 one is decoded, so that a refusal can say where it would have led. Two forms are
 * judged as the IPv4 address they carry, since that address is where the packets go: IPv4-mapped (the kernel speaks
 * IPv4 to it) and NAT64's well-known prefix (the translator forwards to it, and DNS64 hands out such addresses for
 * every IPv4-only host on an IPv6-only network). Their public addresses are allowed, their special-purpose ones
 * refused. The other transition forms are refused whole, public or not: the IPv4 address they carry is not where they
 * lead (a relay, a tunnel, a translator of the operator's own), and no push service is reached through them.
 *
 * Whatever ipaddr.js names as special beyond this table (ranges a later version may learn) is refused too.
 */
import ipaddr from "ipaddr.js";

type Address = ipaddr.IPv4 | ipaddr.IPv6;

export interface SpecialRange {
  /** The network, as in IANA's registries. */
  cidr: string;
  /** What it is, for the log and the docs. */
  name: string;
  /** For IPv6 ranges that carry an IPv4 address: where it is. */
  embeds?: (address: ipaddr.IPv6) => ipaddr.IPv4;
  /** Judged as the IPv4 address it carries rather than refused whole. */
  judgedAsIpv4?: true;
}

const lastFour = (a: ipaddr.IPv6) => new ipaddr.IPv4(a.toByteArray().slice(12));

/** First match wins: the narrower ranges come before the wider ones that hold them. */
export const SPECIAL_RANGES: readonly SpecialRange[] = [
  { cidr: "0.0.0.0/8", name: "this network (unspecified)" },
  { cidr: "10.0.0.0/8", name: "private-use" },
  { cidr: "100.64.0.0/10", name: "shared address space (carrier-grade NAT)" },
  { cidr: "127.0.0.0/8", name: "loopback" },
  { cidr: "169.254.0.0/16", name: "link-local (cloud metadata services)" },
  { cidr: "172.16.0.0/12", name: "private-use" },
  { cidr: "192.0.0.0/24", name: "IETF protocol assignments" },
  { cidr: "192.0.2.0/24", name: "documentation (TEST-NET-1)" },
  { cidr: "192.31.196.0/24", name: "AS112" },
  { cidr: "192.52.193.0/24", name: "AMT" },
  { cidr: "192.88.99.0/24", name: "6to4 relay anycast (deprecated)" },
  { cidr: "192.168.0.0/16", name: "private-use" },
  { cidr: "192.175.48.0/24", name: "AS112 direct delegation" },
  { cidr: "198.18.0.0/15", name: "benchmarking" },
  { cidr: "198.51.100.0/24", name: "documentation (TEST-NET-2)" },
  { cidr: "203.0.113.0/24", name: "documentation (TEST-NET-3)" },
  { cidr: "224.0.0.0/4", name: "multicast" },
  { cidr: "255.255.255.255/32", name: "limited broadcast" },
  { cidr: "240.0.0.0/4", name: "reserved" },
  { cidr: "::/128", name: "unspecified" },
  { cidr: "::1/128", name: "loopback" },
  { cidr: "::ffff:0:0/96", name: "IPv4-mapped", embeds: lastFour, judgedAsIpv4: true },
  { cidr: "::/96", name: "IPv4-compatible (deprecated)", embeds: lastFour },
  { cidr: "::ffff:0:0:0/96", name: "IPv4-translated (SIIT)", embeds: lastFour },
  { cidr: "64:ff9b::/96", name: "NAT64 well-known prefix", embeds: lastFour, judgedAsIpv4: true },
  // RFC 6052's /48 layout: 16 bits of the IPv4 address, the zero octet "u", the other 16 bits.
  {
    cidr: "64:ff9b:1::/48",
    name: "NAT64 local-use prefix",
    embeds: (a) => {
      const b = a.toByteArray();
      return new ipaddr.IPv4([b[6]!, b[7]!, b[9]!, b[10]!]);
    },
  },
  { cidr: "100::/64", name: "discard-only" },
  // The client's address, its bits inverted so that NATs do not rewrite it.
  {
    cidr: "2001::/32",
    name: "Teredo",
    embeds: (a) =>
      new ipaddr.IPv4(
        a
          .toByteArray()
          .slice(12)
          .map((byte) => byte ^ 0xff),
      ),
  },
  { cidr: "2001::/23", name: "IETF protocol assignments (benchmarking, ORCHID, AMT, AS112…)" },
  { cidr: "2001:db8::/32", name: "documentation" },
  { cidr: "2002::/16", name: "6to4", embeds: (a) => new ipaddr.IPv4(a.toByteArray().slice(2, 6)) },
  { cidr: "2620:4f:8000::/48", name: "AS112 direct delegation" },
  { cidr: "3fff::/20", name: "documentation" },
  { cidr: "5f00::/16", name: "segment routing (SRv6) SIDs" },
  { cidr: "fc00::/7", name: "unique local (private-use)" },
  { cidr: "fe80::/10", name: "link-local" },
  { cidr: "fec0::/10", name: "site-local (deprecated)" },
  { cidr: "ff00::/8", name: "multicast" },
];

/** Global unicast: every IPv6 address outside it that no row above names is refused as reserved by the IETF. */
export const IPV6_GLOBAL_UNICAST = "2000::/3";

const PARSED = SPECIAL_RANGES.map((range) => ({ range, network: ipaddr.parseCIDR(range.cidr) }));
const GLOBAL_UNICAST = ipaddr.parseCIDR(IPV6_GLOBAL_UNICAST);

/** An address or network from the config (`allow_private_addresses`). */
export type AddressNetwork = [Address, number];

export type AddressVerdict = { refused: false } | { refused: true; why: string };

/**
 * Whether an endpoint may lead to `text` (an IP address; an IPv6 zone id is ignored), and if not, why: the range
 * by name and network, and the IPv4 address an IPv6 one carries. `exempt`: networks the operator allowed.
 */
export function judgeAddress(text: string, exempt: readonly AddressNetwork[] = []): AddressVerdict {
  let address: Address;
  try {
    address = ipaddr.parse(text);
  } catch {
    return { refused: true, why: "not an IP address" };
  }
  return judge(address, exempt);
}

function judge(address: Address, exempt: readonly AddressNetwork[]): AddressVerdict {
  if (exempt.some(([network, bits]) => network.kind() === address.kind() && address.match(network, bits))) {
    return { refused: false };
  }
  const row = PARSED.find(({ network }) => network[0].kind() === address.kind() && address.match(network));
  if (row) {
    const { cidr, name, embeds, judgedAsIpv4 } = row.range;
    const what = `${name} (${cidr})`;
    if (!embeds || address.kind() !== "ipv6") return { refused: true, why: what };
    const ipv4 = embeds(address as ipaddr.IPv6);
    if (!judgedAsIpv4) return { refused: true, why: `${what}, carrying ${ipv4.toString()}` };
    const verdict = judge(ipv4, exempt);
    return verdict.refused ? { refused: true, why: `${what} of ${ipv4.toString()}: ${verdict.why}` } : verdict;
  }
  if (address.kind() === "ipv6" && !address.match(GLOBAL_UNICAST)) {
    return { refused: true, why: `reserved (outside global unicast ${IPV6_GLOBAL_UNICAST})` };
  }
  const named = address.range();
  if (named !== "unicast") return { refused: true, why: `${named} (as ipaddr.js names it)` };
  return { refused: false };
}
