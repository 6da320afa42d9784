/**
 * Dispatches one notification to the pushkins of its devices and decides what the homeserver is told.
 *
 * Devices are dispatched concurrently and `rejected` keeps their order. One deadline covers the whole request,
 * provider retries included. Before anything is sent, every pushkin involved must have room under its
 * `inflight_request_limit` for all of its devices, so that an overloaded request is refused whole (503) instead of
 * half-sent. A device already delivered this event (duplicate suppression) is answered at once; a pushkey a provider
 * declared dead (dead-token cache) is rejected again without asking the provider.
 *
 * A device that fails does not fail the others: they are sent all the same, and the delivered ones are remembered
 * (duplicate suppression), so that the homeserver's retry of the 502 pushes only what failed. Where a device chose
 * where it is pushed (`Pushkin.deviceOrigin`), its failures are its origin's (core/deviceOrigins.ts), not the app's.
 */
import type { Logger } from "pino";
import type { ErrorReports } from "../observability/errorReports.js";
import { shortPushkey } from "../observability/logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import { DeviceSpan, type AnsweredBy, type TraceParent } from "../observability/spans.js";
import type { CallResult, CircuitBreaker } from "./circuitBreaker.js";
import { publicReasonOf } from "./publicReason.js";
import { MAX_DATA_DEPTH, nestsDeeperThan } from "./nesting.js";
import type { DispatchMemory, Learned } from "./dispatchMemory.js";
import type { CredentialHealth } from "./credentialHealth.js";
import { shownOrigin, type DeviceOrigins } from "./deviceOrigins.js";
import type { InflightLimiter } from "./inflightLimiter.js";
import type { Device, Notification } from "./notification.js";
import { LISTENERS_PER_DEVICE, startDeadline } from "./deadline.js";
import { deliveryKey, tokenKey } from "./memoryKeys.js";
import {
  CredentialFailure,
  isDispatchFailure,
  TemporaryFailure,
  type DeviceOutcome,
  type DispatchContext,
  type Pushkin,
} from "./pushkin.js";
import type { AppRouter } from "./routing.js";

export interface PushkinEntry {
  pushkin: Pushkin;
  /** The app's `type`, for its spans. */
  type: string;
  limiter: InflightLimiter;
  /** The app's breaker; absent when `circuit_breaker.enabled` is off, or when `origins` keeps breakers instead. */
  breaker: CircuitBreaker | undefined;
  /** Present when the pushkin's devices choose where they are pushed (`deviceOrigin`): breakers and refusals by origin. */
  origins: DeviceOrigins | undefined;
}

export type DispatchResult =
  | { status: 200; rejected: string[] }
  /** Over a pushkin's in-flight limit: nothing was sent. */
  | { status: 503; reason: string; retryAfter: number }
  /** A provider or credential failure: the homeserver should retry. */
  | { status: 502; reason: string; retryAfter: number | undefined }
  /** A bug in Herald or in a pushkin. */
  | { status: 500; reason: string };

export interface DispatcherOptions {
  router: AppRouter<PushkinEntry>;
  metrics: GatewayMetrics;
  /** Duplicate suppression and the dead-token cache: this process's, or shared (`dispatchMemory.ts`). */
  memory: DispatchMemory;
  credentials: CredentialHealth;
  /** seconds */
  requestDeadline: number;
  /** Where a pushkin's unexpected errors (500) are reported (`metrics.sentry`); none when absent. */
  errorReports?: ErrorReports;
}

/** A failure's `origin` is set when it is the device's chosen origin's, not the app's. */
type Settled = DeviceOutcome | { kind: "failed"; error: unknown; origin?: string };

/** A device that still has to be sent, or what became of it without sending, and who decided. */
type Plan =
  { device: Device; entry: PushkinEntry } | { device: Device; entry?: PushkinEntry; settled: Settled; by: AnsweredBy };

/** Who the request is: its id, its logger, and its span when tracing is on. */
export interface DispatchRequest {
  requestId: string;
  log: Logger;
  trace?: TraceParent;
}

const OVERLOAD_RETRY_AFTER = 1;

export class Dispatcher {
  constructor(private readonly options: DispatcherOptions) {}

