/**
 * Fresh databases for the registry tests: a new SQLite file in a temporary directory, or a new schema in the
 * PostgreSQL database of `HERALD_TEST_DATABASE_URL`. Each test gets its own, so that test files run side by side.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { openStore } from "../../src/store/index.js";
import type { Registry } from "../../src/store/registry.js";
import { postgresMigrations } from "../../src/store/postgres/migrations.js";
import { loadSqliteDriver, type SqliteDriver } from "../../src/store/sqlite/driver.js";
import { sqliteMigrations } from "../../src/store/sqlite/migrations.js";

export interface TestDatabase {
  /** Opens a store on this database; each call opens another store on the same data. */
  open(options?: { maxClients?: number }): Promise<Registry>;
  /** The versions recorded in `schema_migrations`, read straight from the database. */
  appliedMigrations(): Promise<number[]>;
  /** Records a migration version as applied, as a newer Herald would have. */
  markMigrated(version: number): Promise<void>;
  /**
   * Makes the tables as a Herald of schema `version` made them, without opening a store, then runs `statements` on
   * them (rows such a Herald wrote); `{now}` in a statement is the database's expression for the current time.
   */
  migrateTo(version: number, statements: string[]): Promise<void>;
  /** The version of this store's migration with that description (the stores number theirs apart). */
  versionOf(description: string): number;
}

export interface TestDatabases {
  create(): Promise<TestDatabase>;
  /** Removes every database this source created. */
  dropAll(): Promise<void>;
}

/** For a registry whose tests are all skipped here: nothing to create, nothing to drop. */
export const noDatabases: TestDatabases = {
  create: () => Promise.reject(new Error("no database to test against here")),
  dropAll: async () => {},
};

export function sqliteDatabases(): TestDatabases {
  const directory = mkdtempSync(join(tmpdir(), "herald-store-"));
  let created = 0;
  return {
    async create() {
      const path = join(directory, `registry-${++created}.sqlite3`);
      const Driver = await loadSqliteDriver();
      const direct = <T>(work: (db: InstanceType<SqliteDriver>) => T): T => {
        const db = new Driver(path);
        try {
          return work(db);
        } finally {
          db.close();
        }
      };
      return {
        open: (options) => openStore({ kind: "sqlite", path, ...options }),
        appliedMigrations: async () =>
          direct((db) =>
            db.prepare<[], number>("SELECT version FROM schema_migrations ORDER BY version").pluck().all(),
          ),
        markMigrated: async (version) =>
          direct((db) => {
            db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").run(version, Date.now());
          }),
        migrateTo: async (version, statements) =>
          direct((db) => {
            db.pragma("foreign_keys = ON");
            db.exec(
              "CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)",
            );
            for (const migration of sqliteMigrations.filter((m) => m.version <= version)) {
              db.exec(migration.sql);
              db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)").run(migration.version, 0);
            }
            for (const statement of statements) db.exec(statement.replaceAll("{now}", String(Date.now())));
          }),
        versionOf: (description) => versionOf(sqliteMigrations, description),
      };
    },
    async dropAll() {
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export function postgresDatabases(url: string): TestDatabases {
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  const schemas: string[] = [];
  return {
    async create() {
      const schema = `herald_test_${randomBytes(6).toString("hex")}`;
      schemas.push(schema);
      return {
        open: (options) => openStore({ kind: "postgres", url, schema, ...options }),
        appliedMigrations: async () => {
          const result = await admin.query<{ version: number }>(
            `SELECT version FROM ${schema}.schema_migrations ORDER BY version`,
          );
          return result.rows.map((row) => row.version);
        },
        markMigrated: async (version) => {
          await admin.query(`INSERT INTO ${schema}.schema_migrations (version) VALUES ($1)`, [version]);
        },
        migrateTo: async (version, statements) => {
          const client = await admin.connect();
          try {
            await client.query(`CREATE SCHEMA ${schema}`);
            await client.query(
              `CREATE TABLE ${schema}.schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
            );
            for (const migration of postgresMigrations.filter((m) => m.version <= version)) {
              await client.query(migration.sql(schema));
              await client.query(`INSERT INTO ${schema}.schema_migrations (version) VALUES ($1)`, [migration.version]);
            }
            await client.query(`SET search_path TO ${schema}`);
            for (const statement of statements) await client.query(statement.replaceAll("{now}", "now()"));
          } finally {
            await client.query("RESET search_path").catch(() => {});
            client.release();
          }
        },
        versionOf: (description) => versionOf(postgresMigrations, description),
      };
    },
    async dropAll() {
      for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}

function versionOf(migrations: readonly { version: number; description: string }[], description: string): number {
  const found = migrations.find((migration) => migration.description === description);
  if (found === undefined) throw new Error(`no migration '${description}'`);
  return found.version;
}
