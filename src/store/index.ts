/**
 * Opens the registry named by the options. Each driver is loaded only when its store is used: a Herald on SQLite never
 * loads `pg`, and one on PostgreSQL never loads the native SQLite addon.
 */
import { driverLoadError, type Registry } from "./registry.js";

/** `maxClients`: the most clients a registration may bring the registry to; absent or 0, no limit. */
export type StoreOptions = { maxClients?: number } & (
  { kind: "sqlite"; path: string; busyTimeoutMs?: number } | { kind: "postgres"; url: string; schema?: string }
);

export type { Client, DeleteOutcome, PushType, RecordOutcome, RegisterOutcome, Registry } from "./registry.js";
export { PUSH_TYPES, StoreOpenError } from "./registry.js";

export async function openStore(options: StoreOptions): Promise<Registry> {
  if (options.kind === "sqlite") {
    const { openSqliteRegistry } = await import("./sqlite/sqliteRegistry.js");
    return openSqliteRegistry(options);
  }
  let postgres;
  try {
    postgres = await import("./postgres/postgresRegistry.js");
  } catch (error) {
    throw driverLoadError("pg", error);
  }
  return postgres.openPostgresRegistry(options);
}
