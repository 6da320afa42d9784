/**
 * Versioned migrations: each database records the versions applied to it in `schema_migrations`, and each migration
 * runs once, in its own transaction, when a store opens. A migration, once released, never changes: a change to the
 * tables is a new migration with the next version.
 */
import { StoreOpenError } from "./registry.js";

export interface Migration<Sql> {
  version: number;
  description: string;
  sql: Sql;
}

/**
 * The migrations still to apply, in order. A database that has a version this Herald does not know was migrated by a
 * newer Herald, whose tables this one might misuse: it is refused.
 */
export function pendingMigrations<M extends { version: number }>(
  known: readonly M[],
  applied: readonly number[],
  database: string,
): M[] {
  const unknown = applied.filter((version) => !known.some((migration) => migration.version === version));
  if (unknown.length > 0) {
    const newest = Math.max(...known.map((migration) => migration.version));
    throw new StoreOpenError(
      `${database} has schema version ${Math.max(...unknown)}, newer than this Herald knows (${newest}): ` +
        `run the Herald version that migrated it, or a newer one`,
    );
  }
  return known.filter((migration) => !applied.includes(migration.version)).sort((a, b) => a.version - b.version);
}