  /** `request.log` is read only when there is something to log: it may be made on first use. */
  async dispatch(notification: Notification, request: DispatchRequest): Promise<DispatchResult> {
    const { metrics } = this.options;
    metrics.devicesReceived.inc(notification.devices.length);
    const { devices } = notification;
    const suppress = suppressible(notification.event_id);
    // The deadline covers asking the memory too: a shared memory that is slow to answer takes from the providers' time.
    const deadline = startDeadline(this.options.requestDeadline, devices.length * LISTENERS_PER_DEVICE);
    try {
      const keys: MemoryKeys = {
        tokens: devices.map(tokenKey),
        deliveries: suppress ? devices.map((device) => deliveryKey(notification.event_id!, device)) : [],
      };
      const recollection = await this.options.memory.recall(keys.tokens, keys.deliveries);
      const plans = devices.map((device, i) =>
        this.plan(device, request, recollection.dead[i] === true, suppress && recollection.delivered[i] === true),
      );

      const overloaded = this.acquireSlots(plans);
      if (overloaded) {
        metrics.forPushkin(overloaded).inflightLimitDrop.inc();
        request.log.warn({ pushkin: overloaded }, "Too many in-flight requests for this pushkin; answering 503");
        return {
          status: 503,
          reason: `the pushkin '${overloaded}' is at its inflight_request_limit`,
          retryAfter: OVERLOAD_RETRY_AFTER,
        };
      }

      const ctx = dispatchContext(request, deadline.signal, deadline.at);
      const settled = await Promise.all(
        plans.map((plan) =>
          request.trace
            ? this.traced(notification, plan, ctx, deadline.passed, request.trace)
            : "settled" in plan
              ? plan.settled
              : this.send(notification, plan.device, plan.entry, ctx, deadline.passed),
        ),
      );
      this.options.memory.learn(learnedFrom(plans, settled, keys));
      return this.answer(notification.devices, settled, request);
    } finally {
      deadline.clear();
    }
  }

  private plan(device: Device, request: { log: Logger }, knownDead: boolean, alreadyDelivered: boolean): Plan {
    const route = this.options.router.route(device.app_id);
    if (route.kind === "unknown") {
      request.log.info({ app_id: device.app_id }, "Got notification for unknown app ID");
      return { device, settled: { kind: "rejected", why: "no app matches its app_id" }, by: "routing" };
    }
    if (route.kind === "ambiguous") {
      request.log.info({ app_id: device.app_id, matches: route.matches }, "Got notification for an ambiguous app ID");
      return { device, settled: { kind: "rejected", why: "its app_id matches several app globs" }, by: "routing" };
    }
    const entry = route.target;
    const name = entry.pushkin.name;
    if (device.data !== undefined && nestsDeeperThan(device.data, MAX_DATA_DEPTH)) {
      // Its data is the pusher's, the same at every push: it can never be served.
      const why = `its data nests deeper than ${MAX_DATA_DEPTH} levels`;
      return { device, entry, settled: { kind: "rejected", why }, by: "routing" };
    }
    if (knownDead) {
      this.options.metrics.forPushkin(name).deadTokenHits.inc();
      const why = "the provider declared this pushkey dead earlier";
      return { device, entry, settled: { kind: "rejected", why }, by: "dead_token_cache" };
    }
    if (alreadyDelivered) {
      this.options.metrics.forPushkin(name).duplicatesSuppressed.inc();
      request.log.debug(
        { pushkin: name, pushkey: shortPushkey(device.pushkey) },
        "Already delivered this event to the device",
      );
      return { device, entry, settled: { kind: "delivered" }, by: "duplicate_suppression" };
    }
    return { device, entry };
  }

  /** Takes the in-flight slots of every device to send, all or none; returns the pushkin that had no room. */
  private acquireSlots(plans: Plan[]): string | undefined {
    const needed = new Map<PushkinEntry, number>();
    for (const plan of plans) {
      if (!("settled" in plan)) needed.set(plan.entry, (needed.get(plan.entry) ?? 0) + 1);
    }
    const taken: [PushkinEntry, number][] = [];
    for (const [entry, count] of needed) {
      if (!entry.limiter.tryAcquire(count)) {
        for (const [done, n] of taken) done.limiter.release(n);
        return entry.pushkin.name;
      }
      taken.push([entry, count]);
    }
    return undefined;
  }

