/**
 * WalletConnect's push-server API, mounted when the config has a `walletconnect` section:
 *
 *   POST   /clients       a wallet registers its device token
 *   DELETE /clients/:id   a wallet unregisters
 *   POST   /clients/:id   the relay sends a message for a wallet (signed)
 *
 * and the same under `/:projectId/clients…`, the multi-tenant routes that WalletConnect's SDKs and relay call. A path
 * of both shapes (`/clients/clients`) is the single-tenant route's.
 *
 * Reads at most 1 MiB (413 beyond), passes the rest to the engine (src/walletConnect/), and writes its answer: a JSON
 * body of WalletConnect's shape, or none. Any other method on these paths is a 405.
 *
 * Registrations and deletions count against `walletconnect.rate_limits.per_address` before their body is read
 * (`walletConnectAddressLimit`, which the app runs in `addressLimits` ahead of `readBodyFirst`): over it, 429 with
 * `Retry-After`. The relay's pushes are not limited (the relay sends them all).
 */
import type Router from "@koa/router";
import type { Context } from "koa";
import * as answers from "../walletConnect/answers.js";
import type { WalletConnectAnswer } from "../walletConnect/answers.js";
import type { WalletConnectService } from "../walletConnect/service.js";
import { requestBody } from "./body.js";
import type { AddressLimit } from "./addressLimit.js";
import type { EdgeRateLimit } from "./rateLimits.js";
import type { RequestState } from "./state.js";

export const WALLETCONNECT_MAX_BODY_BYTES = 1024 * 1024;
const CLIENTS = /^\/clients$/;
const CLIENT = /^\/clients\/([^/]+)$/;
const TENANT_CLIENTS = /^\/([^/]+)\/clients$/;
const TENANT_CLIENT = /^\/([^/]+)\/clients\/([^/]+)$/;

/** Whether a path is one of this API's: its answers carry CORS headers. */
export function isWalletConnectPath(path: string): boolean {
  return [CLIENTS, CLIENT, TENANT_CLIENTS, TENANT_CLIENT].some((route) => route.test(path));
}

/** The route of one of this API's paths as a span names it, without its ids; undefined for another path. */
export function walletConnectRouteOf(path: string): string | undefined {
  if (CLIENTS.test(path)) return "/clients";
  if (CLIENT.test(path)) return "/clients/{client_id}";
  if (TENANT_CLIENTS.test(path)) return "/{project_id}/clients";
  if (TENANT_CLIENT.test(path)) return "/{project_id}/clients/{client_id}";
  return undefined;
}

export interface WalletConnectRoute {
  service: WalletConnectService;
  /** `walletconnect.rate_limits.per_address`; undefined: off. */
  perAddress: EdgeRateLimit | undefined;
}

/**
 * `walletconnect.rate_limits.per_address`, for `addressLimits`: registrations and deletions count, on every route and
 * project; the relay's pushes do not. A path of both shapes is the single-tenant route's, as in `mountWalletConnect`:
 * `POST /clients/clients` is a push, `DELETE /clients/clients` a deletion.
 */
export function walletConnectAddressLimit(perAddress: EdgeRateLimit): AddressLimit {
  return {
    limit: perAddress,
    counts: (method, path) => {
      if (method === "DELETE") return CLIENT.test(path) || TENANT_CLIENT.test(path);
      return method === "POST" && (CLIENTS.test(path) || (TENANT_CLIENTS.test(path) && !CLIENT.test(path)));
    },
    refuse: (ctx, retryAfter) => {
      ctx.set("Retry-After", String(retryAfter));
      write(ctx, answers.tooManyRequests());
    },
  };
}

/** The routes; their per-address limit is `walletConnectAddressLimit`, which the app runs before the body is read. */
export function mountWalletConnect(router: Router<RequestState>, { service }: WalletConnectRoute): void {
  const routes = [
    { clients: CLIENTS, client: CLIENT, project: () => undefined, id: (ctx: Context) => segment(CLIENT, ctx, 1) },
    {
      clients: TENANT_CLIENTS,
      client: TENANT_CLIENT,
      project: (ctx: Context) => segment(TENANT_CLIENTS, ctx, 1) ?? segment(TENANT_CLIENT, ctx, 1),
      id: (ctx: Context) => segment(TENANT_CLIENT, ctx, 2),
    },
  ];
  for (const { clients, client, project, id } of routes) {
    router.post(clients, (ctx) =>
      withBody(ctx, (body) => service.register(project(ctx), body, authorization(ctx), state(ctx).log)),
    );
    router.delete(client, (ctx) =>
      answer(ctx, () => service.unregister(project(ctx), id(ctx)!, authorization(ctx), state(ctx).log)),
    );
    router.post(client, (ctx) =>
      withBody(ctx, (body) =>
        service.push(project(ctx), id(ctx)!, body, ctx.req.headers, state(ctx).log, state(ctx).trace),
      ),
    );
    router.all(clients, (ctx) => methodNotAllowed(ctx, "POST"));
    router.all(client, (ctx) => methodNotAllowed(ctx, "POST, DELETE"));
  }
}

async function withBody(ctx: Context, handle: (body: Buffer) => Promise<WalletConnectAnswer>): Promise<void> {
  const read = requestBody(ctx);
  if (!read.ok) {
    if (read.failure === "too_large") return write(ctx, answers.bodyTooLarge(WALLETCONNECT_MAX_BODY_BYTES));
    return write(ctx, read.failure === "too_slow" ? answers.bodyTooSlow() : answers.undecodableBody());
  }
  return answer(ctx, () => handle(read.body));
}

/** The engine's answer; a failure of the registry is Herald's, answered 500 in the API's shape and logged. */
async function answer(ctx: Context, handle: () => Promise<WalletConnectAnswer>): Promise<void> {
  let result: WalletConnectAnswer;
  try {
    result = await handle();
  } catch (error) {
    state(ctx).log.error({ err: error }, "WalletConnect request failed");
    result = answers.internalError();
  }
  write(ctx, result);
}

function write(ctx: Context, { status, body }: WalletConnectAnswer): void {
  ctx.status = status;
  if (body === undefined) {
    // Koa turns an empty body into a 204; the original answers its own status with an empty body.
    ctx.respond = false;
    ctx.res.writeHead(status, { "content-length": "0" });
    ctx.res.end();
    return;
  }
  ctx.type = "application/json";
  ctx.body = JSON.stringify(body);
}

/**
 * A segment of the path (a project or client id), percent-decoded; a malformed escape is kept as it came (no client
 * or project can have such an id). undefined when the path is not of that route.
 */
function segment(route: RegExp, ctx: Context, index: number): string | undefined {
  const raw = route.exec(ctx.path)?.[index];
  if (raw === undefined) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function authorization(ctx: Context): string | undefined {
  return ctx.req.headers.authorization;
}

function state(ctx: Context): RequestState {
  return ctx.state as RequestState;
}

function methodNotAllowed(ctx: Context, allow: string): void {
  ctx.set("Allow", allow);
  write(ctx, answers.failure(405, [{ name: "method", message: `Method not allowed; use ${allow}` }]));
}
