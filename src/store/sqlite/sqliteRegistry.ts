/**
 * The embedded registry: one SQLite file, in WAL mode so that readers never wait for the writer. better-sqlite3 is
 * synchronous; each call is short, and the async interface is kept so that the PostgreSQL registry can stand in.
 * Several processes (`http.workers`) may share the file: every write transaction starts with `BEGIN IMMEDIATE`, which
 * takes the write lock before reading, and a busy timeout makes a second writer wait for it instead of failing.
 */
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import type Database from "better-sqlite3";
import { pendingMigrations } from "../migrations.js";
import {
  describeError,
  ownershipConflict,
  StoreOpenError,
  tokenTakeover,
  type Client,
  type DeleteOutcome,
  type HeldRow,
  type PushType,
  type RecordOutcome,
  type RegisterOutcome,
  type Registry,
} from "../registry.js";
import { loadSqliteDriver } from "./driver.js";
import { sqliteMigrations } from "./migrations.js";

export interface SqliteRegistryOptions {
  /** The database file; its directory is created if missing. */
  path: string;
  /** How long a write waits for another process's write to finish before failing. */
  busyTimeoutMs?: number;
  /** The most clients a registration may bring the registry to; absent or 0, no limit. */
  maxClients?: number;
}

const DEFAULT_BUSY_TIMEOUT_MS = 5000;

