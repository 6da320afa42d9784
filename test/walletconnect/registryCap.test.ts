/**
 * `walletconnect.max_clients` over real sockets, on each registry (SQLite always, PostgreSQL when
 * HERALD_TEST_DATABASE_URL is set): past it a new client is answered 507 `registry_full`, a registered one can still
 * register again, a deletion makes room; one warning per episode, and each refusal counted.
 */
import assert from "node:assert/strict";
import { describe } from "node:test";
import { sandboxForFile } from "../helpers/sandbox.js";
import {
  ed25519Pair,
  register,
  storeKinds,
  SUCCESS,
  unregister,
  walletConnectSection,
  walletConnectSuite,
} from "./helpers.js";

const MAX_CLIENTS = 3;
const FULL = {
  status: "FAILURE",
  errors: [
    {
      name: "registry_full",
      message: "This push server holds as many clients as it is allowed to; no new client can register for now",
    },
  ],
  fields: [],
};

const sandbox = await sandboxForFile();

for (const kind of storeKinds()) {
  describe(`walletconnect.max_clients on ${kind.name}`, () => {
    const { test, herald } = walletConnectSuite(sandbox, kind, (store) =>
      walletConnectSection(ed25519Pair(), store, { max_clients: MAX_CLIENTS }),
    );

    const registerWallet = (id: string, token = `token-${id}`, project?: string) =>
      register(herald.url, { client_id: id, type: "noop", token }, {}, project);
    const warnings = () =>
      herald.logs.filter((line) => String(line.msg).startsWith("The WalletConnect registry is full"));
    const refusals = async () =>
      (await herald.herald.metrics.registry.getSingleMetric("herald_walletconnect_registry_full_total")?.get())
        ?.values[0]?.value ?? 0;

    test("past max_clients a new client is refused 507; a registered one registers again; a deletion makes room", async () => {
      for (const id of ["a", "b"]) assert.equal((await registerWallet(id)).status, 200);
      // Every project counts in the one registry.
      assert.equal((await registerWallet("c", "token-c", "some-project")).status, 200);

      const refused = await registerWallet("d");
      assert.equal(refused.status, 507);
      assert.deepEqual(refused.body, FULL);
      assert.equal(refused.headers["content-type"], "application/json; charset=utf-8");
      assert.equal((await registerWallet("e", "token-e", "some-project")).status, 507);
      assert.equal(warnings().length, 1, "one warning for both");

      const again = await registerWallet("a", "a-new-token");
      assert.equal(again.status, 200, "a registered client registers again when the registry is full");
      assert.deepEqual(again.body, SUCCESS);

      assert.equal((await unregister(herald.url, "b")).status, 200);
      assert.equal((await registerWallet("d")).status, 200, "the deletion made room");
      assert.equal((await registerWallet("e")).status, 507);
    });

    test("one warning for a full registry however many are refused, and each refusal counted", async () => {
      // Left full by the test before: the episode goes on.
      const [counted, warned] = [await refusals(), warnings().length];
      for (let i = 0; i < 5; i++) assert.equal((await registerWallet(`late-${i}`)).status, 507);
      assert.equal(warnings().length, warned, "no line per request");
      assert.equal((await refusals()) - counted, 5);
      assert.equal(warnings().at(-1)!.max_clients, MAX_CLIENTS);
      assert.equal(warnings().at(-1)!.level, 40);

      // Room again, then full again: a new episode, a new warning.
      assert.equal((await unregister(herald.url, "d")).status, 200);
      assert.equal((await registerWallet("f")).status, 200);
      assert.ok(herald.logs.some((line) => String(line.msg).startsWith("The WalletConnect registry has room again")));
      assert.equal((await registerWallet("g")).status, 507);
      assert.equal((await registerWallet("h")).status, 507);
      assert.equal(warnings().length, warned + 1);
    });
  });
}
