/**
 * The registry's contract, run against each implementation (registry.test.ts): what the WalletConnect API relies on,
 * races included.
 */
import assert from "node:assert/strict";
import { afterEach, describe } from "node:test";
import { PUSH_TYPES, StoreOpenError, type Client, type Registry } from "../../src/store/registry.js";
import { unless } from "../helpers/services.js";
import type { TestDatabase, TestDatabases } from "./testDatabases.js";

const RACERS = 20;
const ROUNDS = 3;
const payload = JSON.stringify({ topic: "t", tag: 4002, message: "m" });

function client(id: string, token: string, overrides: Partial<Client> = {}): Client {
  return { tenant: "", id, token, type: "fcm", alwaysRaw: false, ...overrides };
}

/** With `missing` (why this registry cannot be tested here), every test is reported skipped. */
export function registryContract(name: string, databases: TestDatabases, missing: string | false = false): void {
  describe(`the ${name} registry`, () => {
    const { test, after } = unless(missing);
    const opened: Registry[] = [];
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close()));
    });
    after(() => databases.dropAll());

    async function open(database: TestDatabase, options: { maxClients?: number } = {}): Promise<Registry> {
      const store = await database.open(options);
      opened.push(store);
      return store;
    }
    const fresh = async () => open(await databases.create());

    describe("registration", () => {
      test("a registered client reads back as registered; an unknown id reads as undefined", async () => {
        const store = await fresh();
        for (const type of PUSH_TYPES) {
          await store.registerClient(client(`wallet-${type}`, `token-${type}`, { type, alwaysRaw: type === "apns" }));
        }
        for (const type of PUSH_TYPES) {
          assert.deepEqual(
            await store.getClient("", `wallet-${type}`),
            client(`wallet-${type}`, `token-${type}`, { type, alwaysRaw: type === "apns" }),
          );
        }
        assert.equal(await store.getClient("", "nobody"), undefined);
        assert.equal(await store.countClients(), PUSH_TYPES.length);
      });

      test("the same id again takes the new token, type and always_raw, and keeps its notifications", async () => {
        const store = await fresh();
        await store.registerClient(client("wallet", "old-token"));
        assert.equal(await store.recordNotification("", "wallet", "message-1", payload, 1000), "new");
        await store.registerClient(client("wallet", "new-token", { type: "apns-sandbox", alwaysRaw: true }));
        assert.deepEqual(
          await store.getClient("", "wallet"),
          client("wallet", "new-token", { type: "apns-sandbox", alwaysRaw: true }),
        );
        assert.equal(await store.countClients(), 1);
        assert.equal(await store.recordNotification("", "wallet", "message-1", payload, 2000), "duplicate");
        // The old token is free: another wallet can have it.
        await store.registerClient(client("other", "old-token"));
        assert.equal(await store.countClients(), 2);
      });

      test("registering the same client twice changes nothing", async () => {
        const store = await fresh();
        await store.registerClient(client("wallet", "token", { alwaysRaw: true }));
        await store.registerClient(client("wallet", "token", { alwaysRaw: true }));
        assert.deepEqual(await store.getClient("", "wallet"), client("wallet", "token", { alwaysRaw: true }));
        assert.equal(await store.countClients(), 1);
      });

      test("a token held by another id moves to the new id, without the old client's notifications", async () => {
        const store = await fresh();
        await store.registerClient(client("old-wallet", "token"));
        assert.equal(await store.recordNotification("", "old-wallet", "message-1", payload, 1000), "new");
        await store.registerClient(client("new-wallet", "token", { type: "apns", alwaysRaw: true }));
        assert.equal(await store.getClient("", "old-wallet"), undefined);
        assert.deepEqual(
          await store.getClient("", "new-wallet"),
          client("new-wallet", "token", { type: "apns", alwaysRaw: true }),
        );
        assert.equal(await store.countClients(), 1);
        // What the old client was sent does not count as sent to the new one.
        assert.equal(await store.recordNotification("", "new-wallet", "message-1", payload, 2000), "new");
        assert.equal(await store.recordNotification("", "old-wallet", "message-2", payload, 2000), "unknown-client");
      });

      test("a token held by another id, registered to an id that has a row: one row keeps the id and the token", async () => {
        const store = await fresh();
        await store.registerClient(client("wallet-a", "token-a"));
        await store.registerClient(client("wallet-b", "token-b"));
        assert.equal(await store.recordNotification("", "wallet-a", "message-a", payload, 1000), "new");
        assert.equal(await store.recordNotification("", "wallet-b", "message-b", payload, 1000), "new");

        await store.registerClient(client("wallet-a", "token-b"));
        assert.deepEqual(await store.getClient("", "wallet-a"), client("wallet-a", "token-b"));
        assert.equal(await store.getClient("", "wallet-b"), undefined);
        assert.equal(await store.countClients(), 1);
        assert.equal(await store.recordNotification("", "wallet-a", "message-a", payload, 2000), "duplicate");
        assert.equal(await store.recordNotification("", "wallet-a", "message-b", payload, 2000), "new");
      });
    });

    describe("owners", () => {
      const keyA = "did:key:z6MkOwnerA";
      const keyB = "did:key:z6MkOwnerB";

      test("an owned client reads back with its owner; only its owner registers it again or deletes it", async () => {
        const store = await fresh();
        assert.equal(await store.registerClient(client("wallet", "token", { owner: keyA })), "added");
        assert.deepEqual(await store.getClient("", "wallet"), client("wallet", "token", { owner: keyA }));
        assert.equal(await store.registerClient(client("wallet", "attacker-token")), "owned");
        assert.equal(await store.registerClient(client("wallet", "attacker-token", { owner: keyB })), "owned");
        assert.deepEqual(await store.getClient("", "wallet"), client("wallet", "token", { owner: keyA }));
        assert.equal(await store.deleteClient("", "wallet"), "owned");
        assert.equal(await store.deleteClient("", "wallet", keyB), "owned");
        assert.equal(await store.countClients(), 1);

        assert.equal(
          await store.registerClient(client("wallet", "new-token", { owner: keyA, type: "apns" })),
          "updated",
        );
        assert.deepEqual(
          await store.getClient("", "wallet"),
          client("wallet", "new-token", { owner: keyA, type: "apns" }),
        );
        assert.equal(await store.deleteClient("", "wallet", keyA), "deleted");
        assert.equal(await store.deleteClient("", "wallet", keyA), "absent");
        assert.equal(await store.countClients(), 0);
      });

      test("an owned client's token does not move to another id, whoever asks; it stays where it was", async () => {
        const store = await fresh();
        await store.registerClient(client("victim", "token", { owner: keyA }));
        assert.equal(await store.recordNotification("", "victim", "message-1", payload, 1000), "new");
        await store.registerClient(client("attacker", "attacker-token", { owner: keyB }));
        assert.equal(await store.registerClient(client("newcomer", "token")), "token-owned");
        assert.equal(await store.registerClient(client("newcomer", "token", { owner: keyB })), "token-owned");
        assert.equal(await store.registerClient(client("attacker", "token", { owner: keyB })), "token-owned");
        assert.deepEqual(await store.getClient("", "victim"), client("victim", "token", { owner: keyA }));
        assert.deepEqual(await store.getClient("", "attacker"), client("attacker", "attacker-token", { owner: keyB }));
        assert.equal(await store.getClient("", "newcomer"), undefined);
        assert.equal(await store.recordNotification("", "victim", "message-1", payload, 2000), "duplicate");
        assert.equal(await store.countClients(), 2);
      });

      test("an unowned client is anybody's: re-registered, deleted, its token moved, or owned by the key that registers it", async () => {
        const store = await fresh();
        await store.registerClient(client("wallet", "token"));
        assert.equal(await store.registerClient(client("wallet", "token-2")), "updated");
        // Its token moves to an owned newcomer, which keeps its owner.
        assert.equal(await store.registerClient(client("newcomer", "token-2", { owner: keyB })), "updated");
        assert.equal(await store.getClient("", "wallet"), undefined);
        assert.deepEqual(await store.getClient("", "newcomer"), client("newcomer", "token-2", { owner: keyB }));
        // An unowned client registered again with a key becomes that key's.
        await store.registerClient(client("claimed", "token-3"));
        assert.equal(await store.registerClient(client("claimed", "token-3", { owner: keyA })), "updated");
        assert.equal(await store.registerClient(client("claimed", "token-3")), "owned");
        await store.registerClient(client("open", "token-4"));
        assert.equal(await store.deleteClient("", "open", keyB), "deleted");
      });
    });

    describe("maxClients", () => {
      test("a registration that would add a client past it is refused as full, and changes nothing", async () => {
        const store = await open(await databases.create(), { maxClients: 2 });
        assert.equal(await store.registerClient(client("wallet-a", "token-a")), "added");
        assert.equal(await store.registerClient(client("wallet-b", "token-b", { tenant: "project" })), "added");
        assert.equal(await store.registerClient(client("wallet-c", "token-c")), "full");
        assert.equal(await store.getClient("", "wallet-c"), undefined);
        assert.equal(await store.countClients(), 2);
      });

      test("a full registry still takes registrations of an id or a token it holds", async () => {
        const store = await open(await databases.create(), { maxClients: 2 });
        await store.registerClient(client("wallet-a", "token-a"));
        await store.registerClient(client("wallet-b", "token-b"));
        assert.equal(await store.registerClient(client("wallet-a", "token-a2", { type: "apns" })), "updated");
        // wallet-c takes wallet-b's token: the row is re-keyed, the registry does not grow.
        assert.equal(await store.registerClient(client("wallet-c", "token-b")), "updated");
        assert.deepEqual(await store.getClient("", "wallet-a"), client("wallet-a", "token-a2", { type: "apns" }));
        assert.deepEqual(await store.getClient("", "wallet-c"), client("wallet-c", "token-b"));
        assert.equal(await store.countClients(), 2);
      });

      test("a deletion makes room, whichever way the client goes", async () => {
        const store = await open(await databases.create(), { maxClients: 2 });
        await store.registerClient(client("wallet-a", "token-a"));
        await store.registerClient(client("wallet-b", "token-b"));
        assert.equal(await store.deleteClient("", "wallet-a"), "deleted");
        assert.equal(await store.registerClient(client("wallet-c", "token-c")), "added");
        assert.equal(await store.registerClient(client("wallet-d", "token-d")), "full");
        assert.equal(await store.deleteClientIfToken("", "wallet-b", "token-b"), true);
        assert.equal(await store.registerClient(client("wallet-d", "token-d")), "added");
        // wallet-c takes wallet-d's token while keeping its own row: wallet-d's row goes.
        assert.equal(await store.registerClient(client("wallet-c", "token-d")), "updated");
        assert.equal(await store.registerClient(client("wallet-e", "token-e")), "added");
        assert.equal(await store.countClients(), 2);
      });

      test("counts the clients the registry holds when the store opens", async () => {
        const database = await databases.create();
        const first = await open(database);
        await first.registerClient(client("wallet-a", "token-a"));
        await first.registerClient(client("wallet-b", "token-b"));
        const capped = await open(database, { maxClients: 2 });
        assert.equal(await capped.registerClient(client("wallet-c", "token-c")), "full");
        assert.equal(await capped.registerClient(client("wallet-a", "token-a")), "updated");
      });

      test("without it, or at 0, a registry takes any number of clients", async () => {
        const store = await open(await databases.create(), { maxClients: 0 });
        for (let i = 0; i < 5; i++)
          assert.equal(await store.registerClient(client(`wallet-${i}`, `token-${i}`)), "added");
        assert.equal(await store.countClients(), 5);
      });
    });

    describe("tenants", () => {
      const a = { tenant: "project-a" };
      const b = { tenant: "project-b" };

      test("the same id under two tenants is two clients, each with its own token, type and messages", async () => {
        const store = await fresh();
        await store.registerClient(client("wallet", "token-a", { ...a, type: "apns" }));
        await store.registerClient(client("wallet", "token-b", b));
        assert.deepEqual(
          await store.getClient("project-a", "wallet"),
          client("wallet", "token-a", { ...a, type: "apns" }),
        );
        assert.deepEqual(await store.getClient("project-b", "wallet"), client("wallet", "token-b", b));
        assert.equal(await store.getClient("", "wallet"), undefined, "nor is it the default tenant's");
        assert.equal(await store.recordNotification("project-a", "wallet", "message", payload, 1000), "new");
        assert.equal(await store.recordNotification("project-b", "wallet", "message", payload, 1000), "new");
        assert.equal(await store.recordNotification("project-a", "wallet", "message", payload, 1000), "duplicate");
      });

      test("a token is taken over only within its tenant", async () => {
        const store = await fresh();
        await store.registerClient(client("wallet-1", "token", a));
        await store.registerClient(client("wallet-2", "token", b));
        await store.registerClient(client("wallet-3", "token", b));
        assert.deepEqual(await store.getClient("project-a", "wallet-1"), client("wallet-1", "token", a));
        assert.equal(await store.getClient("project-b", "wallet-2"), undefined, "taken over by wallet-3");
        assert.deepEqual(await store.getClient("project-b", "wallet-3"), client("wallet-3", "token", b));
      });

      test("deleting a client, or forgetting its message, leaves the other tenant's alone", async () => {
        const store = await fresh();
        await store.registerClient(client("wallet", "token", a));
        await store.registerClient(client("wallet", "token", b));
        await store.recordNotification("project-a", "wallet", "message", payload, 1000);
        await store.recordNotification("project-b", "wallet", "message", payload, 1000);
        await store.forgetNotification("project-a", "wallet", "message");
        assert.equal(await store.recordNotification("project-b", "wallet", "message", payload, 2000), "duplicate");
        assert.equal(await store.deleteClientIfToken("project-a", "wallet", "token"), true);
        assert.deepEqual(await store.getClient("project-b", "wallet"), client("wallet", "token", b));
        assert.equal(await store.deleteClient("project-b", "wallet"), "deleted");
        assert.equal(await store.countClients(), 0);
      });
    });

    describe("deletion", () => {
      test("deleteClient says whether the client existed, and its notifications go with it", async () => {
        const store = await fresh();
        await store.registerClient(client("wallet", "token"));
        assert.equal(await store.recordNotification("", "wallet", "message-1", payload, 1000), "new");
        assert.equal(await store.deleteClient("", "wallet"), "deleted");
        assert.equal(await store.getClient("", "wallet"), undefined);
        assert.equal(await store.deleteClient("", "wallet"), "absent");
        assert.equal(await store.countClients(), 0);
        await store.registerClient(client("wallet", "token"));
        assert.equal(await store.recordNotification("", "wallet", "message-1", payload, 2000), "new");
      });

      test("deleteClientIfToken deletes only while the client still holds that token", async () => {
        const store = await fresh();
        await store.registerClient(client("wallet", "dead-token"));
        await store.registerClient(client("wallet", "fresh-token"));
        assert.equal(await store.deleteClientIfToken("", "wallet", "dead-token"), false);
        assert.deepEqual(await store.getClient("", "wallet"), client("wallet", "fresh-token"));
        assert.equal(await store.deleteClientIfToken("", "nobody", "fresh-token"), false);
        assert.equal(await store.deleteClientIfToken("", "wallet", "fresh-token"), true);
        assert.equal(await store.getClient("", "wallet"), undefined);
      });

      test("countClients counts the clients", async () => {
        const store = await fresh();
        assert.equal(await store.countClients(), 0);
        await store.registerClient(client("wallet-a", "token-a"));
        await store.registerClient(client("wallet-b", "token-b"));
        assert.equal(await store.countClients(), 2);
        await store.deleteClient("", "wallet-a");
        assert.equal(await store.countClients(), 1);
      });
    });

    describe("notifications", () => {
      test("a message is new once per client, then a duplicate", async () => {
        const store = await fresh();
        await store.registerClient(client("wallet-a", "token-a"));
        await store.registerClient(client("wallet-b", "token-b"));
        assert.equal(await store.recordNotification("", "wallet-a", "message-1", payload, 1000), "new");
        assert.equal(await store.recordNotification("", "wallet-a", "message-1", payload, 1001), "duplicate");
        assert.equal(await store.recordNotification("", "wallet-b", "message-1", payload, 1002), "new");
        assert.equal(await store.recordNotification("", "wallet-a", "message-2", payload, 1003), "new");
      });

      test("a message for an unknown client is not recorded", async () => {
        const store = await fresh();
        assert.equal(await store.recordNotification("", "nobody", "message-1", payload, 1000), "unknown-client");
        await store.registerClient(client("nobody", "token"));
        assert.equal(await store.recordNotification("", "nobody", "message-1", payload, 2000), "new");
      });

      test("a forgotten message is new again; forgetting an unknown one does nothing", async () => {
        const store = await fresh();
        await store.registerClient(client("wallet", "token"));
        await store.recordNotification("", "wallet", "message-1", payload, 1000);
        await store.recordNotification("", "wallet", "message-2", payload, 1000);
        await store.forgetNotification("", "wallet", "message-1");
        await store.forgetNotification("", "wallet", "never-sent");
        await store.forgetNotification("", "nobody", "message-2");
        assert.equal(await store.recordNotification("", "wallet", "message-1", payload, 2000), "new");
        assert.equal(await store.recordNotification("", "wallet", "message-2", payload, 2000), "duplicate");
      });

      test("deleteNotificationsBefore deletes those received before the cutoff, and counts them", async () => {
        const store = await fresh();
        const now = Date.UTC(2026, 0, 1, 12, 0, 0, 123);
        await store.registerClient(client("wallet", "token"));
        await store.recordNotification("", "wallet", "old-1", payload, now - 60_000);
        await store.recordNotification("", "wallet", "old-2", payload, now - 1);
        await store.recordNotification("", "wallet", "at-cutoff", payload, now);
        await store.recordNotification("", "wallet", "recent", payload, now + 1);
        assert.equal(await store.deleteNotificationsBefore(now), 2);
        assert.equal(await store.deleteNotificationsBefore(now), 0);
        assert.equal(await store.recordNotification("", "wallet", "old-1", payload, now + 2), "new");
        assert.equal(await store.recordNotification("", "wallet", "old-2", payload, now + 2), "new");
        assert.equal(await store.recordNotification("", "wallet", "at-cutoff", payload, now + 2), "duplicate");
        assert.equal(await store.recordNotification("", "wallet", "recent", payload, now + 2), "duplicate");
      });

      test("onlyClient: a message recorded for one client is refused for the others of its tenant, by any of its ids", async () => {
        const store = await fresh();
        for (const id of ["wallet-a", "wallet-b"]) await store.registerClient(client(id, `token-${id}`));
        await store.registerClient(client("wallet-a", "token-other-tenant", { tenant: "project" }));
        const ids = ["raw-id", "legacy-id"];
        assert.equal(await store.recordNotification("", "wallet-a", "raw-id", payload, 1000, ids), "new");
        assert.equal(await store.recordNotification("", "wallet-a", "raw-id", payload, 1001, ids), "duplicate");
        assert.equal(await store.recordNotification("", "wallet-b", "raw-id", payload, 1002, ids), "other-client");
        // The same body read in its other shape by a client that takes that one: still the same message.
        assert.equal(await store.recordNotification("", "wallet-b", "legacy-id", payload, 1003, ids), "other-client");
        assert.equal(
          await store.recordNotification("", "wallet-b", "legacy-id", payload, 1004, ["legacy-id"]),
          "new",
          "a body of the legacy shape alone goes by the legacy id alone",
        );
        assert.equal(await store.recordNotification("project", "wallet-a", "raw-id", payload, 1005, ids), "new");
        // Without onlyClient, each client on its own.
        assert.equal(await store.recordNotification("", "wallet-b", "raw-id", payload, 1006), "new");
        assert.equal(await store.recordNotification("", "nobody", "fresh", payload, 1007, ["fresh"]), "unknown-client");
      });

      test("onlyClient: a message forgotten, swept, or whose client is gone is free for another client", async () => {
        const store = await fresh();
        for (const id of ["wallet-a", "wallet-b", "wallet-c"]) await store.registerClient(client(id, `token-${id}`));
        const record = (id: string, message: string, at = 1000) =>
          store.recordNotification("", id, message, payload, at, [message]);
        assert.equal(await record("wallet-a", "forgotten"), "new");
        await store.forgetNotification("", "wallet-a", "forgotten");
        assert.equal(await record("wallet-b", "forgotten"), "new");
        assert.equal(await record("wallet-a", "swept", 1000), "new");
        assert.equal(await store.deleteNotificationsBefore(1001), 2);
        assert.equal(await record("wallet-b", "swept", 2000), "new");
        assert.equal(await record("wallet-c", "deleted", 2000), "new");
        assert.equal(await store.deleteClient("", "wallet-c"), "deleted");
        assert.equal(await record("wallet-a", "deleted", 2000), "new");
      });

      test("a payload that is not JSON is refused", async () => {
        const store = await fresh();
        await store.registerClient(client("wallet", "token"));
        await assert.rejects(store.recordNotification("", "wallet", "message-1", "{not json", 1000));
        assert.equal(await store.recordNotification("", "wallet", "message-1", payload, 1000), "new");
      });
    });

    describe("races", () => {
      test(`${RACERS} registrations of one token under different ids at once leave one client with it`, async () => {
        const store = await fresh();
        // Several rounds: the first one opens the connections, the later ones race on open connections.
        for (let round = 1; round <= ROUNDS; round++) {
          const ids = Array.from({ length: RACERS }, (_, i) => `wallet-${round}-${i}`);
          await Promise.all(ids.map((id) => store.registerClient(client(id, `token-${round}`))));
          assert.equal(await store.countClients(), round);
          const holders = (await Promise.all(ids.map((id) => store.getClient("", id)))).filter((found) => found);
          assert.equal(holders.length, 1);
          assert.equal(holders[0]?.token, `token-${round}`);
        }
      });

      test(`${RACERS} registrations of one id with different tokens at once leave one client`, async () => {
        const store = await fresh();
        const losers: string[] = [];
        for (let round = 1; round <= ROUNDS; round++) {
          const tokens = Array.from({ length: RACERS }, (_, i) => `token-${round}-${i}`);
          await Promise.all(tokens.map((token) => store.registerClient(client(`wallet-${round}`, token))));
          assert.equal(await store.countClients(), round);
          const kept = await store.getClient("", `wallet-${round}`);
          assert.ok(kept && tokens.includes(kept.token), `kept ${kept?.token}`);
          losers.push(...tokens.filter((token) => token !== kept.token));
        }
        // The tokens that lost are free: other wallets can have them.
        for (const [i, token] of losers.entries()) await store.registerClient(client(`other-${i}`, token));
        assert.equal(await store.countClients(), ROUNDS + losers.length);
      });

      test("two clients swapping tokens at once end with the tokens swapped", async () => {
        const store = await fresh();
        await store.registerClient(client("wallet-a", "token-1"));
        await store.registerClient(client("wallet-b", "token-2"));
        for (let round = 0; round < 5; round++) {
          const [a, b] = round % 2 === 0 ? ["token-2", "token-1"] : ["token-1", "token-2"];
          await Promise.all([store.registerClient(client("wallet-a", a)), store.registerClient(client("wallet-b", b))]);
          assert.equal((await store.getClient("", "wallet-a"))?.token, a);
          assert.equal((await store.getClient("", "wallet-b"))?.token, b);
          assert.equal(await store.countClients(), 2);
        }
      });

      test(`${RACERS} registrations through two stores on one database, ids and tokens crossing, leave one row each`, async () => {
        const database = await databases.create();
        const [first, second] = [await open(database), await open(database)];
        const registrations = Array.from({ length: RACERS }, (_, i) =>
          (i % 2 ? first : second).registerClient(client(`wallet-${i % 4}`, `token-${i % 3}`)),
        );
        await Promise.all(registrations);
        const clients = (await Promise.all(["0", "1", "2", "3"].map((i) => first.getClient("", `wallet-${i}`)))).filter(
          (found) => found !== undefined,
        );
        assert.equal(await first.countClients(), clients.length);
        assert.equal(new Set(clients.map((found) => found.token)).size, clients.length);
      });

      test(`${RACERS} registrations of an owned client's token under other ids at once: none takes it`, async () => {
        const database = await databases.create();
        const [first, second] = [await open(database), await open(database)];
        await first.registerClient(client("victim", "token", { owner: "did:key:z6MkVictim" }));
        const outcomes = await Promise.all(
          Array.from({ length: RACERS }, (_, i) =>
            (i % 2 ? first : second).registerClient(client(`thief-${i}`, "token", i % 3 ? {} : { owner: `k${i}` })),
          ),
        );
        assert.deepEqual(new Set(outcomes), new Set(["token-owned"]));
        assert.deepEqual(
          await first.getClient("", "victim"),
          client("victim", "token", { owner: "did:key:z6MkVictim" }),
        );
        assert.equal(await first.countClients(), 1);
      });

      test(`${RACERS} recordings of one message for ${RACERS} clients at once, onlyClient: exactly one is new`, async () => {
        const database = await databases.create();
        const [first, second] = [await open(database), await open(database)];
        const ids = Array.from({ length: RACERS }, (_, i) => `wallet-${i}`);
        for (const id of ids) await first.registerClient(client(id, `token-${id}`));
        for (let round = 1; round <= ROUNDS; round++) {
          const message = [`raw-${round}`, `legacy-${round}`];
          const outcomes = await Promise.all(
            ids.map((id, i) =>
              (i % 2 ? first : second).recordNotification("", id, message[i % 2]!, payload, 1000, message),
            ),
          );
          assert.equal(outcomes.filter((outcome) => outcome === "new").length, 1, JSON.stringify(outcomes));
          assert.equal(outcomes.filter((outcome) => outcome === "other-client").length, RACERS - 1);
        }
      });

      test(`${RACERS} recordings of one message at once: exactly one is new`, async () => {
        const database = await databases.create();
        const [first, second] = [await open(database), await open(database)];
        await first.registerClient(client("wallet", "token"));
        for (let round = 1; round <= ROUNDS; round++) {
          const outcomes = await Promise.all(
            Array.from({ length: RACERS }, (_, i) =>
              (i % 2 ? first : second).recordNotification("", "wallet", `message-${round}`, payload, 1000 + i),
            ),
          );
          assert.equal(outcomes.filter((outcome) => outcome === "new").length, 1);
          assert.equal(outcomes.filter((outcome) => outcome === "duplicate").length, RACERS - 1);
        }
      });
    });

    describe("migrations and reopening", () => {
      test("a store reopened on the same database keeps its data and migrates nothing again", async () => {
        const database = await databases.create();
        const first = await database.open();
        await first.registerClient(client("wallet", "token", { type: "apns", alwaysRaw: true }));
        await first.recordNotification("", "wallet", "message-1", payload, 1000);
        await first.close();
        const migrated = await database.appliedMigrations();
        assert.ok(migrated.length > 0);

        const reopened = await open(database);
        assert.deepEqual(
          await reopened.getClient("", "wallet"),
          client("wallet", "token", { type: "apns", alwaysRaw: true }),
        );
        assert.equal(await reopened.recordNotification("", "wallet", "message-1", payload, 2000), "duplicate");
        assert.deepEqual(await database.appliedMigrations(), migrated);
      });

      test("several stores opening one new database at once all open it, and share its tables", async () => {
        // As several Herald instances starting together: had two of them run the same migration, the second would
        // have failed to create a table that already existed.
        const database = await databases.create();
        const stores = await Promise.all(Array.from({ length: 4 }, () => open(database)));
        await stores[0]?.registerClient(client("wallet", "token"));
        for (const store of stores) assert.equal(await store.countClients(), 1);
      });

      test("a registry made before tenants keeps its clients and their messages, in the default tenant", async () => {
        const database = await databases.create();
        await database.migrateTo(1, [
          "INSERT INTO clients (id, push_type, device_token, always_raw, created_at) VALUES ('wallet', 'apns', 'token', true, {now})",
          "INSERT INTO notifications (id, client_id, payload, received_at) VALUES ('message-1', 'wallet', '{}', {now})",
        ]);
        const store = await open(database);
        assert.deepEqual(
          await store.getClient("", "wallet"),
          client("wallet", "token", { type: "apns", alwaysRaw: true }),
        );
        assert.equal(await store.recordNotification("", "wallet", "message-1", payload, Date.now()), "duplicate");
        // The tables now hold tenants: the same id and token under another tenant is another client.
        await store.registerClient(client("wallet", "token", { tenant: "project-a" }));
        assert.equal(await store.countClients(), 2);
        assert.ok((await database.appliedMigrations()).includes(2));
      });

      test("a registry made before owners keeps its clients and messages, none of them owned", async () => {
        const database = await databases.create();
        await database.migrateTo(database.versionOf("a client may have an owner") - 1, [
          "INSERT INTO clients (tenant, id, push_type, device_token, always_raw, created_at) VALUES ('', 'wallet', 'fcm', 'token', false, {now})",
          "INSERT INTO notifications (tenant, id, client_id, payload, received_at) VALUES ('', 'message-1', 'wallet', '{}', {now})",
        ]);
        const store = await open(database);
        assert.deepEqual(await store.getClient("", "wallet"), client("wallet", "token"));
        assert.equal(await store.recordNotification("", "wallet", "message-1", payload, Date.now()), "duplicate");
        assert.equal(await store.countClients(), 1);
        // No owner: a registration without a key changes it, as before; then its key claims it.
        assert.equal(await store.registerClient(client("wallet", "token-2")), "updated");
        assert.equal(
          await store.registerClient(client("wallet", "token-2", { owner: "did:key:z6MkOwner" })),
          "updated",
        );
        assert.equal(await store.deleteClient("", "wallet"), "owned");
      });

      test("a registry made before one client per message keeps its messages, and they count for it", async () => {
        const database = await databases.create();
        await database.migrateTo(database.versionOf("message ids looked up across clients") - 1, [
          "INSERT INTO clients (tenant, id, push_type, device_token, always_raw, created_at) VALUES ('', 'wallet-a', 'fcm', 'token-a', false, {now})",
          "INSERT INTO clients (tenant, id, push_type, device_token, always_raw, created_at) VALUES ('', 'wallet-b', 'fcm', 'token-b', false, {now})",
          "INSERT INTO notifications (tenant, id, client_id, payload, received_at) VALUES ('', 'message-1', 'wallet-a', '{}', {now})",
        ]);
        const store = await open(database);
        const now = Date.now();
        assert.equal(
          await store.recordNotification("", "wallet-a", "message-1", payload, now, ["message-1"]),
          "duplicate",
        );
        assert.equal(
          await store.recordNotification("", "wallet-b", "message-1", payload, now, ["message-1"]),
          "other-client",
        );
      });

      test("a database migrated by a newer Herald is refused, saying so", async () => {
        const database = await databases.create();
        await (await database.open()).close();
        await database.markMigrated(9999);
        await assert.rejects(
          database.open(),
          (error: unknown) =>
            error instanceof StoreOpenError && /schema version 9999, newer than this Herald knows/.test(error.message),
        );
      });
    });
  });
}
