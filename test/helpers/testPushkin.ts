/**
 * A custom pushkin for testing the core without a provider, loaded by path as any custom pushkin is.
 * What it does depends on the pushkey (the first word before ':'):
 *
 *   accept                    delivered
 *   reject                    rejected (the provider said the token is dead)
 *   skip                      skipped (nothing to send)
 *   remote_error              PermanentFailure
 *   credentials_refused       CredentialFailure: the provider refused the credentials
 *   app_key_broken            CredentialFailure with `appFault`: the app's own key is at fault
 *   temporary_remote_error    TemporaryFailure; `temporary_remote_error:N` carries Retry-After N
 *   raise_exception           a plain Error (a bug)
 *   careless_exception        a plain Error whose message holds the whole pushkey, as a careless pushkin's might
 *   slow:MS                   delivered after MS milliseconds (or the deadline)
 *   stubborn:MS               delivered after MS milliseconds, ignoring the deadline
 *   hang                      never answers; fails when the deadline aborts it
 *   barrier:N                 waits until N barrier devices are in flight at once, then delivered
 *   anything else             delivered
 *
 * With `device_origins: true` in its app's config, each device chooses where it is pushed, as WebPush subscriptions
 * do: its `data.origin` (see `Pushkin.deviceOrigin`); `data.origin: "throw"` makes `deviceOrigin` throw (a bug).
 * With `fail_credential_check: true`, `credentialProblem` throws (a bug at start-up).
 *
 * Every call is recorded in `calls`, so tests in the same process see what reached the "provider", and logged, so
 * that tests of a `herald serve` process can wait for it.
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  CredentialFailure,
  PermanentFailure,
  TemporaryFailure,
  type DeviceOutcome,
  type Pushkin,
  type PushkinSetup,
} from "../../src/core/pushkin.js";

export interface Call {
  pushkin: string;
  pushkey: string;
  eventId: string | undefined;
  /** The deadline aborted it while it was still running. */
  aborted: boolean;
  finished: boolean;
}

export const calls: Call[] = [];
const barrierWaiters: (() => void)[] = [];

export function resetCalls(): void {
  calls.length = 0;
}

export function createPushkin(setup: PushkinSetup): Pushkin {
  if (setup.config.fail_setup === true) throw new Error("this test pushkin was told to fail at setup");
  return {
    name: setup.name,
    async dispatch(notification, device, ctx): Promise<DeviceOutcome> {
      const call: Call = {
        pushkin: setup.name,
        pushkey: device.pushkey,
        eventId: notification.event_id,
        aborted: false,
        finished: false,
      };
      calls.push(call);
      ctx.log.info("test pushkin: dispatching");
      const onAbort = () => (call.aborted = true);
      ctx.signal.addEventListener("abort", onAbort, { once: true });
      try {
        return await behave(device.pushkey, ctx.signal);
      } finally {
        call.finished = true;
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },
    async close() {},
    ...(setup.config.device_origins === true && {
      deviceOrigin: (device) => {
        if (device.data?.origin === "throw") throw new Error("test: deviceOrigin failed");
        return typeof device.data?.origin === "string" ? device.data.origin : undefined;
      },
    }),
    ...(setup.config.fail_credential_check === true && {
      credentialProblem: () => {
        throw new Error("test: the credential check failed");
      },
    }),
  };
}

async function behave(pushkey: string, signal: AbortSignal): Promise<DeviceOutcome> {
  const [word, arg] = pushkey.split(":");
  switch (word) {
    case "reject":
      return { kind: "rejected", why: "test: dead token" };
    case "skip":
      return { kind: "skipped", why: "test: nothing to send" };
    case "remote_error":
      throw new PermanentFailure("test: remote error");
    case "credentials_refused":
      throw new CredentialFailure("test: credentials refused", { fix: "test: use other credentials" });
    case "app_key_broken":
      throw new CredentialFailure("test: the app's key is broken", { fix: "test: mend the key", appFault: true });
    case "temporary_remote_error":
      throw new TemporaryFailure("test: temporary remote error", arg ? { retryAfter: Number(arg) } : {});
    case "raise_exception":
      throw new Error("test: unexpected exception");
    case "resolve_nothing":
      // A pushkin's bug: a promise that resolves to no outcome at all.
      return null as unknown as DeviceOutcome;
    case "careless_exception":
      throw new Error(`test: unexpected exception for ${pushkey}`);
    case "slow":
      await sleep(Number(arg), undefined, { signal }).catch(() => {
        throw new TemporaryFailure("test: aborted");
      });
      return { kind: "delivered" };
    case "stubborn":
      await sleep(Number(arg));
      return { kind: "delivered" };
    case "hang":
      return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
    case "barrier": {
      await new Promise<void>((resolve) => {
        barrierWaiters.push(resolve);
        if (barrierWaiters.length >= Number(arg)) barrierWaiters.splice(0).forEach((wake) => wake());
      });
      return { kind: "delivered" };
    }
    default:
      return { kind: "delivered" };
  }
}
