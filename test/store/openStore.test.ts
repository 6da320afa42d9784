/** Opening a registry: where SQLite keeps its file, what a failure to open says, and SQLite shared by processes. */
import assert from "node:assert/strict";
import { chmodSync, existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { openStore, StoreOpenError } from "../../src/store/index.js";
import { loadSqliteDriver, sqliteDriverName } from "../../src/store/sqlite/driver.js";
import { tempDir } from "../helpers/tempDir.js";
import type { RaceOrder } from "./sqliteWorker.js";

const directory = tempDir(after, "herald-open-store-");

function isOpenError(pattern: RegExp) {
  return (error: unknown) => error instanceof StoreOpenError && pattern.test(error.message);
}

test("the SQLite driver is better-sqlite3 13 from Node 22 on, and 12 (better-sqlite3-node20) on Node 20", () => {
  assert.equal(sqliteDriverName("20.18.0"), "better-sqlite3-node20");
  assert.equal(sqliteDriverName("22.0.0"), "better-sqlite3");
  assert.equal(sqliteDriverName("24.21.0"), "better-sqlite3");
});

describe("the SQLite registry's file", () => {
  test("is created with its missing directories, in WAL mode", async () => {
    const path = join(directory, "data", "herald", "registry.sqlite3");
    const store = await openStore({ kind: "sqlite", path });
    await store.close();
    assert.ok(existsSync(path));
    const Driver = await loadSqliteDriver();
    const db = new Driver(path, { readonly: true });
    assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
    db.close();
  });

  test("is created readable by its owner alone (device tokens), and so are its journal files; an existing file keeps its mode", async () => {
    const path = join(directory, "private", "registry.sqlite3");
    const store = await openStore({ kind: "sqlite", path });
    await store.registerClient({ tenant: "", id: "c1", type: "fcm", token: "t1", alwaysRaw: false });
    assert.equal(statSync(join(directory, "private")).mode & 0o777, 0o700);
    for (const file of readdirSync(join(directory, "private"))) {
      assert.equal(statSync(join(directory, "private", file)).mode & 0o777, 0o600, file);
    }
    await store.close();

    const shared = join(directory, "shared.sqlite3");
    writeFileSync(shared, "", { mode: 0o640 });
    chmodSync(shared, 0o640);
    await (await openStore({ kind: "sqlite", path: shared })).close();
    assert.equal(statSync(shared).mode & 0o777, 0o640);
  });

  test("a directory that cannot be made stops opening, naming the path and the reason", async () => {
    const file = join(directory, "a-file");
    writeFileSync(file, "");
    await assert.rejects(
      openStore({ kind: "sqlite", path: join(file, "data", "registry.sqlite3") }),
      isOpenError(/^cannot create the registry's SQLite database .*a-file.* \(or its directory\): .*ENOTDIR/),
    );
  });

  test("a path that is not a database stops opening, naming the path and the reason", async () => {
    const notDatabase = join(directory, "not-a-database");
    writeFileSync(notDatabase, "plain text, long enough to fill the header of a database file".repeat(10));
    await assert.rejects(
      openStore({ kind: "sqlite", path: notDatabase }),
      isOpenError(/^cannot open the registry's SQLite database .*not-a-database: file is not a database/),
    );
    await assert.rejects(
      openStore({ kind: "sqlite", path: directory }),
      isOpenError(/^cannot open the registry's SQLite database .*: unable to open database file/),
    );
  });

  test("threads sharing the file register one token and record the same messages at once, without a busy error", async () => {
    const path = join(directory, "shared.sqlite3");
    const setup = await openStore({ kind: "sqlite", path });
    await setup.registerClient({ tenant: "", id: "wallet", type: "apns", token: "wallet-token", alwaysRaw: false });
    const threads = 4;
    const messages = 30;
    const start = new SharedArrayBuffer(4);
    const workers = Array.from({ length: threads }, (_, thread) => {
      const order: RaceOrder = { path, thread, registrations: 30, messages, start };
      return new Worker(new URL("./sqliteWorker.js", import.meta.url), { workerData: order });
    });
    // A worker says "ready" once its store is open, then blocks until all are let go at once.
    await Promise.all(workers.map((worker) => once(worker, "message")));
    const results = workers.map(async (worker) => (await once(worker, "message"))[0] as string[]);
    Atomics.store(new Int32Array(start), 0, 1);
    Atomics.notify(new Int32Array(start), 0);
    const outcomes = await Promise.all(results);

    for (let message = 0; message < messages; message++) {
      const firsts = outcomes.filter((thread) => thread[message] === "new");
      assert.equal(firsts.length, 1, `message-${message} was new in ${firsts.length} threads`);
    }
    assert.equal(await setup.countClients(), 2); // the wallet, and the one thread id left holding the shared token
    await setup.close();
  });
});

describe("an unreachable PostgreSQL", () => {
  test("stops opening with a message naming the server, without its password", async () => {
    const server = createServer().listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    server.close();
    const url = `postgres://herald:s3cret@127.0.0.1:${port}/herald`;
    await assert.rejects(openStore({ kind: "postgres", url }), (error: unknown) => {
      assert.ok(error instanceof StoreOpenError);
      assert.match(
        error.message,
        new RegExp(
          `^cannot open the registry's PostgreSQL database postgres://herald:\\*\\*\\*@127\\.0\\.0\\.1:${port}/herald .*ECONNREFUSED`,
        ),
      );
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
  });

  test("a schema name PostgreSQL cannot hold is refused before connecting", async () => {
    await assert.rejects(
      openStore({ kind: "postgres", url: "postgres://127.0.0.1:1/herald", schema: "x".repeat(64) }),
      isOpenError(/schema 'x+' is not a usable name/),
    );
  });
});
