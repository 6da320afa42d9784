import type { Migration } from "../migrations.js";

/** The PostgreSQL registry's tables, each made inside the schema given (an already quoted identifier). */
export const postgresMigrations: readonly Migration<(schema: string) => string>[] = [
  {
    version: 1,
    description: "clients and their notifications",
    // The notifications' key is (client_id, id) rather than (id, client_id): the same pairs, but an index led by
    // client_id also serves the cascade when a client is deleted.
    sql: (schema) => `
      CREATE TABLE ${schema}.clients (
        id text PRIMARY KEY,
        push_type text NOT NULL CHECK (push_type IN ('apns', 'apns-sandbox', 'fcm', 'noop')),
        device_token text NOT NULL UNIQUE,
        always_raw boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE ${schema}.notifications (
        id text NOT NULL,
        client_id text NOT NULL REFERENCES ${schema}.clients (id) ON DELETE CASCADE,
        payload jsonb NOT NULL,
        received_at timestamptz NOT NULL,
        PRIMARY KEY (client_id, id)
      );
      CREATE INDEX notifications_received_at ON ${schema}.notifications (received_at);
    `,
  },
  {
    version: 2,
    description: "clients belong to a tenant",
    // Every existing row goes to the default tenant ''. The keys are remade with the tenant in front.
    sql: (schema) => `
      ALTER TABLE ${schema}.notifications DROP CONSTRAINT notifications_client_id_fkey;
      ALTER TABLE ${schema}.clients ADD COLUMN tenant text NOT NULL DEFAULT '';
      ALTER TABLE ${schema}.notifications ADD COLUMN tenant text NOT NULL DEFAULT '';
      ALTER TABLE ${schema}.clients DROP CONSTRAINT clients_pkey;
      ALTER TABLE ${schema}.clients ADD PRIMARY KEY (tenant, id);
      ALTER TABLE ${schema}.clients DROP CONSTRAINT clients_device_token_key;
      ALTER TABLE ${schema}.clients ADD CONSTRAINT clients_tenant_device_token_key UNIQUE (tenant, device_token);
      ALTER TABLE ${schema}.notifications DROP CONSTRAINT notifications_pkey;
      ALTER TABLE ${schema}.notifications ADD PRIMARY KEY (tenant, client_id, id);
      ALTER TABLE ${schema}.notifications ADD CONSTRAINT notifications_client_fkey
        FOREIGN KEY (tenant, client_id) REFERENCES ${schema}.clients (tenant, id) ON DELETE CASCADE;
    `,
  },
  {
    version: 3,
    description: "a client may have an owner",
    // The did:key whose wallet JWT registered the client; the rows of older Heralds have none, and stay open to any
    // request, as they were.
    sql: (schema) => `ALTER TABLE ${schema}.clients ADD COLUMN owner text;`,
  },
  {
    version: 4,
    description: "message ids looked up across clients",
    // A relay message is pushed to one client of a tenant: finding whether another client had it reads by message id.
    sql: (schema) => `CREATE INDEX notifications_by_message ON ${schema}.notifications (tenant, id);`,
  },
];
