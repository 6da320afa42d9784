/**
 * The registry on PostgreSQL, for several Herald instances sharing one database. Every table lives in one schema
 * (created if missing), so that Herald can share a database with others, and tests can run side by side.
 *
 * A registration takes transaction-scoped advisory locks on its id and its token (always in the same order), as
 * WalletConnect's push server does:
 * two registrations of the same id or token run one after the other, and each sees what the other wrote. It then
 * locks, in id order, the rows that hold the id or the token, so that two registrations swapping tokens between two
 * clients cannot deadlock.
 *
 * With a `maxClients`, the clients are counted at open and every `CLIENT_COUNT_REFRESH_MS`, and the count is moved by
 * this store's own registrations and deletions in between: count(*) reads the whole table, too slow for every
 * registration of a large registry, and a count row that every registration updated would make the registrations of
 * every instance wait for each other. Other instances' registrations show at the next count.
 */
import { withoutSecrets } from "../../core/urlSecrets.js";
import pg from "pg";
import { pendingMigrations } from "../migrations.js";
import {
  CLIENT_COUNT_REFRESH_MS,
  describeError,
  ownershipConflict,
  StoreOpenError,
  tokenTakeover,
  type Client,
  type DeleteOutcome,
  type HeldRow,
  type RecordOutcome,
  type RegisterOutcome,
  type Registry,
} from "../registry.js";
import { postgresMigrations } from "./migrations.js";

export interface PostgresRegistryOptions {
  /** A connection URL: `postgres://user:password@host:port/database`. */
  url: string;
  /** The schema holding Herald's tables; created if missing. */
  schema?: string;
  /** The most clients a registration may bring the registry to; absent or 0, no limit. */
  maxClients?: number;
}

export const DEFAULT_SCHEMA = "herald";
const CONNECT_TIMEOUT_MS = 10_000;
const FOREIGN_KEY_VIOLATION = "23503";
const DEADLOCK_DETECTED = "40P01";
/** How many times a registration PostgreSQL chose as a deadlock's victim is run again. */
const DEADLOCK_RETRIES = 5;

