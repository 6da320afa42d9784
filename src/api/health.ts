/**
 * `GET|HEAD /health`: 200 with an empty body (Docker's HEALTHCHECK and load balancers). While Herald shuts down, the
 * shutdown gate answers 503 before this is reached, so a draining instance drops out of the pool.
 */
import type Router from "@koa/router";
import { sendUnrecognized } from "./responses.js";

export function mountHealth(router: Router): void {
  router.get("/health", (ctx) => {
    ctx.status = 200;
    ctx.body = "";
  });
  router.all("/health", (ctx) => sendUnrecognized(ctx, "GET, HEAD"));
}
