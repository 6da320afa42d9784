/**
 * The answers of the WalletConnect API, with the status codes and bodies of WalletConnect's push-server code
 * (handlers/mod.rs, error.rs): `{"status":"SUCCESS","errors":null,"fields":null}`, or `{"status":"FAILURE","errors":
 * [{name, message}],"fields":[{field, description, location}]}`. Several of its answers have no body at all.
 * Herald's own answers (the 502s, a bad JSON body) use the same shape.
 */

export interface ResponseError {
  name: string;
  message: string;
}

export interface ErrorField {
  field: string;
  description: string;
  location: "body" | "header" | "path" | "unknown";
}

export type WalletConnectBody =
  | { status: "SUCCESS"; errors: null; fields: null }
  | { status: "FAILURE"; errors: ResponseError[]; fields: ErrorField[] };

/** `body` undefined: an empty body. */
export interface WalletConnectAnswer {
  status: number;
  body: WalletConnectBody | undefined;
}

export const SIGNATURE_HEADER = "X-Ed25519-Signature";
export const TIMESTAMP_HEADER = "X-Ed25519-Timestamp";

export function success(status: number): WalletConnectAnswer {
  return { status, body: { status: "SUCCESS", errors: null, fields: null } };
}

export function failure(status: number, errors: ResponseError[], fields: ErrorField[] = []): WalletConnectAnswer {
  return { status, body: { status: "FAILURE", errors, fields } };
}

export function empty(status: number): WalletConnectAnswer {
  return { status, body: undefined };
}

/** A field that is missing or empty (WalletConnect's `EmptyField`). */
export function missingField(field: string): WalletConnectAnswer {
  return failure(
    400,
    [{ name: "field", message: "field is missing from request" }],
    [{ field, description: "missing from request", location: "body" }],
  );
}

/** Herald: a field present with a value that cannot be used. */
export function invalidField(field: string, description: string): WalletConnectAnswer {
  return failure(400, [{ name: "field", message: "field is invalid" }], [{ field, description, location: "body" }]);
}

/** Herald: a body that is not a JSON object (WalletConnect's push server answers 500 or axum's plain-text 4xx). */
export function undecodableBody(): WalletConnectAnswer {
  return failure(400, [
    { name: "decode", message: "failed to decode body as JSON, please ensure your JSON body is encoded properly" },
  ]);
}

/** Herald: a body over the size limit. */
export function bodyTooLarge(limit: number): WalletConnectAnswer {
  return failure(413, [{ name: "body", message: `The request body is larger than ${limit} bytes` }]);
}

/** Herald: a body that did not arrive within http.body_timeout or at http.body_min_rate. */
export function bodyTooSlow(): WalletConnectAnswer {
  return failure(408, [{ name: "body", message: "The request body took too long to arrive" }]);
}

/** A tenant (project) id this server does not serve. */
export function invalidTenant(tenant: string): WalletConnectAnswer {
  return failure(
    400,
    [
      {
        name: "tenant",
        message: `The provided Tenant ID, ${tenant}, is invalid. Please ensure it's valid and the url is in the format /:tenant_id/...path`,
      },
    ],
    [{ field: "tenant_id", description: `Invalid Tenant ID, ${tenant}`, location: "path" }],
  );
}

export function providerNotFound(type: string): WalletConnectAnswer {
  const message = `The requested provider (${type}) is not a valid provider`;
  return failure(
    400,
    [{ name: "provider_not_available", message }],
    [{ field: "provider", description: message, location: "body" }],
  );
}

/** `status` 400 at registration; Herald answers 502 to a push whose provider is no longer configured. */
export function providerNotAvailable(type: string, status = 400): WalletConnectAnswer {
  const message = `The requested provider (${type}) is not currently available`;
  return failure(
    status,
    [{ name: "provider_not_available", message }],
    [{ field: "provider", description: message, location: "body" }],
  );
}

const NOT_SUFFICIENT: ResponseError = {
  name: "authentication",
  message: "the provided authentication is not sufficient",
};

/** An `Authorization` JWT that does not authenticate the client (WalletConnect's `JwtError`). */
export function authenticationFailed(): WalletConnectAnswer {
  return failure(
    401,
    [NOT_SUFFICIENT],
    [{ field: "authorization", description: "invalid authorization token", location: "header" }],
  );
}

/** Herald: no `Authorization` JWT, and `walletconnect.require_client_auth` asks for one. */
export function authenticationRequired(): WalletConnectAnswer {
  return failure(
    401,
    [NOT_SUFFICIENT],
    [
      {
        field: "authorization",
        description: "this server requires the wallet's Authorization JWT, signed with its client key",
        location: "header",
      },
    ],
  );
}

