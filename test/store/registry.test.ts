/**
 * The registry contract against SQLite, always, and against PostgreSQL when `HERALD_TEST_DATABASE_URL` names a
 * database to use (CI sets it; each test works in a schema of its own and drops it after). Without it the PostgreSQL
 * tests are reported skipped, saying so; under CI=true its absence fails the run.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, test } from "node:test";
import pg from "pg";
import { openStore } from "../../src/store/index.js";
import { postgres, unless } from "../helpers/services.js";
import { registryContract } from "./registryContract.js";
import { noDatabases, postgresDatabases, sqliteDatabases } from "./testDatabases.js";

registryContract("SQLite", sqliteDatabases());

describe("the SQLite registry's count of clients", () => {
  test("is exact for every store on the file: a full registry is full for all of them", async () => {
    // As http.workers processes sharing one file: each reads the count the others' registrations keep.
    const databases = sqliteDatabases();
    try {
      const database = await databases.create();
      const [first, second] = [await database.open({ maxClients: 2 }), await database.open({ maxClients: 2 })];
      try {
        const fcm = (id: string) => ({ tenant: "", id, token: `token-${id}`, type: "fcm" as const, alwaysRaw: false });
        assert.equal(await first.registerClient(fcm("a")), "added");
        assert.equal(await second.registerClient(fcm("b")), "added");
        assert.equal(await first.registerClient(fcm("c")), "full");
        assert.equal(await second.deleteClient("", "a"), "deleted");
        assert.equal(await first.countClients(), 1);
        assert.equal(await first.registerClient(fcm("c")), "added");
        assert.equal(await second.registerClient(fcm("d")), "full");
      } finally {
        await Promise.all([first.close(), second.close()]);
      }
    } finally {
      await databases.dropAll();
    }
  });
});

const { url: databaseUrl, missing } = postgres();
registryContract("PostgreSQL", databaseUrl ? postgresDatabases(databaseUrl) : noDatabases, missing);

describe("the PostgreSQL registry's schema", () => {
  const { test } = unless(missing);
  test("is created when missing, and holds every table of the registry", async () => {
    const schema = `herald_test_${randomBytes(6).toString("hex")}`;
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      const store = await openStore({ kind: "postgres", url: databaseUrl!, schema });
      await store.close();
      const tables = await admin.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
        [schema],
      );
      assert.deepEqual(
        tables.rows.map((row) => row.table_name),
        ["clients", "notifications", "schema_migrations"],
      );
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    }
  });
});
