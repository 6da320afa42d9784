/**
 * What a Push Kit answer means for the device. Huawei answers most outcomes with HTTP 200 and a business `code`:
 * 80000000 delivered; 80300007 (invalid token) and the tokens listed as illegal in an 80100000 partial success are
 * dead; 80200001/80200003 mean the access token was refused. HTTP 503 is traffic control. Nothing else rejects.
 */
export type HmsVerdict =
  | { kind: "delivered" }
  | { kind: "rejected"; why: string }
  | { kind: "renew-token"; why: string }
  | { kind: "retry"; why: string }
  | { kind: "fail"; why: string };

const OAUTH_CODES = new Set(["80200001", "80200003"]);

/** The verdict, with Push Kit's business code when its body carried one. */
export function classifyHmsAnswer(
  status: number,
  body: Buffer,
  pushkey: string,
): HmsVerdict & { code: string | undefined } {
  const answer = parse(body);
  const code = answer?.code;
  const why = `HMS answered ${status}${code ? ` ${code}` : ""}${answer?.msg ? `: ${answer.msg}` : ""}`;
  const verdict = (kind: Exclude<HmsVerdict["kind"], "delivered">) => ({ kind, why, code });
  if (code && OAUTH_CODES.has(code)) return verdict("renew-token");
  if (status >= 500 || status === 429) return verdict("retry");
  if (code === "80000000" && status === 200) return { kind: "delivered", code };
  if (code === "80300007") return verdict("rejected");
  if (code === "80100000") {
    const partial = partialSuccess(answer?.msg);
    if (partial.illegalTokens.includes(pushkey)) return verdict("rejected");
    // Herald sends one token a request: the one success is ours.
    if (partial.success > 0) return { kind: "delivered", code };
  }
  return verdict("fail");
}

function parse(body: Buffer): { code?: string; msg?: string } | undefined {
  try {
    const value = JSON.parse(body.toString("utf8")) as { code?: unknown; msg?: unknown };
    return {
      code: value.code === undefined ? undefined : String(value.code),
      msg: typeof value.msg === "string" ? value.msg : undefined,
    };
  } catch {
    return undefined;
  }
}

/** An 80100000's msg is itself JSON: `{"success": 1, "failure": 1, "illegal_tokens": ["…"]}`. */
function partialSuccess(msg: string | undefined): { success: number; illegalTokens: string[] } {
  try {
    const parsed = JSON.parse(msg ?? "") as { success?: unknown; illegal_tokens?: unknown };
    return {
      success: typeof parsed.success === "number" ? parsed.success : 0,
      illegalTokens: Array.isArray(parsed.illegal_tokens)
        ? parsed.illegal_tokens.filter((t): t is string => typeof t === "string")
        : [],
    };
  } catch {
    return { success: 0, illegalTokens: [] };
  }
}