export async function openPostgresRegistry(options: PostgresRegistryOptions): Promise<Registry> {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  if (schema === "" || Buffer.byteLength(schema) > 63 || schema.includes("\0")) {
    throw new StoreOpenError(`the registry's PostgreSQL schema '${schema}' is not a usable name (1 to 63 bytes)`);
  }
  const pool = new pg.Pool({ connectionString: options.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // A pooled connection that breaks while idle is dropped by the pool and replaced on the next query; without a
  // listener the error would end the process.
  pool.on("error", () => {});
  try {
    await migrate(pool, schema);
  } catch (error) {
    await pool.end().catch(() => {});
    if (error instanceof StoreOpenError) throw error;
    throw new StoreOpenError(
      `cannot open the registry's PostgreSQL database ${withoutSecrets(options.url)} (schema ${schema}): ${describeError(error)}`,
    );
  }
  const registry = new PostgresRegistry(pool, schema, options.maxClients ?? 0);
  try {
    await registry.startCounting();
  } catch (error) {
    await registry.close().catch(() => {});
    throw new StoreOpenError(
      `cannot count the clients of the registry's PostgreSQL database ${withoutSecrets(options.url)} (schema ${schema}): ${describeError(error)}`,
    );
  }
  return registry;
}

/** A key for an advisory lock (hashed to 64 bits): the schema, what is locked, and its value. */
function lockKey(schema: string, kind: string, value: string): string {
  return JSON.stringify(["herald", schema, kind, value]);
}

/**
 * Creates the schema if missing and applies the pending migrations, in one transaction under an advisory lock: several
 * Herald instances starting at once migrate one after the other, and the later ones find nothing left to do.
 */
async function migrate(pool: pg.Pool, schema: string): Promise<void> {
  const quoted = pg.escapeIdentifier(schema);
  await inTransaction(pool, async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [lockKey(schema, "migrations", "")]);
    // Looked up first: CREATE SCHEMA IF NOT EXISTS needs the right to create schemas even when the schema exists.
    const found = await tx.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
    if (found.rowCount === 0) await tx.query(`CREATE SCHEMA ${quoted}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${quoted}.schema_migrations
         (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const applied = await tx.query<{ version: number }>(`SELECT version FROM ${quoted}.schema_migrations`);
    const pending = pendingMigrations(
      postgresMigrations,
      applied.rows.map((row) => row.version),
      `the PostgreSQL schema ${schema}`,
    );
    for (const migration of pending) {
      await tx.query(migration.sql(quoted));
      await tx.query(`INSERT INTO ${quoted}.schema_migrations (version) VALUES ($1)`, [migration.version]);
    }
  });
}

async function inTransaction<T>(pool: pg.Pool, work: (tx: pg.PoolClient) => Promise<T>): Promise<T> {
  const tx = await pool.connect();
  let broken = false;
  try {
    await tx.query("BEGIN");
    const result = await work(tx);
    await tx.query("COMMIT");
    return result;
  } catch (error) {
    await tx.query("ROLLBACK").catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    tx.release(broken);
  }
}

/** The parameters of the notification insert: tenant, message id, client id, payload, time (ms). */
type NotificationValues = [string, string, string, string, number];

class PostgresRegistry implements Registry {
  private readonly sql;
  /** With a `maxClients`: the clients as last counted, moved by this store's registrations and deletions since. */
  private clients = 0;
  private counter: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly maxClients: number,
  ) {
    const quoted = pg.escapeIdentifier(schema);
    const clients = `${quoted}.clients`;
    const notifications = `${quoted}.notifications`;
    this.sql = {
      heldRows: `SELECT id, device_token AS token, owner FROM ${clients}
        WHERE tenant = $1 AND (id = $2 OR device_token = $3) ORDER BY id FOR UPDATE`,
      selectClient: `SELECT tenant, id, push_type AS type, device_token AS token, always_raw AS "alwaysRaw", owner
        FROM ${clients} WHERE tenant = $1 AND id = $2`,
      upsertClient: `INSERT INTO ${clients} (tenant, id, push_type, device_token, always_raw, owner)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (tenant, id) DO UPDATE SET
          push_type = excluded.push_type, device_token = excluded.device_token, always_raw = excluded.always_raw,
          owner = excluded.owner`,
      rekeyClient: `UPDATE ${clients} SET id = $1 WHERE tenant = $2 AND id = $3`,
      deleteById: `DELETE FROM ${clients} WHERE tenant = $1 AND id = $2`,
      deleteOwnedBy: `DELETE FROM ${clients} WHERE tenant = $1 AND id = $2 AND (owner IS NULL OR owner = $3)`,
      deleteByIdAndToken: `DELETE FROM ${clients} WHERE tenant = $1 AND id = $2 AND device_token = $3`,
      deleteNotificationsOf: `DELETE FROM ${notifications} WHERE tenant = $1 AND client_id = $2`,
      insertNotification: `INSERT INTO ${notifications} (tenant, id, client_id, payload, received_at)
        VALUES ($1, $2, $3, $4, to_timestamp($5::float8 / 1000)) ON CONFLICT DO NOTHING`,
      selectNotification: `SELECT 1 FROM ${notifications} WHERE tenant = $1 AND client_id = $2 AND id = $3`,
      selectOtherClients: `SELECT 1 FROM ${notifications}
        WHERE tenant = $1 AND client_id <> $2 AND id = ANY($3::text[]) LIMIT 1`,
      deleteNotification: `DELETE FROM ${notifications} WHERE tenant = $1 AND client_id = $2 AND id = $3`,
      deleteOldNotifications: `DELETE FROM ${notifications} WHERE received_at < to_timestamp($1::float8 / 1000)`,
      count: `SELECT count(*)::integer AS count FROM ${clients}`,
    };
  }

  /**
   * Registrations whose ids and tokens cross can still wait on each other's rows (one re-keys a row the other
   * upserts): PostgreSQL then rolls one back as a deadlock, and it is simply run again, as its documentation advises.
   */
  async registerClient(client: Client): Promise<RegisterOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { outcome, rows } = await this.registerOnce(client);
        this.clients += rows;
        return outcome;
      } catch (error) {
        if ((error as { code?: unknown }).code !== DEADLOCK_DETECTED || attempt > DEADLOCK_RETRIES) throw error;
      }
    }
  }

  /** The outcome, and how many rows the registry gained (1), lost (-1, a dropped row) or neither (0). */
  private async registerOnce(client: Client): Promise<{ outcome: RegisterOutcome; rows: number }> {
    return inTransaction(this.pool, async (tx) => {
      const lock = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";
      const { tenant } = client;
      // Always taken in the same order: two registrations crossing ids and tokens would otherwise each hold the
      // lock the other waits for, and PostgreSQL would fail one of them as a deadlock.
      const keys = [
        lockKey(this.schema, "id", JSON.stringify([tenant, client.id])),
        lockKey(this.schema, "token", JSON.stringify([tenant, client.token])),
      ].sort();
      for (const key of keys) await tx.query(lock, [key]);
      const held = await tx.query<HeldRow>(this.sql.heldRows, [tenant, client.id, client.token]);
      const conflict = ownershipConflict(held.rows, client);
      if (conflict !== undefined) return { outcome: conflict, rows: 0 };
      const adds = held.rows.length === 0;
      if (adds && this.maxClients > 0 && this.clients >= this.maxClients) return { outcome: "full", rows: 0 };
      const takeover = tokenTakeover(held.rows, client);
      if (takeover.kind === "drop") await tx.query(this.sql.deleteById, [tenant, takeover.id]);
      if (takeover.kind === "rekey") {
        await tx.query(this.sql.deleteNotificationsOf, [tenant, takeover.id]);
        await tx.query(this.sql.rekeyClient, [client.id, tenant, takeover.id]);
      }
      const { id, type, token, alwaysRaw, owner } = client;
      await tx.query(this.sql.upsertClient, [tenant, id, type, token, alwaysRaw, owner ?? null]);
      return adds ? { outcome: "added", rows: 1 } : { outcome: "updated", rows: takeover.kind === "drop" ? -1 : 0 };
    });
  }

  async getClient(tenant: string, id: string): Promise<Client | undefined> {
    const result = await this.pool.query<Client & { owner: string | null }>(this.sql.selectClient, [tenant, id]);
    const row = result.rows[0];
    if (row === undefined) return undefined;
    const { owner, ...client } = row;
    return { ...client, ...(owner !== null && { owner }) };
  }

  async deleteClient(tenant: string, id: string, requester?: string): Promise<DeleteOutcome> {
    const deleted = (await this.pool.query(this.sql.deleteOwnedBy, [tenant, id, requester ?? null])).rowCount ?? 0;
    if (this.deleted(deleted)) return "deleted";
    return (await this.getClient(tenant, id)) === undefined ? "absent" : "owned";
  }

  async deleteClientIfToken(tenant: string, id: string, token: string): Promise<boolean> {
    return this.deleted((await this.pool.query(this.sql.deleteByIdAndToken, [tenant, id, token])).rowCount ?? 0);
  }

  private deleted(rows: number): boolean {
    this.clients -= rows;
    return rows > 0;
  }

  async recordNotification(
    tenant: string,
    clientId: string,
    messageId: string,
    payloadJson: string,
    nowMs: number,
    onlyClient?: readonly string[],
  ): Promise<RecordOutcome> {
    const values: NotificationValues = [tenant, messageId, clientId, payloadJson, nowMs];
    try {
      if (onlyClient !== undefined) return await this.recordOnlyClient(values, onlyClient);
      const result = await this.pool.query(this.sql.insertNotification, values);
      return (result.rowCount ?? 0) > 0 ? "new" : "duplicate";
    } catch (error) {
      if ((error as { code?: unknown }).code === FOREIGN_KEY_VIOLATION) return "unknown-client";
      throw error;
    }
  }

  /**
   * Under advisory locks on the message's ids (taken in order, so that two calls never wait on each other in a circle):
   * of two clients recording the same message at once, the second finds the first's row.
   */
  private async recordOnlyClient(values: NotificationValues, ids: readonly string[]): Promise<RecordOutcome> {
    const [tenant, messageId, clientId] = values;
    return inTransaction(this.pool, async (tx) => {
      const keys = [...new Set(ids)].map((id) => lockKey(this.schema, "message", JSON.stringify([tenant, id]))).sort();
      for (const key of keys) await tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [key]);
      if ((await tx.query(this.sql.selectNotification, [tenant, clientId, messageId])).rowCount) return "duplicate";
      if ((await tx.query(this.sql.selectOtherClients, [tenant, clientId, ids])).rowCount) return "other-client";
      await tx.query(this.sql.insertNotification, values);
      return "new";
    });
  }

  async forgetNotification(tenant: string, clientId: string, messageId: string): Promise<void> {
    await this.pool.query(this.sql.deleteNotification, [tenant, clientId, messageId]);
  }

  async deleteNotificationsBefore(cutoffMs: number): Promise<number> {
    return (await this.pool.query(this.sql.deleteOldNotifications, [cutoffMs])).rowCount ?? 0;
  }

  async countClients(): Promise<number> {
    return (await this.pool.query<{ count: number }>(this.sql.count)).rows[0]?.count ?? 0;
  }

  /** With a `maxClients`: counts the clients now, and again every `CLIENT_COUNT_REFRESH_MS`. */
  async startCounting(): Promise<void> {
    if (this.maxClients <= 0) return;
    this.clients = await this.countClients();
    this.counter = setInterval(() => {
      // An unreachable database: the last count stands, and the registrations that need the database say why.
      this.countClients().then(
        (count) => (this.clients = count),
        () => {},
      );
    }, CLIENT_COUNT_REFRESH_MS).unref();
  }

  async close(): Promise<void> {
    clearInterval(this.counter);
    if (!this.pool.ended) await this.pool.end();
  }
}
