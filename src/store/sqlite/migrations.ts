import type { Migration } from "../migrations.js";

/** The SQLite registry's tables. Times are milliseconds since the epoch. */
export const sqliteMigrations: readonly Migration<string>[] = [
  {
    version: 1,
    description: "clients and their notifications",
    // The notifications' key is (client_id, id) rather than (id, client_id): the same pairs, but an index led by
    // client_id also serves the cascade when a client is deleted.
    sql: `
      CREATE TABLE clients (
        id TEXT NOT NULL PRIMARY KEY,
        push_type TEXT NOT NULL CHECK (push_type IN ('apns', 'apns-sandbox', 'fcm', 'noop')),
        device_token TEXT NOT NULL UNIQUE,
        always_raw INTEGER NOT NULL DEFAULT 0 CHECK (always_raw IN (0, 1)),
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE notifications (
        id TEXT NOT NULL,
        client_id TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
        payload TEXT NOT NULL CHECK (json_valid(payload)),
        received_at INTEGER NOT NULL,
        PRIMARY KEY (client_id, id)
      ) STRICT;
      CREATE INDEX notifications_received_at ON notifications (received_at);
    `,
  },
  {
    version: 2,
    description: "clients belong to a tenant",
    // SQLite cannot change a primary key in place: the tables are made anew and the rows copied, every one into the
    // default tenant ''. The notifications go first, so that nothing references the old clients when they go.
    sql: `
      CREATE TABLE clients_by_tenant (
        tenant TEXT NOT NULL DEFAULT '',
        id TEXT NOT NULL,
        push_type TEXT NOT NULL CHECK (push_type IN ('apns', 'apns-sandbox', 'fcm', 'noop')),
        device_token TEXT NOT NULL,
        always_raw INTEGER NOT NULL DEFAULT 0 CHECK (always_raw IN (0, 1)),
        created_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, id),
        UNIQUE (tenant, device_token)
      ) STRICT;
      INSERT INTO clients_by_tenant (tenant, id, push_type, device_token, always_raw, created_at)
        SELECT '', id, push_type, device_token, always_raw, created_at FROM clients;
      CREATE TABLE notifications_by_tenant (
        tenant TEXT NOT NULL DEFAULT '',
        id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        payload TEXT NOT NULL CHECK (json_valid(payload)),
        received_at INTEGER NOT NULL,
        PRIMARY KEY (tenant, client_id, id),
        FOREIGN KEY (tenant, client_id) REFERENCES clients_by_tenant (tenant, id) ON DELETE CASCADE
      ) STRICT;
      INSERT INTO notifications_by_tenant (tenant, id, client_id, payload, received_at)
        SELECT '', id, client_id, payload, received_at FROM notifications;
      DROP TABLE notifications;
      DROP TABLE clients;
      ALTER TABLE clients_by_tenant RENAME TO clients;
      ALTER TABLE notifications_by_tenant RENAME TO notifications;
      CREATE INDEX notifications_received_at ON notifications (received_at);
    `,
  },
  {
    version: 3,
    description: "the number of clients, kept as they come and go",
    // count(*) reads the whole table, too slow for every registration of a large registry. The triggers keep the
    // count in the transaction that adds or deletes the row, so every process sharing the file reads it exact.
    sql: `
      CREATE TABLE client_count (
        id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
        clients INTEGER NOT NULL
      ) STRICT;
      INSERT INTO client_count (id, clients) SELECT 1, count(*) FROM clients;
      CREATE TRIGGER client_added AFTER INSERT ON clients BEGIN
        UPDATE client_count SET clients = clients + 1;
      END;
      CREATE TRIGGER client_deleted AFTER DELETE ON clients BEGIN
        UPDATE client_count SET clients = clients - 1;
      END;
    `,
  },
  {
    version: 4,
    description: "a client may have an owner",
    // The did:key whose wallet JWT registered the client; the rows of older Heralds have none, and stay open to any
    // request, as they were.
    sql: "ALTER TABLE clients ADD COLUMN owner TEXT;",
  },
  {
    version: 5,
    description: "message ids looked up across clients",
    // A relay message is pushed to one client of a tenant: finding whether another client had it reads by message id.
    sql: "CREATE INDEX notifications_by_message ON notifications (tenant, id);",
  },
];
