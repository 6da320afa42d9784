/**
 * The SSRF guard of WebPush endpoints: the whole table of special-purpose addresses in every notation a URL or a
 * resolver gives them, names that resolve there (a resolver of the test's own), what allowed_endpoints narrows and
 * what only allow_private_addresses and allow_http widen.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { globToRegExp } from "../../src/core/glob.js";
import {
  checkEndpoint,
  type EndpointPolicy,
  type ResolvedAddress,
  type Resolver,
} from "../../src/pushkins/webpush/endpointGuard.js";
import { IPV6_GLOBAL_UNICAST, judgeAddress, SPECIAL_RANGES } from "../../src/pushkins/webpush/specialAddresses.js";
import { envSettings } from "../fuzz/harness.js";
import { repoRoot } from "../helpers/paths.js";

const OPEN: EndpointPolicy = { allowedEndpoints: undefined, privateAddresses: [], allowHttp: false };
const policy = (
  options: { allowed?: string[]; privateAddresses?: string[]; allowHttp?: boolean } = {},
): EndpointPolicy => ({
  allowedEndpoints: options.allowed?.map((glob) => globToRegExp(glob, { ignoreCase: true })),
  privateAddresses: (options.privateAddresses ?? []).map((entry) =>
    ipaddr.parseCIDR(entry.includes("/") ? entry : `${entry}/${entry.includes(":") ? 128 : 32}`),
  ),
  allowHttp: options.allowHttp ?? false,
});
/** A resolver that knows a few names; a literal must never reach it. */
const resolverOf =
  (names: Record<string, string[]>): Resolver =>
  async (host) => {
    const addresses = names[host];
    if (!addresses) throw new Error(`the test resolver was asked for ${host}`);
    return addresses.map((address): ResolvedAddress => ({ address, family: address.includes(":") ? 6 : 4 }));
  };
const NO_NAMES = resolverOf({});

/** Refused, with this in the reason (the range's name, what an IPv6 address carries); or allowed. */
type Expected = string | "allowed";

