/**
 * The access token of a Google service account: a JWT-bearer grant, the assertion signed with the account's key and
 * sent to its `token_uri`; kept until a minute before it expires, and dropped when FCM answers 401.
 */
import type { Http1Client } from "../../core/http1Client.js";
import { signJwt } from "../../core/jwt.js";
import { OAuthToken } from "../../core/oauthToken.js";
import type { ServiceAccount } from "./settings.js";

export const FIREBASE_SCOPE = "https://www.googleapis.com/auth/firebase.messaging";
const ASSERTION_LIFETIME_S = 3600;

export function googleAccessToken(account: ServiceAccount, http: Http1Client): OAuthToken {
  return new OAuthToken({
    http,
    tokenUrl: account.tokenUri,
    renewBeforeExpiryMs: 60_000,
    credentialsHint:
      "check service_account_file: its key may have been deleted or disabled (Google Cloud console, IAM, Service accounts, Keys); download a new key",
    form: (nowMs) => {
      const iat = Math.floor(nowMs / 1000);
      const claims = {
        iss: account.clientEmail,
        scope: FIREBASE_SCOPE,
        aud: account.tokenUri,
        iat,
        exp: iat + ASSERTION_LIFETIME_S,
      };
      const header = account.privateKeyId ? { kid: account.privateKeyId } : {};
      return {
        grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
        assertion: signJwt("RS256", account.key, claims, header),
      };
    },
  });
}