export async function openSqliteRegistry(options: SqliteRegistryOptions): Promise<Registry> {
  const { path } = options;
  const Driver = await loadSqliteDriver();
  try {
    // Only its owner may read the registry (device tokens): a new directory 0700, a new file 0600, which SQLite's
    // journal files then take after. An existing file keeps the mode its operator gave it.
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    createPrivately(path);
  } catch (error) {
    throw new StoreOpenError(
      `cannot create the registry's SQLite database ${path} (or its directory): ${describeError(error)}`,
    );
  }
  let db: Database.Database | undefined;
  try {
    db = new Driver(path, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
    db.pragma("journal_mode = WAL");
    db.pragma("foreign_keys = ON");
    migrate(db, path);
    return new SqliteRegistry(db, options.maxClients ?? 0);
  } catch (error) {
    db?.close();
    if (error instanceof StoreOpenError) throw error;
    throw new StoreOpenError(`cannot open the registry's SQLite database ${path}: ${describeError(error)}`);
  }
}

/** Creates the file 0600 if it does not exist yet; whatever is there already is SQLite's to open or refuse. */
function createPrivately(path: string): void {
  try {
    closeSync(openSync(path, "wx", 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
}

/** Applies the pending migrations in one transaction; a second process opening the file meanwhile waits for it. */
function migrate(db: Database.Database, path: string): void {
  db.transaction(() => {
    db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT",
    );
    const applied = db.prepare<[], number>("SELECT version FROM schema_migrations").pluck().all();
    const record = db.prepare<[number, number]>("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
    for (const migration of pendingMigrations(sqliteMigrations, applied, `the SQLite database ${path}`)) {
      db.exec(migration.sql);
      record.run(migration.version, Date.now());
    }
  }).immediate();
}

interface ClientRow {
  tenant: string;
  id: string;
  type: PushType;
  token: string;
  alwaysRaw: 0 | 1;
  owner: string | null;
}

class SqliteRegistry implements Registry {
  private readonly heldRows;
  private readonly selectClient;
  private readonly upsertClient;
  private readonly rekeyClient;
  private readonly deleteById;
  private readonly deleteOwnedBy;
  private readonly deleteByIdAndToken;
  private readonly deleteNotificationsOf;
  private readonly insertNotification;
  private readonly selectNotification;
  private readonly selectOtherClients;
  private readonly recordOnlyClient;
  private readonly deleteNotification;
  private readonly deleteOldNotifications;
  private readonly count;
  private readonly register;

  constructor(
    private readonly db: Database.Database,
    maxClients: number,
  ) {
    this.heldRows = db.prepare<[string, string, string], HeldRow>(
      "SELECT id, device_token AS token, owner FROM clients WHERE tenant = ? AND (id = ? OR device_token = ?)",
    );
    this.selectClient = db.prepare<[string, string], ClientRow>(
      `SELECT tenant, id, push_type AS type, device_token AS token, always_raw AS alwaysRaw, owner
       FROM clients WHERE tenant = ? AND id = ?`,
    );
    this.upsertClient = db.prepare<[string, string, PushType, string, number, string | null, number]>(
      `INSERT INTO clients (tenant, id, push_type, device_token, always_raw, owner, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant, id) DO UPDATE SET
         push_type = excluded.push_type, device_token = excluded.device_token, always_raw = excluded.always_raw,
         owner = excluded.owner`,
    );
    this.rekeyClient = db.prepare<[string, string, string]>("UPDATE clients SET id = ? WHERE tenant = ? AND id = ?");
    this.deleteById = db.prepare<[string, string]>("DELETE FROM clients WHERE tenant = ? AND id = ?");
    this.deleteOwnedBy = db.prepare<[string, string, string | null]>(
      "DELETE FROM clients WHERE tenant = ? AND id = ? AND (owner IS NULL OR owner = ?)",
    );
    this.deleteByIdAndToken = db.prepare<[string, string, string]>(
      "DELETE FROM clients WHERE tenant = ? AND id = ? AND device_token = ?",
    );
    this.deleteNotificationsOf = db.prepare<[string, string]>(
      "DELETE FROM notifications WHERE tenant = ? AND client_id = ?",
    );
    this.insertNotification = db.prepare<[string, string, string, string, number]>(
      `INSERT INTO notifications (tenant, id, client_id, payload, received_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING`,
    );
    this.selectNotification = db.prepare<[string, string, string]>(
      "SELECT 1 FROM notifications WHERE tenant = ? AND client_id = ? AND id = ?",
    );
    this.selectOtherClients = db.prepare<[string, string, string]>(
      `SELECT 1 FROM notifications
       WHERE tenant = ? AND client_id <> ? AND id IN (SELECT value FROM json_each(?)) LIMIT 1`,
    );
    // Under the write lock: of two clients recording the same message at once, the second finds the first's row.
    this.recordOnlyClient = db.transaction(
      (
        tenant: string,
        clientId: string,
        messageId: string,
        payloadJson: string,
        nowMs: number,
        ids: string,
      ): RecordOutcome => {
        if (this.selectNotification.get(tenant, clientId, messageId)) return "duplicate";
        if (this.selectOtherClients.get(tenant, clientId, ids)) return "other-client";
        this.insertNotification.run(tenant, messageId, clientId, payloadJson, nowMs);
        return "new";
      },
    );
    this.deleteNotification = db.prepare<[string, string, string]>(
      "DELETE FROM notifications WHERE tenant = ? AND client_id = ? AND id = ?",
    );
    this.deleteOldNotifications = db.prepare<[number]>("DELETE FROM notifications WHERE received_at < ?");
    this.count = db.prepare<[], number>("SELECT clients FROM client_count").pluck();
    this.register = db.transaction((client: Client): RegisterOutcome => {
      const { tenant } = client;
      const held = this.heldRows.all(tenant, client.id, client.token);
      const conflict = ownershipConflict(held, client);
      if (conflict !== undefined) return conflict;
      // Neither the id nor the token has a row: this registration adds one. The write lock is held, so the count is
      // exact for every process sharing the file.
      if (held.length === 0 && maxClients > 0 && (this.count.get() ?? 0) >= maxClients) return "full";
      const takeover = tokenTakeover(held, client);
      if (takeover.kind === "drop") this.deleteById.run(tenant, takeover.id);
      if (takeover.kind === "rekey") {
        this.deleteNotificationsOf.run(tenant, takeover.id);
        this.rekeyClient.run(client.id, tenant, takeover.id);
      }
      const { id, type, token, alwaysRaw, owner } = client;
      this.upsertClient.run(tenant, id, type, token, alwaysRaw ? 1 : 0, owner ?? null, Date.now());
      return held.length === 0 ? "added" : "updated";
    });
  }

  async registerClient(client: Client): Promise<RegisterOutcome> {
    return this.register.immediate(client);
  }

  async getClient(tenant: string, id: string): Promise<Client | undefined> {
    const row = this.selectClient.get(tenant, id);
    if (row === undefined) return undefined;
    const { type, token, alwaysRaw, owner } = row;
    return { tenant, id, type, token, alwaysRaw: alwaysRaw === 1, ...(owner !== null && { owner }) };
  }

  async deleteClient(tenant: string, id: string, requester?: string): Promise<DeleteOutcome> {
    if (this.deleteOwnedBy.run(tenant, id, requester ?? null).changes > 0) return "deleted";
    return this.selectClient.get(tenant, id) === undefined ? "absent" : "owned";
  }

  async deleteClientIfToken(tenant: string, id: string, token: string): Promise<boolean> {
    return this.deleteByIdAndToken.run(tenant, id, token).changes > 0;
  }

  async recordNotification(
    tenant: string,
    clientId: string,
    messageId: string,
    payloadJson: string,
    nowMs: number,
    onlyClient?: readonly string[],
  ): Promise<RecordOutcome> {
    try {
      if (onlyClient !== undefined) {
        const ids = JSON.stringify(onlyClient);
        return this.recordOnlyClient.immediate(tenant, clientId, messageId, payloadJson, nowMs, ids);
      }
      const inserted = this.insertNotification.run(tenant, messageId, clientId, payloadJson, nowMs).changes > 0;
      return inserted ? "new" : "duplicate";
    } catch (error) {
      if ((error as { code?: unknown }).code === "SQLITE_CONSTRAINT_FOREIGNKEY") return "unknown-client";
      throw error;
    }
  }

  async forgetNotification(tenant: string, clientId: string, messageId: string): Promise<void> {
    this.deleteNotification.run(tenant, clientId, messageId);
  }

  async deleteNotificationsBefore(cutoffMs: number): Promise<number> {
    return this.deleteOldNotifications.run(cutoffMs).changes;
  }

  async countClients(): Promise<number> {
    return this.count.get() ?? 0;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