/** Each endpoint as a user may write it, and what the guard must say. */
const ENDPOINTS: [string, Expected][] = [
  // IPv4, dotted
  ["https://0.0.0.0/push", "this network"],
  ["https://0.1.2.3/push", "this network"],
  ["https://10.0.0.1/push", "private-use (10.0.0.0/8)"],
  ["https://10.255.255.255/push", "private-use (10.0.0.0/8)"],
  ["https://100.64.0.1/push", "carrier-grade NAT"],
  ["https://100.127.255.254/push", "carrier-grade NAT"],
  ["https://127.0.0.1/push", "loopback (127.0.0.0/8)"],
  ["https://127.255.255.254:8443/push", "loopback (127.0.0.0/8)"],
  ["https://169.254.169.254/latest/meta-data", "link-local"],
  ["https://172.16.0.1/push", "private-use (172.16.0.0/12)"],
  ["https://172.31.255.255/push", "private-use (172.16.0.0/12)"],
  ["https://192.0.0.8/push", "IETF protocol assignments (192.0.0.0/24)"],
  ["https://192.0.2.1/push", "TEST-NET-1"],
  ["https://192.31.196.1/push", "AS112"],
  ["https://192.52.193.1/push", "AMT"],
  ["https://192.88.99.1/push", "6to4 relay anycast"],
  ["https://192.168.1.1/push", "private-use (192.168.0.0/16)"],
  ["https://192.175.48.1/push", "AS112 direct delegation"],
  ["https://198.18.0.1/push", "benchmarking"],
  ["https://198.19.255.255/push", "benchmarking"],
  ["https://198.51.100.7/push", "TEST-NET-2"],
  ["https://203.0.113.9/push", "TEST-NET-3"],
  ["https://224.0.0.1/push", "multicast"],
  ["https://239.255.255.250/push", "multicast"],
  ["https://240.0.0.1/push", "reserved (240.0.0.0/4)"],
  ["https://255.255.255.255/push", "limited broadcast"],
  // IPv4, the other ways a URL may write it: the URL parser makes them dotted
  ["https://2130706433/push", "loopback"],
  ["https://0x7f000001/push", "loopback"],
  ["https://017700000001/push", "loopback"],
  ["https://0x7f.1/push", "loopback"],
  ["https://0177.0.0.1/push", "loopback"],
  ["https://127.1/push", "loopback"],
  ["https://127.0.0.1./push", "loopback"],
  ["https://3232235777/push", "private-use (192.168.0.0/16)"],
  ["https://0xa9.0xfe.0xa9.0xfe/push", "link-local"],
  ["https://0251.0376.0251.0376/push", "link-local"],
  ["https://0/push", "this network"],
  // IPv4, just outside the ranges, and public
  ["https://100.63.255.255/push", "allowed"],
  ["https://100.128.0.1/push", "allowed"],
  ["https://172.15.255.255/push", "allowed"],
  ["https://172.32.0.1/push", "allowed"],
  ["https://192.0.3.1/push", "allowed"],
  ["https://198.20.0.1/push", "allowed"],
  ["https://223.255.255.255/push", "allowed"],
  ["https://8.8.8.8/push", "allowed"],
  ["https://134744072/push", "allowed"],
  ["https://93.184.216.34:8443/push", "allowed"],
  // IPv6: unspecified, loopback, compressed, expanded, upper case
  ["https://[::]/push", "unspecified (::/128)"],
  ["https://[0:0:0:0:0:0:0:0]/push", "unspecified (::/128)"],
  ["https://[::1]/push", "loopback (::1/128)"],
  ["https://[0000:0000:0000:0000:0000:0000:0000:0001]/push", "loopback (::1/128)"],
  // IPv4-mapped: judged as the IPv4 address, dotted or hex
  ["https://[::ffff:127.0.0.1]/push", "IPv4-mapped (::ffff:0:0/96) of 127.0.0.1: loopback"],
  ["https://[::ffff:7f00:1]/push", "of 127.0.0.1: loopback"],
  ["https://[::FFFF:7F00:1]/push", "of 127.0.0.1: loopback"],
  ["https://[0:0:0:0:0:ffff:7f00:0001]/push", "of 127.0.0.1: loopback"],
  ["https://[::ffff:169.254.169.254]/push", "of 169.254.169.254: link-local"],
  ["https://[::ffff:a9fe:a9fe]/push", "of 169.254.169.254: link-local"],
  ["https://[::ffff:10.0.0.1]/push", "of 10.0.0.1: private-use"],
  ["https://[::ffff:0.0.0.0]/push", "of 0.0.0.0: this network"],
  ["https://[::ffff:8.8.8.8]/push", "allowed"],
  ["https://[::ffff:808:808]/push", "allowed"],
  // IPv4-compatible, IPv4-translated: refused whole, public or not
  ["https://[::127.0.0.1]/push", "IPv4-compatible (deprecated) (::/96), carrying 127.0.0.1"],
  ["https://[::7f00:1]/push", "IPv4-compatible (deprecated) (::/96), carrying 127.0.0.1"],
  ["https://[::8.8.8.8]/push", "IPv4-compatible (deprecated) (::/96), carrying 8.8.8.8"],
  ["https://[::0.0.0.2]/push", "IPv4-compatible"],
  ["https://[::ffff:0:127.0.0.1]/push", "IPv4-translated (SIIT) (::ffff:0:0:0/96), carrying 127.0.0.1"],
  ["https://[::ffff:0:808:808]/push", "IPv4-translated (SIIT) (::ffff:0:0:0/96), carrying 8.8.8.8"],
  // NAT64: the well-known prefix judged as its IPv4 address, the local-use one refused whole
  ["https://[64:ff9b::127.0.0.1]/push", "NAT64 well-known prefix (64:ff9b::/96) of 127.0.0.1: loopback"],
  ["https://[64:ff9b::7f00:1]/push", "of 127.0.0.1: loopback"],
  ["https://[64:FF9B::A9FE:A9FE]/push", "of 169.254.169.254: link-local"],
  ["https://[64:ff9b::8.8.8.8]/push", "allowed"],
  ["https://[64:ff9b:1:7f00:0:100::]/push", "NAT64 local-use prefix (64:ff9b:1::/48), carrying 127.0.0.1"],
  ["https://[64:ff9b:1:808:8:800::]/push", "NAT64 local-use prefix (64:ff9b:1::/48), carrying 8.8.8.8"],
  ["https://[100::1]/push", "discard-only"],
  // Teredo: the client's address, bits inverted (RFC 4380's example is 192.0.2.45)
  ["https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/push", "Teredo (2001::/32), carrying 192.0.2.45"],
  ["https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/push", "Teredo (2001::/32), carrying 127.0.0.1"],
  ["https://[2001:2::1]/push", "IETF protocol assignments"],
  ["https://[2001:10::1]/push", "IETF protocol assignments"],
  ["https://[2001:20::1]/push", "IETF protocol assignments"],
  ["https://[2001:1ff:ffff::1]/push", "IETF protocol assignments"],
  ["https://[2001:db8::1]/push", "documentation (2001:db8::/32)"],
  ["https://[2001:DB8:0:0:0:0:0:1]/push", "documentation (2001:db8::/32)"],
  // 6to4: refused whole, the IPv4 address named
  ["https://[2002:7f00:1::1]/push", "6to4 (2002::/16), carrying 127.0.0.1"],
  ["https://[2002:a9fe:a9fe::]/push", "6to4 (2002::/16), carrying 169.254.169.254"],
  ["https://[2002:808:808::1]/push", "6to4 (2002::/16), carrying 8.8.8.8"],
  ["https://[2620:4f:8000::1]/push", "AS112 direct delegation"],
  ["https://[3fff::1]/push", "documentation (3fff::/20)"],
  ["https://[5f00::1]/push", "segment routing"],
  ["https://[fc00::1]/push", "unique local"],
  ["https://[fd12:3456::1]/push", "unique local"],
  ["https://[FDFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF]/push", "unique local"],
  ["https://[fe80::1]/push", "link-local (fe80::/10)"],
  ["https://[febf:ffff::1]/push", "link-local (fe80::/10)"],
  ["https://[fec0::1]/push", "site-local"],
  ["https://[feff::1]/push", "site-local"],
  ["https://[ff02::1]/push", "multicast (ff00::/8)"],
  ["https://[FF0E::1]/push", "multicast (ff00::/8)"],
  // IPv6 outside global unicast that no row names
  ["https://[1::1]/push", "reserved (outside global unicast 2000::/3)"],
  ["https://[4000::1]/push", "reserved (outside global unicast 2000::/3)"],
  ["https://[e000::1]/push", "reserved (outside global unicast 2000::/3)"],
  // IPv6, public
  ["https://[2606:4700:4700::1111]/push", "allowed"],
  ["https://[2A00:1450:4001:82B::200A]/push", "allowed"],
  ["https://[2001:4860:4860::8888]/push", "allowed"],
  ["https://[2001:200::1]/push", "allowed"],
  ["https://[2003::1]/push", "allowed"],
];