  /** A device under its span: the span's context goes to the pushkin, for its provider requests' spans. */
  private async traced(
    notification: Notification,
    plan: Plan,
    ctx: DispatchContext,
    deadlinePassed: Promise<never>,
    parent: TraceParent,
  ): Promise<Settled> {
    const { device, entry } = plan;
    const span = DeviceSpan.start(parent, device.app_id, entry && { name: entry.pushkin.name, type: entry.type });
    if ("settled" in plan) {
      span.end(plan.settled.kind, "error" in plan.settled ? plan.settled.error : undefined, plan.by);
      return plan.settled;
    }
    const traced = dispatchContext(ctx, ctx.signal, ctx.deadline, span.trace);
    const settled = await this.send(notification, device, plan.entry, traced, deadlinePassed, span);
    span.end(settled.kind, "error" in settled ? settled.error : undefined);
    return settled;
  }

  private async send(
    notification: Notification,
    device: Device,
    entry: PushkinEntry,
    ctx: DispatchContext,
    deadlinePassed: Promise<never>,
    span?: DeviceSpan,
  ): Promise<Settled> {
    const { metrics } = this.options;
    const name = entry.pushkin.name;
    const counters = metrics.forPushkin(name);
    // Where the device chose the server it is pushed to, that origin's breaker decides, not the app's.
    let origin: string | undefined;
    try {
      origin = (entry.origins && entry.pushkin.deviceOrigin?.(device)) || undefined;
    } catch (error) {
      // A pushkin's bug: its slot is given back, and the request answers 500 as for any other.
      entry.limiter.release();
      counters.outcomes.failed.inc();
      return { kind: "failed", error };
    }
    const pass = origin === undefined ? entry.breaker?.pass() : entry.origins?.pass(origin);
    if (pass?.allowed === false) {
      entry.limiter.release();
      (origin ? counters.originShortCircuited : counters.shortCircuited).inc();
      const seconds = Math.ceil(pass.retryAfterMs / 1000);
      span?.circuitOpen(origin ? "origin" : "app", seconds);
      const what = origin ? `the push service at ${shownOrigin(origin)}` : `the provider of '${name}'`;
      const open = `keeps failing: its circuit breaker is open, trying again in ${seconds}s`;
      // The device's own push service is not named in the answer: its address is the log's.
      const error = new TemporaryFailure(`${what} ${open}`, {
        retryAfter: seconds,
        publicReason: `${origin ? "the device's push service" : `the provider of '${name}'`} ${open}`,
      });
      counters.outcomes.failed.inc();
      return { kind: "failed", error, origin };
    }
    counters.handedOver.inc();
    let attempt: Promise<DeviceOutcome>;
    try {
      attempt = entry.pushkin.dispatch(notification, device, ctx);
    } catch (error) {
      attempt = Promise.reject(error);
    }
    // The slot is held until the pushkin really finishes, even past the deadline: the limit bounds real work.
    attempt.then(
      (outcome) => {
        entry.limiter.release();
        // A custom pushkin that resolves to nothing is a bug reported below, not a crash here.
        pass?.done(outcome?.kind === "skipped" ? "not-sent" : "answered");
      },
      (error: unknown) => {
        entry.limiter.release();
        // The app's own fault says nothing of the origin, which was not asked.
        pass?.done(origin && isAppFault(error) ? "not-sent" : callResultOf(error));
      },
    );

    let settled: Settled;
    try {
      settled = await Promise.race([attempt, deadlinePassed]);
      if (!isOutcome(settled))
        throw new TypeError(`the pushkin '${name}' resolved to ${String(settled)}, not an outcome`);
    } catch (error) {
      settled = { kind: "failed", error };
    }
    counters.outcomes[settled.kind].inc();
    if (settled.kind === "failed") {
      settled = this.blame(entry, origin, settled.error);
    } else if (settled.kind === "delivered" || (settled.kind === "rejected" && !entry.origins)) {
      // A rejection by a push service the device chose proves nothing of the app's credentials; a delivery does.
      entry.origins?.delivered();
      this.options.credentials.accepted(name);
    }
    return settled;
  }

  /** Counts a device's failure against the origin it chose, or else against the app. */
  private blame(entry: PushkinEntry, origin: string | undefined, error: unknown): Settled {
    const name = entry.pushkin.name;
    if (entry.origins && origin && isDispatchFailure(error) && !isAppFault(error)) {
      const evidence = entry.origins.failed(origin, error);
      if (evidence) this.options.credentials.problem(name, evidence);
      return { kind: "failed", error, origin };
    }
    if (error instanceof CredentialFailure) this.options.credentials.pushFailed(name, error);
    return { kind: "failed", error };
  }

