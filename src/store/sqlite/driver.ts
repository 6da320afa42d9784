/**
 * Which better-sqlite3 this Node can run. Version 13 (Node-API, its binaries shipped in the package) needs Node 22 and
 * crashes Node 20. Version 12 (compiled at install) runs on Node 20 but not safely on Node 24.19 and later: built
 * against their headers, its statements unregister a cleanup hook when the garbage collector frees them, and a
 * collection that runs outside JavaScript then aborts the process. So: 13 from Node 22 on, 12 (installed as
 * `better-sqlite3-node20`) on Node 20 only. Both are optional dependencies: npm skips 13 on Node 20 without a warning
 * (its `engines` say Node 22), where a regular dependency would warn EBADENGINE at every install.
 */
import type Database from "better-sqlite3";
import { driverLoadError } from "../registry.js";

export type SqliteDriver = typeof Database;

export function sqliteDriverName(nodeVersion = process.versions.node): string {
  return Number(nodeVersion.split(".")[0]) >= 22 ? "better-sqlite3" : "better-sqlite3-node20";
}

export async function loadSqliteDriver(): Promise<SqliteDriver> {
  const name = sqliteDriverName();
  try {
    const driver: { default: SqliteDriver } = await import(name);
    return driver.default;
  } catch (error) {
    throw driverLoadError(name, error);
  }
}
