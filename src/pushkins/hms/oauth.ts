/**
 * Huawei's OAuth client-credentials access token: fetched with the app's client id and secret, kept until 180 s
 * before it expires (as Threema's push-relay does), and dropped when Push Kit says it was refused.
 */
import type { Http1Client } from "../../core/http1Client.js";
import { PermanentFailure, TemporaryFailure } from "../../core/pushkin.js";
import { RefreshingToken } from "../../core/refreshingToken.js";
import type { HmsSettings } from "./settings.js";

const RENEW_BEFORE_EXPIRY_MS = 180_000;
const TOKEN_REQUEST_TIMEOUT_MS = 10_000;

export class HmsAccessToken {
  private readonly token: RefreshingToken<string>;

  constructor(
    private readonly settings: HmsSettings,
    private readonly http: Http1Client,
    now: () => number = Date.now,
  ) {
    this.token = new RefreshingToken({ now, issue: () => this.fetch(now()) });
  }

  get(): Promise<string> {
    return this.token.get();
  }

  renew(): void {
    this.token.renew();
  }

  private async fetch(nowMs: number): Promise<{ value: string; renewAt: number }> {
    const { clientId, clientSecret, tokenEndpoint } = this.settings;
    const answer = await this.http.request({
      url: tokenEndpoint,
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: clientId,
        client_secret: clientSecret,
      }).toString(),
      // Its own time limit, not a push's deadline: every push waiting for the token shares this one request.
      signal: AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS),
    });
    if (answer.status >= 500 || answer.status === 429) {
      throw new TemporaryFailure(`the Huawei token endpoint answered ${answer.status}`);
    }
    let body: { access_token?: unknown; expires_in?: unknown; error_description?: unknown } = {};
    try {
      body = JSON.parse(answer.body.toString("utf8")) as typeof body;
    } catch {
      // handled below
    }
    if (answer.status !== 200 || typeof body.access_token !== "string") {
      throw new PermanentFailure(
        `Huawei refused the app's token request (${answer.status} ${String(body.error_description ?? "")}): check client_id and client_secret`,
      );
    }
    const expiresIn = typeof body.expires_in === "number" ? body.expires_in : 3600;
    return { value: body.access_token, renewAt: nowMs + expiresIn * 1000 - RENEW_BEFORE_EXPIRY_MS };
  }
}
