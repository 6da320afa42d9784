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
];
