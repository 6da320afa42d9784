/**
 * Opens the registry named by the options. Each driver is loaded only when its store is used: a Herald on SQLite never
 * loads `pg`, and one on PostgreSQL never loads the native SQLite addon.
 */
import { describeError, StoreOpenError, type Registry } from "./registry.js";

export type StoreOptions =
  { kind: "sqlite"; path: string; busyTimeoutMs?: number } | { kind: "postgres"; url: string; schema?: string };

export type { Client, PushType, RecordOutcome, Registry } from "./registry.js";
export { PUSH_TYPES, StoreOpenError } from "./registry.js";

export async function openStore(options: StoreOptions): Promise<Registry> {
  if (options.kind === "sqlite") {
    const { openSqliteRegistry } = await loadDriver("better-sqlite3", () => import("./sqlite/sqliteRegistry.js"));
    return openSqliteRegistry(options);
  }
  const { openPostgresRegistry } = await loadDriver("pg", () => import("./postgres/postgresRegistry.js"));
  return openPostgresRegistry(options);
}

async function loadDriver<M>(name: string, load: () => Promise<M>): Promise<M> {
  try {
    return await load();
  } catch (error) {
    throw new StoreOpenError(`cannot load the registry's database driver ${name}: ${describeError(error)}`);
  }
}
