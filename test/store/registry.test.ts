/**
 * The registry contract against SQLite, always, and against PostgreSQL when `HERALD_TEST_DATABASE_URL` names a
 * database to use (CI sets it; each test works in a schema of its own and drops it after). Without it the PostgreSQL
 * tests are reported skipped, saying so; under CI=true its absence fails the run.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe } from "node:test";
import pg from "pg";
import { openStore } from "../../src/store/index.js";
import { postgres, unless } from "../helpers/services.js";
import { registryContract } from "./registryContract.js";
import { noDatabases, postgresDatabases, sqliteDatabases } from "./testDatabases.js";

registryContract("SQLite", sqliteDatabases());

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
