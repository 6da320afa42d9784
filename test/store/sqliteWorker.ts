/**
 * One of several threads sharing a SQLite registry file, as Herald's worker processes do (openStore.test.ts). It
 * opens the store, waits until every thread is ready, then races the others: registrations of one token under ids of
 * its own, and recordings of the same messages. It answers with its recording outcomes.
 */
import { parentPort, workerData } from "node:worker_threads";
import { openStore } from "../../src/store/index.js";

export interface RaceOrder {
  path: string;
  thread: number;
  registrations: number;
  messages: number;
  /** Every thread waits on this until the main thread lets them all go at once. */
  start: SharedArrayBuffer;
}

const order = workerData as RaceOrder;
const store = await openStore({ kind: "sqlite", path: order.path });
parentPort?.postMessage("ready");
Atomics.wait(new Int32Array(order.start), 0, 0);

const outcomes = [];
for (let i = 0; i < Math.max(order.registrations, order.messages); i++) {
  if (i < order.registrations) {
    await store.registerClient({
      tenant: "",
      id: `thread-${order.thread}-${i}`,
      type: "fcm",
      token: "shared-token",
      alwaysRaw: false,
    });
  }
  if (i < order.messages) outcomes.push(await store.recordNotification("", "wallet", `message-${i}`, "{}", Date.now()));
}
await store.close();
parentPort?.postMessage(outcomes);
