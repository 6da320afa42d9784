/**
 * Huawei's access token: the client-credentials grant with the app's client id and secret, kept until 180 s before it
 * expires (as Threema's push-relay does), and dropped when Push Kit refuses it.
 */
import type { Http1Client } from "../../core/http1Client.js";
import { OAuthToken } from "../../core/oauthToken.js";
import type { HmsCredentials } from "./client.js";

export function hmsAccessToken(
  settings: Pick<HmsCredentials, "tokenEndpoint" | "clientId" | "clientSecret">,
  http: Http1Client,
): OAuthToken {
  return new OAuthToken({
    http,
    tokenUrl: settings.tokenEndpoint,
    renewBeforeExpiryMs: 180_000,
    credentialsHint:
      "check client_id and client_secret against AppGallery Connect (Project settings, App information, OAuth 2.0 client)",
    form: () => ({
      grant_type: "client_credentials",
      client_id: settings.clientId,
      client_secret: settings.clientSecret,
    }),
  });
}
