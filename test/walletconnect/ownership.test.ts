/**
 * WalletConnect clients and their owners over real sockets, on each registry (SQLite always, PostgreSQL when
 * HERALD_TEST_DATABASE_URL is set), tried as an attacker would: a client registered with its key's JWT is changed or
 * deleted only with a JWT of that key, and its token does not move to another id; a client registered without one
 * behaves as in WalletConnect's push server; `require_client_auth`; and the JWT's own rules (exp, its lifetime, aud).
 */
import assert from "node:assert/strict";
import * as nodeTest from "node:test";
import { describe } from "node:test";
import { MAX_LIFETIME_SECONDS } from "../../src/walletConnect/clientAuth.js";
import { sandboxForFile } from "../helpers/sandbox.js";
import {
  apnsToken,
  ed25519Pair,
  register,
  relayPush,
  SQLITE,
  storeKinds,
  SUCCESS,
  unregister,
  walletConnectSection,
  walletConnectSuite,
  walletIdentity,
  walletJwt,
} from "./helpers.js";

const relay = ed25519Pair();
const PUBLIC_URL = "https://push.example.org";
const sandbox = await sandboxForFile();
let counter = 0;

const NOT_SUFFICIENT = { name: "authentication", message: "the provided authentication is not sufficient" };
const BAD_JWT = {
  status: "FAILURE",
  errors: [NOT_SUFFICIENT],
  fields: [{ field: "authorization", description: "invalid authorization token", location: "header" }],
};
const OWNED = {
  status: "FAILURE",
  errors: [NOT_SUFFICIENT],
  fields: [
    {
      field: "authorization",
      description:
        "this client is owned by the key that registered it with a JWT: only an Authorization JWT of that key may register it again or delete it",
      location: "header",
    },
  ],
};
const TOKEN_OWNED_MESSAGE =
  "This device token is registered to another client, which is owned by the key that registered it; that client must unregister before the token can move";
const TOKEN_OWNED = {
  status: "FAILURE",
  errors: [{ name: "token_owned", message: TOKEN_OWNED_MESSAGE }],
  fields: [{ field: "token", description: TOKEN_OWNED_MESSAGE, location: "body" }],
};
const REQUIRED = {
  status: "FAILURE",
  errors: [NOT_SUFFICIENT],
  fields: [
    {
      field: "authorization",
      description: "this server requires the wallet's Authorization JWT, signed with its client key",
      location: "header",
    },
  ],
};

/** A legacy message in cleartext: what the device shows as is. */
const cleartext = () => ({
  id: `alert-${++counter}-${Date.now()}`,
  payload: {
    topic: "topic",
    flags: 0,
    blob: Buffer.from(JSON.stringify({ title: "Sign", body: "You have a message to sign" })).toString("base64"),
  },
});

