/**
 * Herald's Sentry client, loaded only when `metrics.sentry` is enabled (errorReports.ts).
 *
 * It is `@sentry/node`'s `NodeClient`, built directly rather than through `Sentry.init`: it is this Herald's own, in no
 * global scope, so nothing else in the process (another Herald in a test, an OpenTelemetry SDK) sees or shares it,
 * and none of init's default integrations is set up. Those would wrap the console, `http`, `fetch` and the process's
 * exception handlers, read the source and local variables of the frames, and attach request data, and the SDK's
 * runtime channel injection would hook the module loader to patch libraries; Herald wants none of it. The one
 * integration kept, linked errors, adds an error's `cause` chain to its event. No tracing: no sample rate is set,
 * and Sentry's OpenTelemetry setup stays off, leaving OpenTelemetry to whoever configures it.
 *
 * Every event passes through `scrubbed` before it leaves: only the error's types, messages (with the request's
 * pushkeys shortened, and anything that looks like a token or key redacted) and stack frames (file, function, line),
 * the tags, the release and the runtime are kept. Never a request body, header, pushkey, token or secret.
 */
import { readFileSync } from "node:fs";
import {
  defaultStackParser,
  linkedErrorsIntegration,
  makeNodeTransport,
  NodeClient,
  Scope,
  type ErrorEvent,
  type NodeOptions,
  type EventHint,
  type Exception,
  type StackFrame,
} from "@sentry/node";
import type { Logger } from "pino";
import type { ProxyConfig } from "../config/proxy.js";
import type { ErrorReport, ErrorReports } from "./errorReports.js";
import { shortPushkey } from "./logger.js";

/** The bindings of a logger that become tags: they say which request, app and worker; none is secret. */
const TAGGED_BINDINGS = ["request_id", "pushkin", "worker"];

/** A run this long of token characters, with a letter and a digit, is taken for a token or a key and not sent. */
const TOKEN_LIKE = /[A-Za-z0-9+/=_:-]{24,}/g;

const NOTHING_COLLECTED: NonNullable<NodeOptions["dataCollection"]> = {
  userInfo: false,
  cookies: false,
  httpHeaders: false,
  httpBodies: [],
  urlQueryParams: false,
  graphQL: { document: false, variables: false },
  genAI: { inputs: false, outputs: false },
  mcp: { inputs: false, outputs: false },
  databaseQueryData: false,
  queues: false,
  stackFrameVariables: false,
  frameContextLines: 0,
};

export function sentryReports(dsn: string, proxy: ProxyConfig | undefined, log: Logger): ErrorReports {
  const client = new NodeClient({
    dsn,
    release: `herald@${heraldVersion()}`,
    transport: makeNodeTransport,
    // Herald's outbound traffic goes through its proxy (`proxy`, else HTTPS_PROXY); its reports too.
    transportOptions: proxy && { proxy: proxyUrl(proxy) },
    stackParser: defaultStackParser,
    integrations: [linkedErrorsIntegration()],
    // What SDK 11 collects about users, requests, queries and frames (`sendDefaultPii` before it): nothing.
    dataCollection: NOTHING_COLLECTED,
    sendClientReports: false,
    maxBreadcrumbs: 0,
    enableOpenTelemetrySetup: false,
    enableRuntimeChannelInjection: false,
    beforeSend: (event, hint) => scrubbed(event, secretsOf(hint)),
  });
  const scope = new Scope();
  scope.setClient(client);
  client.init();
  log.info({ sentry: new URL(dsn).host }, "Reporting unexpected errors to Sentry");
  return {
    unexpected(error: unknown, report: ErrorReport) {
      const reportScope = scope.clone();
      reportScope.setTags({ ...tagsOf(report.log), ...report.tags });
      reportScope.captureException(error, { data: { secrets: report.secrets ?? [] } });
    },
    async close(timeoutMs: number) {
      // Resolves false when the time is up with events unsent: they are given up, as the process ends.
      await client.close(timeoutMs);
    },
  };
}

function tagsOf(log: Logger): Record<string, string> {
  const bindings = log.bindings();
  const tags: Record<string, string> = {};
  for (const name of TAGGED_BINDINGS) {
    if (bindings[name] !== undefined) tags[name] = String(bindings[name]);
  }
  return tags;
}

function secretsOf(hint: EventHint): readonly string[] {
  const data = hint.data as { secrets?: readonly string[] } | undefined;
  return data?.secrets ?? [];
}

/** The event as sent: only what says which error, where, and in which Herald; its text scrubbed. */
export function scrubbed(event: ErrorEvent, secrets: readonly string[]): ErrorEvent {
  const clean = (text: string | undefined) => text && redacted(text, secrets);
  return {
    type: undefined,
    event_id: event.event_id,
    timestamp: event.timestamp,
    platform: event.platform,
    level: event.level,
    server_name: event.server_name,
    release: event.release,
    environment: event.environment,
    sdk: event.sdk,
    tags: event.tags,
    contexts: { runtime: event.contexts?.runtime, trace: event.contexts?.trace },
    exception: event.exception && {
      values: event.exception.values?.map((value): Exception => ({
        type: value.type,
        value: clean(value.value),
        mechanism: value.mechanism && {
          type: value.mechanism.type,
          handled: value.mechanism.handled,
          source: value.mechanism.source,
          exception_id: value.mechanism.exception_id,
          parent_id: value.mechanism.parent_id,
        },
        stacktrace: value.stacktrace && { frames: value.stacktrace.frames?.map(frameOf) },
      })),
    },
  };
}

/** Where the frame is; not its source lines nor its variables. */
function frameOf(frame: StackFrame): StackFrame {
  const { filename, module, function: name, lineno, colno, in_app } = frame;
  return { filename, module, function: name, lineno, colno, in_app };
}

/** The request's own secrets shortened as the log shortens pushkeys; then whatever looks like a token, redacted. */
export function redacted(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) if (secret) result = result.replaceAll(secret, shortPushkey(secret));
  return result.replace(TOKEN_LIKE, (run) => (/[0-9]/.test(run) && /[A-Za-z]/.test(run) ? "[redacted]" : run));
}

/** Herald's proxy as the SDK's transport takes it: a URL, with the credentials when there are. */
function proxyUrl(proxy: ProxyConfig): string {
  const host = proxy.host.includes(":") ? `[${proxy.host}]` : proxy.host;
  const credentials = proxy.credentials?.split(":");
  const userinfo = credentials
    ? `${encodeURIComponent(credentials[0]!)}:${encodeURIComponent(credentials.slice(1).join(":"))}@`
    : "";
  return `http://${userinfo}${host}:${proxy.port}`;
}

/** Herald's version, from its package.json: this file runs from dist/src/observability/. */
function heraldVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return manifest.version;
}