  private answer(devices: Device[], settled: Settled[], request: { log: Logger }): DispatchResult {
    const rejected: string[] = [];
    let failure: Error | undefined;
    let bug: unknown;
    settled.forEach((outcome, i) => {
      if (outcome.kind === "delivered") return;
      const device = devices[i]!;
      const fields = { app_id: device.app_id, pushkey: shortPushkey(device.pushkey) };
      if (outcome.kind === "rejected") {
        request.log.info({ ...fields, why: outcome.why }, "Pushkey rejected");
        rejected.push(device.pushkey);
      } else if (outcome.kind === "skipped") {
        request.log.debug({ ...fields, why: outcome.why }, "Nothing to send");
      } else if (outcome.kind === "failed") {
        const { error } = outcome;
        if (isDispatchFailure(error)) {
          const origin = outcome.origin === undefined ? {} : { origin: shownOrigin(outcome.origin) };
          request.log.warn({ ...fields, ...origin, err: error }, "Dispatch failed");
          failure ??= error;
        } else {
          request.log.error({ ...fields, err: error }, "Unexpected error while dispatching");
          // Any of the request's pushkeys may be in the error's text: none is sent whole.
          this.options.errorReports?.unexpected(error, {
            log: request.log,
            tags: { app_id: device.app_id },
            secrets: devices.map((d) => d.pushkey),
          });
          bug ??= error;
        }
      }
    });
    if (bug !== undefined) return { status: 500, reason: "internal error" };
    if (failure) {
      const retryAfter = settled
        .map((s) =>
          s.kind === "failed" && isDispatchFailure(s.error) && "retryAfter" in s.error ? s.error.retryAfter : undefined,
        )
        .reduce<number | undefined>((max, s) => (s === undefined ? max : Math.max(max ?? 0, s)), undefined);
      return { status: 502, reason: publicReasonOf(failure), retryAfter };
    }
    if (rejected.length > 0)
      request.log.info({ rejected: rejected.length }, "Delivered notification with rejected pushkeys");
    return { status: 200, rejected };
  }
}

/** What a pushkin is given; the request's logger is read only when the pushkin logs (it may be made on first use). */
function dispatchContext(
  request: { readonly requestId: string; readonly log: Logger },
  signal: AbortSignal,
  deadline: number,
  trace?: TraceParent,
): DispatchContext {
  return {
    requestId: request.requestId,
    signal,
    deadline,
    get log() {
      return request.log;
    },
    trace,
  };
}

/** A failure the pushkin says is the app's own, although its device chose where it is pushed (see `appFault`). */
function isAppFault(error: unknown): boolean {
  return error instanceof Error && (error as { appFault?: unknown }).appFault === true;
}

const OUTCOME_KINDS = new Set(["delivered", "rejected", "skipped"]);

function isOutcome(value: unknown): value is DeviceOutcome {
  return typeof value === "object" && value !== null && OUTCOME_KINDS.has((value as { kind?: unknown }).kind as string);
}

/** Only a transient failure says the provider is unwell; a bug of ours says nothing about it. */
function callResultOf(error: unknown): CallResult {
  if (error instanceof TemporaryFailure || (error instanceof Error && error.name === "TemporaryFailure"))
    return "transient-failure";
  return isDispatchFailure(error) ? "answered" : "not-sent";
}

/**
 * Element's clients test push by sending the gateway a notification with this fixed event id, as often as the user
 * presses the button: each must be pushed, or the second test seems to fail.
 */
const TEST_PUSH_EVENT_ID = "$THIS_IS_A_FAKE_EVENT_ID";

function suppressible(eventId: string | undefined): eventId is string {
  return eventId !== undefined && eventId !== TEST_PUSH_EVENT_ID;
}

/** The memory's keys of a request's devices, by index; `deliveries` is empty when the event is not suppressible. */
interface MemoryKeys {
  tokens: string[];
  deliveries: string[];
}

/** What the providers said in this request: the devices they took the event for, the tokens they declared dead. */
function learnedFrom(plans: Plan[], settled: Settled[], keys: MemoryKeys): Learned {
  const learned: Learned = { dead: [], delivered: [] };
  settled.forEach((outcome, i) => {
    // Outcomes decided without a provider (an unknown app, a remembered token or delivery) teach nothing new.
    if ("settled" in plans[i]!) return;
    const delivery = keys.deliveries[i];
    if (outcome.kind === "delivered" && delivery !== undefined) learned.delivered.push(delivery);
    else if (outcome.kind === "rejected") learned.dead.push(keys.tokens[i]!);
  });
  return learned;
}
