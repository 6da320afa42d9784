/**
 * What every answer to any request must be, whatever the surface: an answer (no hang, and no connection closed
 * without one, unless the client closed its side first), no 5xx, and a 4xx that says what was wrong in the shape its
 * status calls for. A surface passes its exceptions (a documented 5xx, a documented close) and may add shapes for
 * statuses of its own.
 */
import assert from "node:assert/strict";
import type { RawAnswer, RawRequest } from "./rawHttp.js";

/**
 * How the body of an error status must look; `empty`: it may have none (a peer's own answer that has none); `any`: a
 * body of any type, which the surface checks itself.
 */
export type ErrorShape = "text" | "json-errcode" | "empty" | "any";

/** The shapes common to Herald's surfaces: 400 and the HTTP layer's own refusals in plain text, the rest JSON. */
export const defaultErrorShapes: Readonly<Record<number, ErrorShape>> = {
  400: "text",
  404: "json-errcode",
  405: "json-errcode",
  408: "text",
  413: "json-errcode",
  431: "text",
};

export interface Allowances {
  /** The connection may close without an answer (e.g. after a 413 while the client was still sending). */
  drop?: boolean;
  /** A 5xx that is documented for this request (e.g. 503 when over a pushkin's in-flight limit). */
  serverError?: (answer: RawAnswer) => boolean;
  /** Shapes for statuses of the surface's own, over the defaults. */
  shapes?: Readonly<Record<number, ErrorShape>>;
}

export function checkAnswer(request: RawRequest, answer: RawAnswer, allow: Allowances = {}): void {
  if (answer.outcome === "timeout") assert.fail("no answer: the server kept the request without answering");
  if (answer.outcome === "dropped") {
    // A client that closed its side before its request was complete is gone, for Herald as for Sygnal.
    const received = JSON.stringify(answer.received.toString("latin1").slice(0, 200));
    assert.ok(allow.drop || answer.halfClosed, `the connection closed without an answer (received ${received})`);
    return;
  }
  const { status } = answer;
  if (status >= 500) {
    assert.ok(allow.serverError?.(answer), `a ${status} answer: ${answer.body.toString("utf8").slice(0, 300)}`);
    return;
  }
  if (status < 400) return;
  const shape = allow.shapes?.[status] ?? defaultErrorShapes[status];
  checkErrorBody(request, answer, shape);
}

/** A 4xx explains itself: a body (for HEAD, the length it would have), in the shape its status calls for. */
function checkErrorBody(request: RawRequest, answer: RawAnswer, shape: ErrorShape | undefined): void {
  const { status, headers, body } = answer;
  if (shape === "empty") return;
  if (request.method === "HEAD") {
    assert.ok(Number(headers["content-length"]) > 0, `a ${status} answer to HEAD says no body would explain it`);
    return;
  }
  const text = body.toString("utf8");
  assert.ok(text.trim().length > 0, `a ${status} answer with an empty body`);
  const type = headers["content-type"] ?? "";
  if (shape === "text") {
    assert.match(type, /^text\/plain\b/, `a ${status} answer is not text/plain: ${type}`);
  } else if (shape === "json-errcode") {
    assert.match(type, /^application\/json\b/, `a ${status} answer is not JSON: ${type}`);
    const parsed = JSON.parse(text) as { errcode?: unknown; error?: unknown };
    assert.equal(typeof parsed.errcode, "string", `a ${status} answer without errcode: ${text}`);
    assert.equal(typeof parsed.error, "string", `a ${status} answer without error: ${text}`);
  }
}
