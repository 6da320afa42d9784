/**
 * The registry behind the WalletConnect push-server API: which wallet (client id) receives pushes at which device
 * token, and which relay messages each client has already been sent (the relay retries, and its retries must not
 * ring the phone twice). Two implementations keep the same contract: SQLite, embedded, for one Herald; PostgreSQL
 * for several Herald instances behind a load balancer.
 *
 * Clients belong to a tenant (a WalletConnect project with apps of its own): the same client id, or the same token,
 * under two tenants is two clients. The tenant of `/clients`, and of every project when none is configured, is "".
 */

export const PUSH_TYPES = ["apns", "apns-sandbox", "fcm", "noop"] as const;
export type PushType = (typeof PUSH_TYPES)[number];

export interface Client {
  /** The tenant the client registered under; "" for the default. */
  tenant: string;
  /** The client id, as stored: the API strips a `did:key:` prefix before it gets here. */
  id: string;
  type: PushType;
  /** The device token; within a tenant, one token belongs to one client at most. */
  token: string;
  /** Relay messages reach this client as they are (`topic`, `tag`, `message`), never in the legacy shape. */
  alwaysRaw: boolean;
  /**
   * The did:key whose wallet JWT registered the client: only a request authenticated by that key may register it
   * again, delete it, or take its token. Absent: registered without a JWT, open to any request, as in WalletConnect's
   * push server.
   */
  owner?: string;
}

/**
 * What a registration did: `added` a client, `updated` one that held its id or token (the registry grew by none), or
 * nothing at all because it would have added a client to a `full` registry (`maxClients`), because the id's client is
 * `owned` by another key than the registration's, or because its token belongs to another id's client that is owned
 * by another key (`token-owned`).
 */
export type RegisterOutcome = "added" | "updated" | "full" | "owned" | "token-owned";

/** What a deletion did: `deleted` the client, found it `absent`, or left it because it is `owned` by another key. */
export type DeleteOutcome = "deleted" | "absent" | "owned";

/**
 * `unknown-client`: the client was deleted meanwhile, so nothing was recorded and there is nobody to push to.
 * `other-client`: the message was recorded for another client of the tenant, and this one was to be its only one.
 */
export type RecordOutcome = "new" | "duplicate" | "unknown-client" | "other-client";

export interface Registry {
  /**
   * Registers a client, atomically even when several registrations of the same id or token arrive at once, within
   * the client's tenant; `client.owner` is the key that authenticated the registration, if any:
   * - nothing changes when the id's row, or a row holding the token under another id, has an owner other than
   *   `client.owner` (`owned`, `token-owned`);
   * - the id's row, if any, takes the new token, type, always_raw and owner;
   * - a row holding the token under another id is taken over: its notifications are deleted and the row is re-keyed to
   *   this id (or dropped, when this id already has a row of its own), so that the token stays with one client;
   * - otherwise the client is added, unless the registry opened with a `maxClients` holds that many clients already
   *   (SQLite: exactly; PostgreSQL: as counted at most `CLIENT_COUNT_REFRESH_MS` ago, and since by this store).
   */
  registerClient(client: Client): Promise<RegisterOutcome>;
  getClient(tenant: string, id: string): Promise<Client | undefined>;
  /**
   * Deletes a client and its notifications, unless it has an owner other than `requester` (the key that authenticated
   * the deletion, if any).
   */
  deleteClient(tenant: string, id: string, requester?: string): Promise<DeleteOutcome>;
  /**
   * Deletes a client only while it still holds `token`: a provider said that token is dead, and the wallet may have
   * registered a new one meanwhile. Whether it was deleted.
   */
  deleteClientIfToken(tenant: string, id: string, token: string): Promise<boolean>;
  /**
   * Remembers that relay message `messageId` reached client `clientId`: `new` the first time, `duplicate` after, exactly
   * once among concurrent calls. With `onlyClient`, the ids the message goes by (one for each shape of its body): when
   * one of them is recorded for another client of the tenant, nothing is recorded (`other-client`), and among
   * concurrent calls for different clients exactly one is `new`.
   */
  recordNotification(
    tenant: string,
    clientId: string,
    messageId: string,
    payloadJson: string,
    nowMs: number,
    onlyClient?: readonly string[],
  ): Promise<RecordOutcome>;
  /** Forgets a recorded message (its push failed), so that the relay's retry is pushed again. */
  forgetNotification(tenant: string, clientId: string, messageId: string): Promise<void>;
  /** Deletes the notifications recorded before `cutoffMs` (ms since the epoch); how many. */
  deleteNotificationsBefore(cutoffMs: number): Promise<number>;
  /** How many clients the registry holds, every tenant together (SQLite keeps the count; PostgreSQL counts them). */
  countClients(): Promise<number>;
  close(): Promise<void>;
}

/**
 * How often a PostgreSQL registry with a `maxClients` counts its clients again. Between two counts it adds its own
 * registrations and deletions; those of other Herald instances on the same database show at the next count, so a
 * full registry may take in what the others register meanwhile.
 */
export const CLIENT_COUNT_REFRESH_MS = 30_000;

/** The registry's database cannot be opened or migrated; the message says which database and why. */
export class StoreOpenError extends Error {
  override readonly name = "StoreOpenError";
}

/** A database driver (an npm package) could not be loaded: not installed, or built for another Node. */
export function driverLoadError(name: string, error: unknown): StoreOpenError {
  return new StoreOpenError(`cannot load the registry's database driver ${name}: ${describeError(error)}`);
}

/** A row of the same tenant that holds the id or the token being registered. */
export interface HeldRow {
  id: string;
  token: string;
  owner: string | null;
}

/**
 * Whether registering `client` would change a row owned by another key than the registration's: the id's own row
 * (`owned`), or the row whose token it would take (`token-owned`). A row without an owner is anybody's to change.
 */
export function ownershipConflict(rows: readonly HeldRow[], client: Client): "owned" | "token-owned" | undefined {
  const othersRow = (row: HeldRow) => row.owner !== null && row.owner !== client.owner;
  if (rows.some((row) => row.id === client.id && othersRow(row))) return "owned";
  if (rows.some((row) => row.id !== client.id && row.token === client.token && othersRow(row))) return "token-owned";
  return undefined;
}

export type TokenTakeover = { kind: "none" } | { kind: "drop"; id: string } | { kind: "rekey"; id: string };

/**
 * What registering `client` does to the row holding its token under another id, given the rows (at most two) that
 * hold the client's id or token: drop it when the id has a row of its own, else re-key it to the id. Either way the
 * old client's notifications go.
 */
export function tokenTakeover(rows: readonly HeldRow[], client: Client): TokenTakeover {
  const holder = rows.find((row) => row.token === client.token && row.id !== client.id);
  if (!holder) return { kind: "none" };
  return rows.some((row) => row.id === client.id) ? { kind: "drop", id: holder.id } : { kind: "rekey", id: holder.id };
}

/** An error's own words: a refused connection to a host with two addresses is an AggregateError with no message. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    return [...new Set(error.errors.map(describeError))].join("; ");
  }
  if (error instanceof Error) return error.message || (error as NodeJS.ErrnoException).code || error.name;
  return String(error);
}