describe("the address table, in every notation an endpoint may use", () => {
  for (const [endpoint, expected] of ENDPOINTS) {
    test(`${endpoint}: ${expected}`, async () => {
      const check = await checkEndpoint(endpoint, OPEN, NO_NAMES);
      if (expected === "allowed") {
        assert.ok(check.ok, JSON.stringify(check));
        return;
      }
      assert.equal(check.ok, false);
      const { why } = check as { why: string };
      assert.ok(why.includes(expected), why);
      assert.match(why, /: an address Herald does not push to$/);
    });
  }

  test("a zone id is no way around it: not a URL, and ignored in a resolver's answer", async () => {
    for (const endpoint of ["https://[fe80::1%eth0]/push", "https://[fe80::1%25eth0]/push"]) {
      assert.deepEqual(await checkEndpoint(endpoint, OPEN, NO_NAMES), { ok: false, why: "the endpoint is not a URL" });
    }
    for (const address of ["fe80::1%eth0", "FE80::1%2", "ff02::1%lo"])
      assert.equal(judgeAddress(address).refused, true);
    const check = await checkEndpoint(
      "https://scoped.example/",
      OPEN,
      resolverOf({ "scoped.example": ["fe80::1%eth0"] }),
    );
    assert.match((check as { why: string }).why, /resolves to fe80::1%eth0, link-local/);
  });

  test("addresses as a resolver or a library may write them", () => {
    const refused = [
      "0x7f.1",
      "0177.0.0.1",
      "2130706433",
      "::FFFF:127.0.0.1",
      "0:0:0:0:0:ffff:7f00:0001",
      "::ffff:7f00:1",
    ];
    for (const address of refused) assert.equal(judgeAddress(address).refused, true, address);
    assert.deepEqual(judgeAddress("not an address"), { refused: true, why: "not an IP address" });
    assert.deepEqual(judgeAddress("2606:4700:4700::1111"), { refused: false });
  });

  test("every row: its first and last address refused, in IPv4 and IPv6 alike", () => {
    for (const { cidr, judgedAsIpv4 } of SPECIAL_RANGES) {
      const first = ipaddr.IPv4.isValidCIDR(cidr)
        ? ipaddr.IPv4.networkAddressFromCIDR(cidr)
        : ipaddr.IPv6.networkAddressFromCIDR(cidr);
      const last = ipaddr.IPv4.isValidCIDR(cidr)
        ? ipaddr.IPv4.broadcastAddressFromCIDR(cidr)
        : ipaddr.IPv6.broadcastAddressFromCIDR(cidr);
      // The two judged by their IPv4 address carry 0.0.0.0 and 255.255.255.255 there, both special-purpose.
      for (const address of [first, last]) {
        const verdict = judgeAddress(address.toString());
        assert.equal(verdict.refused, true, `${address.toString()} of ${cidr}`);
        if (judgedAsIpv4) assert.match((verdict as { why: string }).why, / of (0\.0\.0\.0|255\.255\.255\.255): /);
      }
    }
  });

  test("whatever ipaddr.js names as special is refused", () => {
    // A sample of each range the library knows, including those the table holds inside wider rows.
    const samples = ["192.0.0.170", "192.31.196.1", "192.52.193.1", "2001:2::1", "2001:3::1", "2001:4:112::1"];
    samples.push("2001:10::1", "2001:20::1", "2001:30::1", "2620:4f:8000::1", "3fff::1", "5f00::1");
    for (const address of samples) {
      assert.notEqual(ipaddr.parse(address).range(), "unicast", address);
      assert.equal(judgeAddress(address).refused, true, address);
    }
  });
});

