/** Reads a request body as bytes, up to a limit. */
import type { Context } from "koa";
import getRawBody from "raw-body";

export type BodyRead = { ok: true; body: Buffer } | { ok: false; tooLarge: boolean };

/** On failure the caller answers (413 when `tooLarge`); the connection closes after that answer. */
export async function readRequestBody(ctx: Context, limit: number): Promise<BodyRead> {
  try {
    return { ok: true, body: await getRawBody(ctx.req, { length: ctx.request.length, limit }) };
  } catch (error) {
    // The rest of an oversized or broken body is not read: the connection closes after the answer.
    ctx.set("Connection", "close");
    return { ok: false, tooLarge: (error as { type?: string }).type === "entity.too.large" };
  }
}
