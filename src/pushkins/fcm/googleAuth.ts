/**
 * OAuth 2 access tokens for a Google service account: a JWT-bearer grant signed with the account's key and sent to
 * its `token_uri`. The token is kept until a minute before it expires, and dropped when FCM answers 401.
 */
import type { Http1Client } from "../../core/http1Client.js";
import { signJwt } from "../../core/jwt.js";
import { PermanentFailure, TemporaryFailure } from "../../core/pushkin.js";
import { RefreshingToken } from "../../core/refreshingToken.js";
import type { ServiceAccount } from "./settings.js";

export const FIREBASE_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
const ASSERTION_LIFETIME_S = 3600;
const RENEW_BEFORE_EXPIRY_MS = 60_000;
const TOKEN_REQUEST_TIMEOUT_MS = 10_000;

export class GoogleAccessToken {
  private readonly token: RefreshingToken<string>;

  constructor(
    private readonly account: ServiceAccount,
    private readonly http: Http1Client,
    now: () => number = Date.now,
  ) {
    this.token = new RefreshingToken({ now, issue: () => this.fetch(now()) });
  }

  get(): Promise<string> {
    return this.token.get();
  }

  /** FCM said 401: the next `get()` fetches a new token. */
  renew(): void {
    this.token.renew();
  }

  private async fetch(nowMs: number): Promise<{ value: string; renewAt: number }> {
    const iat = Math.floor(nowMs / 1000);
    const assertion = signJwt(
      "RS256",
      this.account.key,
      {
        iss: this.account.clientEmail,
        scope: FIREBASE_SCOPE,
        aud: this.account.tokenUri,
        iat,
        exp: iat + ASSERTION_LIFETIME_S,
      },
      this.account.privateKeyId ? { kid: this.account.privateKeyId } : {},
    );
    const answer = await this.http.request({
      url: this.account.tokenUri,
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion }).toString(),
      // Its own time limit, not a push's deadline: every push waiting for the token shares this one request.
      signal: AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS),
    });
    const text = answer.body.toString("utf8");
    if (answer.status >= 500 || answer.status === 429) {
      throw new TemporaryFailure(`the Google token endpoint answered ${answer.status}`);
    }
    let body: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // handled below
    }
    if (answer.status !== 200 || typeof body.access_token !== "string") {
      const why =
        typeof body.error === "string" ? `${body.error}: ${String(body.error_description ?? "")}` : text.slice(0, 200);
      throw new PermanentFailure(
        `Google refused the service account's token request (${answer.status} ${why}): check service_account_file`,
      );
    }
    const expiresIn = typeof body.expires_in === "number" ? body.expires_in : 3600;
    return { value: body.access_token, renewAt: nowMs + expiresIn * 1000 - RENEW_BEFORE_EXPIRY_MS };
  }
}