/** Ways of writing one IPv4 address in a URL's host. */
const ipv4Notations = (octets: number[]): string[] => {
  const value = octets.reduce((n, o) => n * 256 + o, 0);
  const hex = (n: number) => n.toString(16);
  const [a, b, c, d] = octets as [number, number, number, number];
  return [
    octets.join("."),
    String(value),
    `0x${hex(value)}`,
    `0${value.toString(8)}`,
    octets.map((o) => `0x${hex(o)}`).join("."),
    octets.map((o) => `0${o.toString(8)}`).join("."),
    `${a}.${b}.${c * 256 + d}`,
    `${a}.${b * 65536 + c * 256 + d}`,
    `[::ffff:${octets.join(".")}]`,
    `[::ffff:${hex(a * 256 + b)}:${hex(c * 256 + d)}]`.toUpperCase(),
    `[0:0:0:0:0:ffff:${hex(a * 256 + b).padStart(4, "0")}:${hex(c * 256 + d).padStart(4, "0")}]`,
  ];
};

describe("one address, one verdict, however it is written (generated)", () => {
  // The fuzz suites' fixed seed, or HERALD_FUZZ_SEED and HERALD_FUZZ_RUNS (see docs/reliability.md).
  const { seed, runsPerProperty } = envSettings();
  const runs = { seed, numRuns: runsPerProperty ?? 300 };
  // Addresses drawn near the rows' edges as often as anywhere.
  const edges = SPECIAL_RANGES.filter((r) => ipaddr.IPv4.isValidCIDR(r.cidr)).flatMap((r) => [
    ipaddr.IPv4.networkAddressFromCIDR(r.cidr).octets,
    ipaddr.IPv4.broadcastAddressFromCIDR(r.cidr).octets,
  ]);
  const octet = fc.integer({ min: 0, max: 255 });
  const ipv4 = fc.oneof(
    fc.tuple(octet, octet, octet, octet),
    fc.tuple(fc.constantFrom(...edges), fc.integer({ min: -2, max: 2 })).map(([octets, step]) => {
      const value = (octets.reduce((n, o) => n * 256 + o, 0) + step + 2 ** 32) % 2 ** 32;
      return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255];
    }),
  );

  test("IPv4: every notation a URL takes gets the dotted form's verdict", async () => {
    await fc.assert(
      fc.asyncProperty(ipv4, async (octets) => {
        const expected = judgeAddress(octets.join(".")).refused;
        for (const host of ipv4Notations(octets)) {
          const check = await checkEndpoint(`https://${host}/push`, OPEN, NO_NAMES);
          assert.equal(!check.ok, expected, `${host} (${octets.join(".")})`);
        }
      }),
      runs,
    );
  });

  test("IPv6: expanded, compressed and upper case agree; anything inside a row is refused", async () => {
    const ipv6Rows = SPECIAL_RANGES.filter((r) => !ipaddr.IPv4.isValidCIDR(r.cidr) && !r.judgedAsIpv4);
    const word = fc.integer({ min: 0, max: 0xffff });
    const insideRow = fc
      .tuple(fc.constantFrom(...ipv6Rows), fc.array(word, { minLength: 8, maxLength: 8 }))
      .map(([row, words]) => {
        const [network, bits] = ipaddr.IPv6.parseCIDR(row.cidr);
        const parts = network.parts.map((p, i) => {
          const kept = Math.max(0, Math.min(16, bits - i * 16));
          const mask = kept === 0 ? 0 : (0xffff << (16 - kept)) & 0xffff;
          return (p & mask) | (words[i]! & ~mask & 0xffff);
        });
        return { parts, inside: true };
      });
    const any = fc.array(word, { minLength: 8, maxLength: 8 }).map((parts) => ({ parts, inside: false }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(insideRow, any), async ({ parts, inside }) => {
        const address = new ipaddr.IPv6(parts);
        const expected = judgeAddress(address.toString()).refused;
        if (inside) assert.equal(expected, true, address.toString());
        const notations = [
          address.toString(),
          address.toNormalizedString(),
          parts.map((p) => p.toString(16).padStart(4, "0")).join(":"),
        ];
        for (const host of [...notations, ...notations.map((n) => n.toUpperCase())]) {
          const check = await checkEndpoint(`https://[${host}]/push`, OPEN, NO_NAMES);
          assert.equal(!check.ok, expected, host);
        }
      }),
      runs,
    );
  });
});