for (const kind of storeKinds()) {
  describe(`WalletConnect client ownership on ${kind.name}`, () => {
    const { test, herald } = walletConnectSuite(sandbox, kind, (store) =>
      walletConnectSection(relay, store, { public_url: PUBLIC_URL }),
    );

    /** A wallet registered with its own JWT, and its APNs token. */
    async function ownedWallet() {
      const wallet = walletIdentity();
      const token = apnsToken();
      const answer = await register(
        herald.url,
        { client_id: wallet.did, type: "apns", token },
        { authorization: walletJwt(wallet, { aud: PUBLIC_URL }) },
      );
      assert.equal(answer.status, 200, answer.text);
      return { wallet, token };
    }

    /** The relay's next message for `id` reaches the APNs token `token`, and no other. */
    async function pushesReach(id: string, token: string) {
      sandbox.apns.reset();
      const pushed = await relayPush(herald.url, id, cleartext(), relay);
      assert.equal(pushed.status, 202, pushed.text);
      assert.deepEqual(
        sandbox.apns.received.map((push) => push.token),
        [token],
      );
    }

    test("re-registering an owned client without a JWT, or with another key's: 401, and its messages still reach its own token", async () => {
      const { wallet, token } = await ownedWallet();
      const attacker = walletIdentity();
      const takeover = { client_id: wallet.did, type: "apns", token: apnsToken() };
      const withoutJwt = await register(herald.url, takeover);
      assert.equal(withoutJwt.status, 401);
      assert.deepEqual(withoutJwt.body, OWNED);
      // Another key's JWT names another client (its iss), so it authenticates nothing here.
      const otherKey = await register(herald.url, takeover, { authorization: walletJwt(attacker) });
      assert.equal(otherKey.status, 401);
      assert.deepEqual(otherKey.body, BAD_JWT);
      // Under the project routes too, which share the default clients.
      const projectRoute = await register(herald.url, takeover, {}, "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
      assert.deepEqual(projectRoute.body, OWNED);
      await pushesReach(wallet.clientId, token);
    });

    test("deleting an owned client without a JWT, or with another key's: 401, and it is still pushed to", async () => {
      const { wallet, token } = await ownedWallet();
      const withoutJwt = await unregister(herald.url, wallet.clientId);
      assert.equal(withoutJwt.status, 401);
      assert.deepEqual(withoutJwt.body, OWNED);
      const otherKey = await unregister(herald.url, wallet.did, { authorization: walletJwt(walletIdentity()) });
      assert.equal(otherKey.status, 401);
      assert.deepEqual(otherKey.body, BAD_JWT);
      await pushesReach(wallet.clientId, token);
    });

    test("the owner registers its client again, with a new token, and deletes it", async () => {
      const { wallet } = await ownedWallet();
      const newToken = apnsToken();
      const again = await register(
        herald.url,
        { client_id: wallet.did, type: "apns", token: newToken },
        { authorization: `Bearer ${walletJwt(wallet)}` },
      );
      assert.deepEqual(again.body, SUCCESS);
      await pushesReach(wallet.clientId, newToken);
      const deleted = await unregister(herald.url, wallet.did, { authorization: walletJwt(wallet) });
      assert.deepEqual(deleted.body, SUCCESS);
      sandbox.apns.reset();
      const after = await relayPush(herald.url, wallet.clientId, cleartext(), relay);
      assert.deepEqual(after.body, SUCCESS, "no such client any more");
      assert.equal(sandbox.apns.received.length, 0);
    });

    test("an owned client's token registered under another id: 409 token_owned, with or without that id's JWT; the victim keeps it", async () => {
      const { wallet, token } = await ownedWallet();
      const attacker = walletIdentity();
      const steal = { client_id: attacker.did, type: "apns", token };
      const unauthenticated = await register(herald.url, steal);
      assert.equal(unauthenticated.status, 409);
      assert.deepEqual(unauthenticated.body, TOKEN_OWNED);
      const authenticated = await register(herald.url, steal, { authorization: walletJwt(attacker) });
      assert.equal(authenticated.status, 409);
      assert.deepEqual(authenticated.body, TOKEN_OWNED);
      // Nor can an attacker's own registered client take it.
      assert.equal((await register(herald.url, { ...steal, token: apnsToken() })).status, 200);
      assert.equal((await register(herald.url, steal)).status, 409);
      await pushesReach(wallet.clientId, token);
      const attackers = await relayPush(herald.url, attacker.clientId, cleartext(), relay);
      assert.equal(attackers.status, 202);
      assert.notEqual(sandbox.apns.received.at(-1)?.token, token, "the attacker's client did not get the token");
    });

    test("unowned clients behave as in WalletConnect's push server: re-registered, moved and deleted without a JWT", async () => {
      const id = `unowned-${++counter}`;
      const [first, second] = [apnsToken(), apnsToken()];
      assert.deepEqual((await register(herald.url, { client_id: id, type: "apns", token: first })).body, SUCCESS);
      assert.deepEqual((await register(herald.url, { client_id: id, type: "apns", token: second })).body, SUCCESS);
      await pushesReach(id, second);
      // Its token moves to another id, which now holds the client.
      const mover = `mover-${counter}`;
      assert.deepEqual((await register(herald.url, { client_id: mover, type: "apns", token: second })).body, SUCCESS);
      assert.deepEqual((await relayPush(herald.url, id, cleartext(), relay)).body, SUCCESS, "the old id is gone");
      await pushesReach(mover, second);
      assert.deepEqual((await unregister(herald.url, mover)).body, SUCCESS);
      assert.deepEqual((await relayPush(herald.url, mover, cleartext(), relay)).body, SUCCESS);
    });

    test("an unowned client registered again with its key's JWT becomes owned by that key", async () => {
      const wallet = walletIdentity();
      const token = apnsToken();
      assert.deepEqual((await register(herald.url, { client_id: wallet.clientId, type: "apns", token })).body, SUCCESS);
      const claimed = await register(
        herald.url,
        { client_id: wallet.clientId, type: "apns", token },
        { authorization: walletJwt(wallet) },
      );
      assert.deepEqual(claimed.body, SUCCESS);
      assert.deepEqual((await unregister(herald.url, wallet.clientId)).body, OWNED);
      await pushesReach(wallet.clientId, token);
    });

    test("the JWT must carry exp, be good for at most 25 hours (the SDK's calendar day), and name this server", async () => {
      const wallet = walletIdentity();
      const now = Math.floor(Date.now() / 1000);
      const body = { client_id: wallet.did, type: "apns", token: apnsToken() };
      const refusedJwts = {
        "no exp": walletJwt(wallet, { exp: undefined }),
        "exp null": walletJwt(wallet, { exp: null }),
        "exp not a number": walletJwt(wallet, { exp: String(now + 3600) }),
        "good for two days": walletJwt(wallet, { iat: now, exp: now + 2 * 86400 }),
        "a lifetime one second too long": walletJwt(wallet, { iat: now, exp: now + MAX_LIFETIME_SECONDS + 1 }),
        "issued long ago, expiring tomorrow": walletJwt(wallet, { iat: now - 30 * 86400, exp: now + 86400 }),
        "another audience": walletJwt(wallet, { aud: "https://echo.walletconnect.com" }),
        "no audience": walletJwt(wallet, { aud: undefined }),
        expired: walletJwt(wallet, { iat: now - 7200, exp: now - 3600 }),
      };
      for (const [what, authorization] of Object.entries(refusedJwts)) {
        const answer = await register(herald.url, body, { authorization });
        assert.equal(answer.status, 401, what);
        assert.deepEqual(answer.body, BAD_JWT, what);
        assert.equal((await unregister(herald.url, wallet.did, { authorization })).status, 401, what);
      }
      // What the Swift SDK sends: a day, 25 hours on the night the clocks go back; aud with or without a trailing /.
      for (const claims of [
        { iat: now, exp: now + 86400, aud: PUBLIC_URL },
        { iat: now, exp: now + 25 * 3600 + 1, aud: `${PUBLIC_URL}/` },
      ]) {
        const answer = await register(herald.url, body, { authorization: walletJwt(wallet, claims) });
        assert.deepEqual(answer.body, SUCCESS, JSON.stringify(claims));
      }
    });

    test("a registration's JWT also deletes, until it expires: the format does not tell them apart", async () => {
      const wallet = walletIdentity();
      const jwt = walletJwt(wallet);
      const body = { client_id: wallet.did, type: "apns", token: apnsToken() };
      assert.deepEqual((await register(herald.url, body, { authorization: jwt })).body, SUCCESS);
      assert.deepEqual((await unregister(herald.url, wallet.did, { authorization: jwt })).body, SUCCESS);
    });

    test("each refusal is counted by reason", async () => {
      const { wallet, token } = await ownedWallet();
      await register(herald.url, { client_id: wallet.did, type: "apns", token: apnsToken() });
      await register(herald.url, { client_id: "thief", type: "apns", token });
      await register(herald.url, { client_id: wallet.did, type: "apns", token }, { authorization: "not-a-jwt" });
      const metrics = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
      for (const reason of ["client_owned", "token_owned", "invalid_jwt"]) {
        assert.match(
          metrics,
          new RegExp(`herald_walletconnect_client_auth_refusals_total\\{reason="${reason}"\\} [1-9]`),
          reason,
        );
      }
    });
  });
}

describe("walletconnect.require_client_auth: true", () => {
  const { herald } = walletConnectSuite(sandbox, SQLITE, (store) =>
    walletConnectSection(relay, store, { public_url: PUBLIC_URL, require_client_auth: true }),
  );

  nodeTest.test(
    "a registration or deletion without a JWT is refused 401; with the wallet's own, both work",
    async () => {
      const wallet = walletIdentity();
      const body = { client_id: wallet.did, type: "apns", token: apnsToken() };
      const registration = await register(herald.url, body);
      assert.equal(registration.status, 401);
      assert.deepEqual(registration.body, REQUIRED);
      assert.deepEqual((await relayPush(herald.url, wallet.clientId, cleartext(), relay)).body, SUCCESS, "not stored");
      const deletion = await unregister(herald.url, wallet.did);
      assert.equal(deletion.status, 401);
      assert.deepEqual(deletion.body, REQUIRED);
      const project = await register(herald.url, body, {}, "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
      assert.deepEqual(project.body, REQUIRED, "the project routes too");

      assert.deepEqual((await register(herald.url, body, { authorization: walletJwt(wallet) })).body, SUCCESS);
      assert.equal((await unregister(herald.url, wallet.did)).status, 401);
      assert.deepEqual((await unregister(herald.url, wallet.did, { authorization: walletJwt(wallet) })).body, SUCCESS);
      const metrics = await (await fetch(`${herald.metricsUrl}/metrics`)).text();
      assert.match(metrics, /herald_walletconnect_client_auth_refusals_total\{reason="jwt_required"\} [1-9]/);
    },
  );
});
