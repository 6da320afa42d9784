/**
 * The pushkin contract: what every provider integration (built in or custom) implements.
 *
 * A pushkin turns one device of one notification into a provider request and says what became of it. It reports a
 * dead token as `rejected`, a push with nothing to say as `skipped`, and throws for everything that must not delete a
 * pusher: `TemporaryFailure` when the provider could not be reached or asked us to come back, `PermanentFailure` when
 * the request can never succeed as configured (bad credentials, a refused topic). Both become a 502 for the homeserver,
 * which retries; anything else thrown is treated as a bug in Herald and answers 500.
 */
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { Device, JsonObject, Notification } from "./notification.js";
import type { ProxyConfig } from "../config/proxy.js";
import type { TraceParent } from "../observability/spans.js";

export type DeviceOutcome =
  { kind: "delivered" } | { kind: "skipped"; why: string } | { kind: "rejected"; why: string };

export interface DispatchContext {
  /** Ties the log lines of one /notify request together. */
  readonly requestId: string;
  /** Aborted when the request's deadline passes; pass it to every outbound request. */
  readonly signal: AbortSignal;
  /** Epoch milliseconds after which no more attempts should start (retries included). */
  readonly deadline: number;
  readonly log: Logger;
  /** The device's span while tracing is on: Herald's provider clients make their requests' spans under it. */
  readonly trace?: TraceParent;
}

/**
 * What a provider client needs to deliver one push, whichever surface asked (/notify, push-relay's /push, the
 * WalletConnect API): when to stop trying, and a logger made only when there is something to log.
 */
export interface DeliveryContext {
  readonly signal: AbortSignal;
  /** Epoch milliseconds after which no more attempts start. */
  readonly deadline: number;
  readonly log: () => Logger;
  /** Where the spans of its provider requests go, while tracing is on. */
  readonly trace?: TraceParent;
}

/** A provider client's answer for one push; its failures are thrown, as a pushkin's are. */
export type Delivery = { kind: "delivered" } | { kind: "rejected"; why: string };

export interface Pushkin {
  /** The config key of the app (an app id or a glob); the `pushkin` label of the metrics. */
  readonly name: string;
  dispatch(notification: Notification, device: Device, ctx: DispatchContext): Promise<DeviceOutcome>;
  /** Drain and close connections on shutdown. */
  close(): Promise<void>;
  /**
   * Optional: a problem with the app's credentials that shows without asking the provider (a file that could not be
   * loaded, a certificate past its expiry). Asked at start-up and every hour, for the logs and the metrics.
   */
  credentialProblem?(): CredentialFailure | undefined;
  /**
   * Optional, for a pushkin whose devices choose where they are pushed (WebPush: each subscription names its push
   * service): the origin (scheme://host:port) this device's pushes go to, or undefined when it names none (then nothing
   * is sent). A failure of such a device is its origin's, not the app's: the circuit breaker is that origin's
   * (core/deviceOrigins.ts), and a refusal there is no evidence against the app's credentials on its own. A failure
   * that is the app's own all the same (its key cannot be used) is thrown with `appFault`.
   */
  deviceOrigin?(device: Device): string | undefined;
}

/** What a pushkin factory is given when Herald builds it at start-up. */
export interface PushkinSetup {
  readonly name: string;
  /** The app's section of the config, as written (with `type`). */
  readonly config: JsonObject;
  /** The directory of the config file: relative paths in the app's config resolve against it. */
  readonly configDir: string;
  /** The outbound HTTP CONNECT proxy (`proxy`, else `HTTPS_PROXY`), if any. */
  readonly proxy: ProxyConfig | undefined;
  readonly metrics: Registry;
  readonly log: Logger;
}

export type PushkinFactory = (setup: PushkinSetup) => Pushkin | Promise<Pushkin>;

/** What the provider answered, when a failure comes from an answer (not from a connection that failed). */
export interface ProviderAnswer {
  status: number;
  /** The provider's own word for it: APNs' `reason`, FCM's error code, HMS's business code. */
  reason?: string;
}

interface FailureOptions {
  answer?: ProviderAnswer;
  cause?: unknown;
  /**
   * For a pushkin with `deviceOrigin`: the app itself is at fault (its key cannot be used), not the origin the device
   * chose, so the failure counts against the app. Meaningless for other pushkins, whose failures are all the app's.
   */
  appFault?: boolean;
  /** What the homeserver's answer may say (`publicReason.ts`), when the message is fit to be read outside. */
  publicReason?: string;
}

/** The provider could not be reached, timed out, or asked us to retry later. */
export class TemporaryFailure extends Error {
  override readonly name = "TemporaryFailure";
  /** Seconds the provider asked us to wait (`Retry-After`), when it said. */
  readonly retryAfter: number | undefined;
  readonly answer: ProviderAnswer | undefined;
  readonly appFault: boolean;
  /** What the homeserver's answer may say (`publicReason.ts`), when the message is fit to be read outside. */
  readonly publicReason: string | undefined;
  constructor(message: string, options: FailureOptions & { retryAfter?: number } = {}) {
    super(message, { cause: options.cause });
    this.retryAfter = options.retryAfter;
    this.answer = options.answer;
    this.appFault = options.appFault ?? false;
    this.publicReason = options.publicReason;
  }
}

/** The request cannot succeed as configured: credentials, topic, a malformed request. Never a dead token. */
export class PermanentFailure extends Error {
  override readonly name = "PermanentFailure";
  readonly answer: ProviderAnswer | undefined;
  readonly appFault: boolean;
  /** What the homeserver's answer may say (`publicReason.ts`), when the message is fit to be read outside. */
  readonly publicReason: string | undefined;
  constructor(message: string, options: FailureOptions = {}) {
    super(message, { cause: options.cause });
    this.answer = options.answer;
    this.appFault = options.appFault ?? false;
    this.publicReason = options.publicReason;
  }
}

/**
 * The app's credentials cannot be used: the provider refused them, or they are unreadable or expired. Every push of
 * the app fails the same way until an operator acts, so `fix` says what to do, in plain words.
 */
export class CredentialFailure extends PermanentFailure {
  readonly fix: string;
  /** The message goes on with the fix, in every log line of the failure; the homeserver's 502 says less. */
  constructor(message: string, options: FailureOptions & { fix: string }) {
    super(`${message}; to fix: ${options.fix}`, options);
    this.fix = options.fix;
  }
}

/** A pushkin's configuration is unusable; raised while building it, it stops start-up. */
export class PushkinSetupError extends Error {
  override readonly name: string = "PushkinSetupError";
}

/**
 * A credential file (key, certificate, service account) is missing or unusable. `check-config` stops on it like on
 * any setup error; `serve` starts without the app instead, answering its pushes 502, so that one app's broken file
 * does not stop every other app's pushes.
 */
export class CredentialFileError extends PushkinSetupError {
  override readonly name = "CredentialFileError";
}

/**
 * Whether an error is one of the two expected failures. By name as well as by class: a custom pushkin installed as
 * its own package may carry its own copy of these classes.
 */
export function isDispatchFailure(error: unknown): error is TemporaryFailure | PermanentFailure {
  return (
    error instanceof TemporaryFailure ||
    error instanceof PermanentFailure ||
    (error instanceof Error && (error.name === "TemporaryFailure" || error.name === "PermanentFailure"))
  );
}