describe("names that resolve to refused addresses", () => {
  const names = resolverOf({
    "metadata.attacker.example": ["169.254.169.254"],
    "mixed.attacker.example": ["93.184.216.34", "10.0.0.7"],
    "mapped.attacker.example": ["::ffff:10.0.0.1"],
    "6to4.attacker.example": ["2002:7f00:1::1"],
    "push.example.com": ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"],
    "dns64.example.com": ["64:ff9b::5db8:d822"],
    localhost: ["127.0.0.1", "::1"],
  });

  test("a name that resolves to the metadata service is refused, naming what it resolved to", async () => {
    const check = await checkEndpoint("https://metadata.attacker.example/latest", OPEN, names);
    assert.deepEqual(check, {
      ok: false,
      why: "the endpoint's host metadata.attacker.example resolves to 169.254.169.254, link-local (cloud metadata services) (169.254.0.0/16): an address Herald does not push to",
    });
  });

  test("one refused address among several refuses the host", async () => {
    const check = await checkEndpoint("https://mixed.attacker.example/", OPEN, names);
    assert.match((check as { why: string }).why, /resolves to 10\.0\.0\.7, private-use/);
  });

  test("IPv4-mapped and 6to4 answers are judged as the IPv4 address inside", async () => {
    assert.match(
      ((await checkEndpoint("https://mapped.attacker.example/", OPEN, names)) as { why: string }).why,
      /of 10\.0\.0\.1: private-use/,
    );
    assert.match(
      ((await checkEndpoint("https://6to4.attacker.example/", OPEN, names)) as { why: string }).why,
      /6to4 \(2002::\/16\), carrying 127\.0\.0\.1/,
    );
  });

  test("a public answer is pinned: the request goes to the address checked", async () => {
    const check = await checkEndpoint("https://push.example.com/x", OPEN, names);
    assert.ok(check.ok);
    assert.deepEqual([check.address, check.family], ["93.184.216.34", 4]);
  });

  test("DNS64's synthesized address of a public IPv4 host is allowed, and pinned", async () => {
    const check = await checkEndpoint("https://dns64.example.com/x", OPEN, names);
    assert.ok(check.ok);
    assert.deepEqual([check.address, check.family], ["64:ff9b::5db8:d822", 6]);
  });

  test("an answer that changes between two checks is judged each time: a rebinding name is refused", async () => {
    const answers = [["93.184.216.34"], ["127.0.0.1"]];
    const rebinding: Resolver = async () => answers.shift()!.map((address) => ({ address, family: 4 }));
    assert.equal((await checkEndpoint("https://rebind.example/", OPEN, rebinding)).ok, true);
    assert.equal((await checkEndpoint("https://rebind.example/", OPEN, rebinding)).ok, false);
  });

  test("the system's resolver: localhost is refused", async () => {
    const check = await checkEndpoint("https://localhost/push/1", OPEN);
    assert.match((check as { why: string }).why, /^the endpoint's host localhost resolves to .*loopback/);
  });

  describe("allowed_endpoints only narrows", () => {
    test("a listed wildcard that resolves to 169.254.169.254 is refused", async () => {
      const wildcard = resolverOf({ "evil.push.example.com": ["169.254.169.254"] });
      const check = await checkEndpoint(
        "https://evil.push.example.com/latest/meta-data",
        policy({ allowed: ["*.push.example.com"] }),
        wildcard,
      );
      assert.match((check as { why: string }).why, /resolves to 169\.254\.169\.254, link-local/);
    });
    test("a listed literal private address is refused", async () => {
      const check = await checkEndpoint("https://127.0.0.1:8443/push", policy({ allowed: ["127.0.0.1:*"] }), NO_NAMES);
      assert.match((check as { why: string }).why, /is loopback/);
    });
    test("a listed host over plain http is refused", async () => {
      const check = await checkEndpoint("http://push.example.com/x", policy({ allowed: ["push.example.com"] }), names);
      assert.deepEqual(check, { ok: false, why: "the endpoint is http, not https (allow_http is off)" });
    });
    test("a host outside the list is refused before any lookup", async () => {
      const check = await checkEndpoint(
        "https://93.184.216.34/push/1",
        policy({ allowed: ["push.example.com"] }),
        NO_NAMES,
      );
      assert.deepEqual(check, { ok: false, why: "the endpoint's host 93.184.216.34 is not in allowed_endpoints" });
    });
    test("a listed public host, matched ignoring case, is allowed", async () => {
      const check = await checkEndpoint("https://PUSH.example.com/x", policy({ allowed: ["push.example.com"] }), names);
      assert.equal(check.ok, true);
    });
  });
});

describe("the operator's opt-ins", () => {
  test("allow_private_addresses lets exactly its addresses and networks through", async () => {
    const loopback = policy({ privateAddresses: ["127.0.0.1"] });
    assert.equal((await checkEndpoint("https://127.0.0.1:8443/push", loopback, NO_NAMES)).ok, true);
    assert.equal((await checkEndpoint("https://[::ffff:127.0.0.1]/push", loopback, NO_NAMES)).ok, true);
    assert.equal((await checkEndpoint("https://127.0.0.2/push", loopback, NO_NAMES)).ok, false);
    assert.equal((await checkEndpoint("https://[::1]/push", loopback, NO_NAMES)).ok, false);
    assert.equal((await checkEndpoint("https://169.254.169.254/", loopback, NO_NAMES)).ok, false);
    // localhost is both 127.0.0.1 and ::1: one address not let through refuses the host.
    const localhost = resolverOf({ localhost: ["127.0.0.1", "::1"] });
    assert.equal((await checkEndpoint("https://localhost/push", loopback, localhost)).ok, false);
    const both = policy({ privateAddresses: ["127.0.0.1", "::1"] });
    assert.equal((await checkEndpoint("https://localhost/push", both, localhost)).ok, true);

    const network = policy({ privateAddresses: ["10.0.0.0/8"] });
    assert.equal((await checkEndpoint("https://10.1.2.3/push", network, NO_NAMES)).ok, true);
    assert.equal((await checkEndpoint("https://[64:ff9b::a01:203]/push", network, NO_NAMES)).ok, true);
    assert.equal((await checkEndpoint("https://[2002:a01:203::1]/push", network, NO_NAMES)).ok, false);
    assert.equal((await checkEndpoint("https://11.0.0.1/push", network, NO_NAMES)).ok, true); // public anyway
  });

  test("allow_private_addresses does not lift allowed_endpoints, nor allow_http", async () => {
    const both = policy({ allowed: ["push.internal"], privateAddresses: ["10.0.0.0/8"] });
    const internal = resolverOf({ "push.internal": ["10.0.0.5"], "other.internal": ["10.0.0.6"] });
    assert.equal((await checkEndpoint("https://push.internal/x", both, internal)).ok, true);
    assert.equal((await checkEndpoint("https://other.internal/x", both, internal)).ok, false);
    assert.equal((await checkEndpoint("http://push.internal/x", both, internal)).ok, false);
  });

  test("plain http only with allow_http, and then still judged by its address", async () => {
    assert.deepEqual(await checkEndpoint("http://93.184.216.34/push/1", OPEN, NO_NAMES), {
      ok: false,
      why: "the endpoint is http, not https (allow_http is off)",
    });
    const http = policy({ allowHttp: true });
    assert.equal((await checkEndpoint("http://93.184.216.34/push/1", http, NO_NAMES)).ok, true);
    assert.equal((await checkEndpoint("http://127.0.0.1:8080/push", http, NO_NAMES)).ok, false);
    const both = policy({ allowHttp: true, privateAddresses: ["127.0.0.1"] });
    assert.equal((await checkEndpoint("http://127.0.0.1:8080/push", both, NO_NAMES)).ok, true);
  });

  test("no other scheme, and nothing that is not a URL", async () => {
    const any = policy({ allowHttp: true, privateAddresses: ["0.0.0.0/0", "::/0"] });
    for (const endpoint of ["ftp://93.184.216.34/x", "file:///etc/passwd", "ws://93.184.216.34/x", "data:,x"]) {
      assert.match(((await checkEndpoint(endpoint, any, NO_NAMES)) as { why: string }).why, /not https$/);
    }
    assert.deepEqual(await checkEndpoint("not a url", any, NO_NAMES), { ok: false, why: "the endpoint is not a URL" });
  });
});

test("docs/reliability.md shows the table as the guard holds it, row for row", () => {
  const docs = readFileSync(join(repoRoot, "docs", "reliability.md"), "utf8");
  const section = docs.slice(docs.indexOf("### SSRF guard"));
  const table = section.slice(section.indexOf("| network"));
  const rows = table
    .slice(0, table.indexOf("\n\n"))
    .split("\n")
    .slice(2)
    .map((line) => line.split("|").map((cell) => cell.trim()));
  const expected = SPECIAL_RANGES.map(({ cidr, name, embeds, judgedAsIpv4 }) => [
    `\`${cidr}\``,
    name,
    judgedAsIpv4 ? "judged" : embeds ? "refused, whatever IPv4 address it carries" : "refused",
  ]);
  expected.push([`any other IPv6 address outside \`${IPV6_GLOBAL_UNICAST}\``, "reserved", "refused"]);
  assert.equal(rows.length, expected.length);
  rows.forEach(([, network, what, verdict], i) => {
    const [cidr, name, starts] = expected[i]!;
    assert.equal(network, cidr);
    assert.ok(what!.startsWith(name!), `${cidr}: ${what}`);
    assert.ok(verdict!.startsWith(starts!), `${cidr}: ${verdict}`);
  });
});