/**
 * Herald: the client was registered with its key's JWT, and this request has none of that key. The original's
 * answer to a JWT that does not authenticate, saying why.
 */
export function clientOwned(): WalletConnectAnswer {
  return failure(
    401,
    [NOT_SUFFICIENT],
    [
      {
        field: "authorization",
        description:
          "this client is owned by the key that registered it with a JWT: only an Authorization JWT of that key may register it again or delete it",
        location: "header",
      },
    ],
  );
}

/**
 * Herald: the device token belongs to another client id, registered with its key's JWT; moving the token would take
 * it from that client. 409: the request is well formed and authenticated, but conflicts with what is registered.
 */
export function tokenOwned(): WalletConnectAnswer {
  const message =
    "This device token is registered to another client, which is owned by the key that registered it; that client must unregister before the token can move";
  return failure(409, [{ name: "token_owned", message }], [{ field: "token", description: message, location: "body" }]);
}

const WEBHOOK_FAILED: ResponseError = {
  name: "webhook_validation_failed",
  message: "Failed to validate webhook, please ensure that all required headers are provided.",
};
const SIGNATURE_FIELD: ErrorField = { field: SIGNATURE_HEADER, description: "Missing signature", location: "header" };
const TIMESTAMP_FIELD: ErrorField = { field: TIMESTAMP_HEADER, description: "Missing timestamp", location: "header" };

/** Both headers missing, or a signature that does not verify (WalletConnect's `MissingAllSignatureHeader`). */
export function signatureRefused(): WalletConnectAnswer {
  return failure(401, [WEBHOOK_FAILED], [SIGNATURE_FIELD, TIMESTAMP_FIELD]);
}

export function signatureMissing(): WalletConnectAnswer {
  return failure(401, [WEBHOOK_FAILED], [SIGNATURE_FIELD]);
}

export function timestampMissing(): WalletConnectAnswer {
  return failure(401, [WEBHOOK_FAILED], [TIMESTAMP_FIELD]);
}

/** Herald: a signed body that names, in `client_id`, another client than the path's. */
export function otherClientNamed(): WalletConnectAnswer {
  return invalidField("client_id", "names another client than the path's: this message is not for this client");
}

export function clientDeleted(): WalletConnectAnswer {
  return failure(202, [{ name: "client_deleted", message: "Request Accepted, client deleted due to invalid token" }]);
}

export function payloadTooLarge(): WalletConnectAnswer {
  return failure(400, [{ name: "body", message: "Message payload is too large" }]);
}

/** A legacy cleartext blob that is not base64 of a JSON {title, body}: accepted, nothing can be sent. */
export function undecodableBlob(problem: "base64" | "json"): WalletConnectAnswer {
  const message =
    problem === "base64"
      ? "Decrypted notification does not decode as base64"
      : "Decrypted notification does not parse as JSON";
  return failure(202, [{ name: "json", message }]);
}

/** Herald: the push failed; the relay should retry. */
function notPushed(name: string, message: string): WalletConnectAnswer {
  return failure(502, [{ name, message }]);
}

/** Herald: the provider could not be reached, or asked to come back later, until the deadline. */
export const providerUnavailable = () =>
  notPushed(
    "provider_unavailable",
    "The push provider could not be reached or asked to retry later; retry the request",
  );

/** Herald: the provider refused this server's credentials. */
export const providerCredentials = () =>
  notPushed(
    "provider_credentials",
    "The push provider refused this server's credentials; the operator has been told; retry later",
  );

/** Herald: the provider refused the request for another reason than the token. */
export const providerRefused = () =>
  notPushed("provider_error", "The push provider refused the request; the operator has been told; retry later");

/**
 * Herald: over `walletconnect.rate_limits` (with `Retry-After`). WalletConnect's push server answers the same words as
 * plain text; Herald keeps the API's shape, as for its other own answers.
 */
export function tooManyRequests(): WalletConnectAnswer {
  return failure(429, [{ name: "too_many_requests", message: "Too many requests" }]);
}

/**
 * Herald: the registry holds `walletconnect.max_clients` clients. 507 Insufficient Storage says what happened: this
 * server cannot store the registration. It is no 429 (the wallet did nothing wrong, and waiting alone does not help)
 * and no 503 (which says the server will recover by itself, and which proxies may retry on another instance sharing
 * the same full registry).
 */
export function registryFull(): WalletConnectAnswer {
  return failure(507, [
    {
      name: "registry_full",
      message: "This push server holds as many clients as it is allowed to; no new client can register for now",
    },
  ]);
}

/** Herald's own failure: logged with the request id. */
export function internalError(): WalletConnectAnswer {
  return failure(500, [
    { name: "unknown_error", message: "internal error; the request id ties it to the server's log" },
  ]);
}
