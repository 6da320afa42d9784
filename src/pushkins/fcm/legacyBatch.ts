/**
 * FCM legacy sends one request for all the devices of a notification that go to the same app, as Sygnal does. The
 * dispatcher hands devices to the pushkin one by one, in one synchronous pass; the first device of a notification
 * opens a batch, the others join it in the same pass, and the batch is sent once that pass is over. Each device still
 * gets its own outcome, so `rejected` keeps the order of the devices.
 */
import type { DeviceOutcome } from "../../core/pushkin.js";

export interface BatchEntry<T> {
  pushkey: string;
  /** What the caller needs to send the batch; Sygnal builds the message from the first device's. */
  details: T;
  resolve(outcome: DeviceOutcome): void;
  reject(error: unknown): void;
}

export class LegacyBatcher<K extends object, T> {
  private readonly open = new WeakMap<K, BatchEntry<T>[]>();

  constructor(private readonly send: (entries: BatchEntry<T>[]) => Promise<void>) {}

  /** The outcome for this pushkey, once the batch of `key` (the notification) has been sent. */
  join(key: K, pushkey: string, details: T): Promise<DeviceOutcome> {
    return new Promise((resolve, reject) => {
      let entries = this.open.get(key);
      if (!entries) {
        const batch: BatchEntry<T>[] = [];
        entries = batch;
        this.open.set(key, batch);
        queueMicrotask(() => {
          this.open.delete(key);
          this.send(batch).catch((error: unknown) => batch.forEach((entry) => entry.reject(error)));
        });
      }
      entries.push({ pushkey, details, resolve, reject });
    });
  }
}
