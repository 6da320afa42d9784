import assert from "node:assert/strict";
import { test } from "node:test";
import { AddressSet, clientAddress, limitKey } from "../src/api/clientAddress.js";
import { addressListProblems, parseAddressRange } from "../src/config/addresses.js";

test("address lists take addresses and CIDR networks, and name each bad entry", () => {
  assert.deepEqual(parseAddressRange("10.0.0.0/8"), { address: "10.0.0.0", prefix: 8, family: "ipv4" });
  assert.deepEqual(parseAddressRange("2001:db8::1"), { address: "2001:db8::1", prefix: 128, family: "ipv6" });
  assert.deepEqual(
    addressListProblems({ "http.exempt_addresses": ["10.0.0.1", "matrix.org", "10.0.0.0/33", "::/x", "1.2.3.4/8/9"] }),
    [
      "http.exempt_addresses[1]: 'matrix.org' is neither an IP address nor a network such as 10.0.0.0/8",
      "http.exempt_addresses[2]: '10.0.0.0/33': the prefix length must be a number from 0 to 32",
      "http.exempt_addresses[3]: '::/x': the prefix length must be a number from 0 to 128",
      "http.exempt_addresses[4]: '1.2.3.4/8/9' is neither an IP address nor a network such as 10.0.0.0/8",
    ],
  );
});

test("an address set matches addresses, networks and IPv4 peers of a dual-stack socket", () => {
  const set = new AddressSet(["192.0.2.7", "10.0.0.0/8", "2001:db8::/32"]);
  assert.equal(set.has("192.0.2.7"), true);
  assert.equal(set.has("::ffff:10.1.2.3"), true);
  assert.equal(set.has("2001:db8:1::5"), true);
  assert.equal(set.has("192.0.2.8"), false);
  assert.equal(set.has("2001:db9::1"), false);
  assert.equal(new AddressSet([]).has("127.0.0.1"), false);
});

test("X-Forwarded-For names the client only when the peer is a trusted proxy", () => {
  const proxies = new AddressSet(["10.0.0.0/8"]);
  // No trusted proxy: the header is whatever the client wrote.
  assert.equal(clientAddress("203.0.113.9", "198.51.100.1", new AddressSet([])), "203.0.113.9");
  assert.equal(clientAddress("203.0.113.9", "198.51.100.1", proxies), "203.0.113.9");
  // The proxy's own entry, then through a chain of trusted proxies; the client's forged entries to the left are not read.
  assert.equal(clientAddress("10.0.0.2", "1.1.1.1, 198.51.100.1", proxies), "198.51.100.1");
  assert.equal(clientAddress("::ffff:10.0.0.2", "1.1.1.1, 198.51.100.1, 10.0.0.3", proxies), "198.51.100.1");
  assert.equal(clientAddress("10.0.0.2", undefined, proxies), "10.0.0.2");
});

test("limits count an IPv6 client by its /64", () => {
  assert.equal(limitKey("198.51.100.1"), "198.51.100.1");
  assert.equal(limitKey("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  assert.equal(limitKey("2001:db8:1:2::ffff"), "2001:db8:1:2::/64");
  assert.equal(limitKey("2001:db8::1"), "2001:db8:0:0::/64");
  assert.equal(limitKey("64:ff9b::192.0.2.1"), "64:ff9b:0:0::/64");
});
