/**
 * An OAuth 2 access token from a provider's token endpoint (Google's JWT-bearer grant, Huawei's client credentials):
 * requested with a form, kept until shortly before it expires, dropped when the provider refuses it. One request at
 * a time serves every push waiting for the token.
 */
import type { Http1Client } from "./http1Client.js";
import { CredentialFailure, TemporaryFailure } from "./pushkin.js";
import { RefreshingToken } from "./refreshingToken.js";

const TOKEN_REQUEST_TIMEOUT_MS = 10_000;

export interface OAuthTokenOptions {
  http: Http1Client;
  tokenUrl: string;
  /** The form of a token request, made anew for each (a signed assertion has its own time). */
  form: (nowMs: number) => Record<string, string>;
  /** How long before its expiry a token is replaced. */
  renewBeforeExpiryMs: number;
  /** What to do when the provider refuses the credentials, e.g. "check service_account_file". */
  credentialsHint: string;
  now?: () => number;
}

export class OAuthToken {
  private readonly token: RefreshingToken<string>;

  constructor(private readonly options: OAuthTokenOptions) {
    const now = options.now ?? Date.now;
    this.token = new RefreshingToken({ now, issue: () => this.fetch(now()) });
  }

  get(): Promise<string> {
    return this.token.get();
  }

  /** The provider refused the token: the next `get()` asks for a new one. */
  renew(): void {
    this.token.renew();
  }

  private async fetch(nowMs: number): Promise<{ value: string; renewAt: number }> {
    const { http, tokenUrl, form, renewBeforeExpiryMs, credentialsHint } = this.options;
    const answer = await http.request({
      url: tokenUrl,
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form(nowMs)).toString(),
      // Its own time limit, not a push's deadline: every push waiting for the token shares this one request.
      signal: AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS),
    });
    const host = new URL(tokenUrl).host;
    if (answer.status >= 500 || answer.status === 429) {
      throw new TemporaryFailure(`the token endpoint ${host} answered ${answer.status}`, {
        publicReason: `the provider's token endpoint answered ${answer.status}`,
      });
    }
    const text = answer.body.toString("utf8");
    let body: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // a refusal without JSON: reported below with its text
    }
    if (answer.status !== 200 || typeof body.access_token !== "string") {
      const why =
        body.error !== undefined
          ? `${String(body.error)}: ${String(body.error_description ?? "")}`
          : text.slice(0, 200);
      // OAuth's error code is a word of the protocol (`invalid_grant`), fit for the homeserver's answer.
      const code = typeof body.error === "string" && /^[\w.-]{1,64}$/.test(body.error) ? body.error : undefined;
      throw new CredentialFailure(`${host} refused the token request (${answer.status} ${why})`, {
        fix: credentialsHint,
        publicReason: `the app's credentials were refused (the token endpoint answered ${answer.status}${code ? ` ${code}` : ""}); the gateway's log says how to fix them`,
      });
    }
    const expiresIn = typeof body.expires_in === "number" ? body.expires_in : 3600;
    return { value: body.access_token, renewAt: nowMs + expiresIn * 1000 - renewBeforeExpiryMs };
  }
}
