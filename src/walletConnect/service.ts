/**
 * The WalletConnect push-server engine: registrations, unregistrations and relay messages, each turned into an
 * answer as WalletConnect's push server answers it (answers.ts), over the registry (src/store/) and the provider
 * clients of the apps it is told to use (senders.ts).
 *
 * Where Herald differs, it is so that no push is lost without the relay hearing of it: a message is remembered (for
 * dedup) only once it was delivered or the provider declared the token dead; any failure forgets it and answers 502
 * (the relay retries, and its retry is pushed again).
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Logger } from "pino";
import type { CredentialHealth } from "../core/credentialHealth.js";
import { startDeadline } from "../core/deadline.js";
import type { TraceParent } from "../observability/spans.js";
import { CredentialFailure, isDispatchFailure, type DeliveryContext } from "../core/pushkin.js";
import { shortPushkey } from "../observability/logger.js";
import type { Client, PushType, Registry } from "../store/registry.js";
import { PUSH_TYPES } from "../store/registry.js";
import * as answers from "./answers.js";
import type { WalletConnectAnswer } from "./answers.js";
import { checkClientAuth } from "./clientAuth.js";
import type { RelayOutcome, WalletConnectMetrics } from "./metrics.js";
import { cleartextOf } from "./payload.js";
import {
  isStorableText,
  messageIdOf,
  messageIdsOf,
  parseRegistration,
  parseRelayBody,
  stripDidKey,
  type RelayMessage,
} from "./request.js";
import { send, type Sender, type SendResult } from "./senders.js";
import { tenantOf, type ProviderType, type WalletConnectSettings } from "./settings.js";
import { checkRelaySignature } from "./signature.js";

export interface WalletConnectServiceOptions {
  settings: WalletConnectSettings;
  registry: Registry;
  /** Each tenant's senders, by its registry tenant. */
  senders: ReadonlyMap<string, ReadonlyMap<ProviderType, Sender>>;
  metrics: WalletConnectMetrics;
  credentials: CredentialHealth;
  /** Seconds a push may take, provider retries included (`request_deadline`). */
  requestDeadline: number;
  log: Logger;
  now?: () => number;
}

/** How often remembered message ids are swept, at most and at least. */
const MAX_SWEEP_INTERVAL_MS = 60 * 60_000;
const MIN_SWEEP_INTERVAL_MS = 10_000;

export class WalletConnectService {
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;
  /** Since a registration found the registry full, and until one adds a client: its warning is logged once. */
  private full = false;

  constructor(private readonly options: WalletConnectServiceOptions) {
    this.now = options.now ?? Date.now;
    const ttlMs = options.settings.messageTtl * 1000;
    const interval = Math.min(MAX_SWEEP_INTERVAL_MS, Math.max(MIN_SWEEP_INTERVAL_MS, ttlMs / 4));
    this.sweeper = setInterval(() => void this.sweep(), interval).unref();
  }

  /** Forgets the message ids older than `message_ttl`; how many. */
  async sweep(): Promise<number> {
    try {
      return await this.options.registry.deleteNotificationsBefore(
        this.now() - this.options.settings.messageTtl * 1000,
      );
    } catch (error) {
      this.options.log.warn({ err: error }, "Could not forget old WalletConnect message ids; will try again");
      return 0;
    }
  }

  /**
   * `POST /clients`, or `POST /{projectId}/clients`. A project this server does not serve is refused after the
   * registration's own checks, in the original's order.
   */
  async register(
    projectId: string | undefined,
    body: Buffer,
    authorization: string | undefined,
    log: Logger,
  ): Promise<WalletConnectAnswer> {
    const parsed = parseRegistration(body);
    if (!parsed.ok) return parsed.answer;
    const { clientId, token, alwaysRaw } = parsed.value;
    const auth = this.authenticate(authorization, clientId, log);
    if (!auth.ok) return auth.answer;
    const type = parsed.value.type.toLowerCase();
    if (!isPushType(type) || (type === "noop" && !this.options.settings.acceptNoop)) {
      return answers.providerNotFound(parsed.value.type);
    }
    const tenant = tenantOf(this.options.settings, projectId);
    if (tenant === undefined) return answers.invalidTenant(projectId!);
    if (type !== "noop" && !tenant.providers.has(type)) return answers.providerNotAvailable(type);
    if (token === "") return answers.missingField("token");
    if (clientId === "") return answers.missingField("client_id");

    const outcome = await this.options.registry.registerClient({
      tenant: tenant.registryTenant,
      id: clientId,
      type,
      token,
      alwaysRaw,
      ...(auth.key !== undefined && { owner: auth.key }),
    });
    if (outcome === "full") return this.registryFull();
    if (outcome === "owned") return this.ownerRefused("client_owned", clientId, log);
    if (outcome === "token-owned") return this.ownerRefused("token_owned", clientId, log);
    if (outcome === "added" && this.full) {
      this.full = false;
      this.options.log.info("The WalletConnect registry has room again: new clients can register");
    }
    this.options.metrics.registrations.labels(type).inc();
    log.info(
      {
        tenant: projectId,
        client_id: clientId,
        push_type: type,
        token: shortPushkey(token),
        owned: auth.key !== undefined,
      },
      "WalletConnect client registered",
    );
    return answers.success(200);
  }

  /**
   * `DELETE /clients/:id`, or `DELETE /{projectId}/clients/:id`: 200 whether or not the client existed, as the
   * original; in a project this server does not serve, no client exists.
   */
  async unregister(
    projectId: string | undefined,
    pathId: string,
    authorization: string | undefined,
    log: Logger,
  ): Promise<WalletConnectAnswer> {
    const clientId = stripDidKey(pathId);
    const auth = this.authenticate(authorization, clientId, log);
    if (!auth.ok) return auth.answer;
    const tenant = tenantOf(this.options.settings, projectId);
    // An id the registry could never hold is a client that does not exist.
    if (tenant === undefined || !isStorableText(clientId)) return answers.success(200);
    const outcome = await this.options.registry.deleteClient(tenant.registryTenant, clientId, auth.key);
    if (outcome === "owned") return this.ownerRefused("client_owned", clientId, log);
    if (outcome === "deleted") {
      this.options.metrics.deletions.labels("unregistered").inc();
      log.info({ tenant: projectId, client_id: clientId }, "WalletConnect client unregistered");
    }
    return answers.success(200);
  }

  /**
   * `POST /clients/:id`, or `POST /{projectId}/clients/:id`, from the relay. In a project this server does not serve,
   * no client exists: 202, as for any unknown client.
   */
  async push(
    projectId: string | undefined,
    pathId: string,
    body: Buffer,
    headers: IncomingHttpHeaders,
    log: Logger,
    trace?: TraceParent,
  ): Promise<WalletConnectAnswer> {
    const { settings, metrics } = this.options;
    if (settings.relayPublicKey) {
      const check = checkRelaySignature(headers, body, settings.relayPublicKey, settings.timestampWindow, this.now());
      if (!check.ok) {
        metrics.signatureFailures.labels(check.reason).inc();
        log.warn({ reason: check.reason }, `Relay message refused: ${check.why}`);
        if (check.answer === "signature-missing") return answers.signatureMissing();
        if (check.answer === "timestamp-missing") return answers.timestampMissing();
        return answers.signatureRefused();
      }
    }
    const outcome = (name: RelayOutcome, answer: WalletConnectAnswer) => {
      metrics.relayMessages.labels(name).inc();
      return answer;
    };
    const parsed = parseRelayBody(body);
    if (!parsed.ok) return outcome("bad_request", parsed.answer);

    const clientId = stripDidKey(pathId);
    const { namedClient } = parsed.value;
    if (namedClient !== undefined && namedClient !== clientId) {
      log.warn({ client_id: clientId }, "Relay message refused: its signed body names another client");
      return outcome("other_client", answers.otherClientNamed());
    }
    const tenant = tenantOf(settings, projectId);
    const client =
      tenant !== undefined && isStorableText(clientId)
        ? await this.options.registry.getClient(tenant.registryTenant, clientId)
        : undefined;
    if (client === undefined) return outcome("unknown_client", answers.success(202));
    const message = client.alwaysRaw ? parsed.value.raw : parsed.value.legacy;
    if (message === undefined) {
      const field = client.alwaysRaw ? "missing topic, tag, or message field" : "missing id or payload field";
      return outcome("bad_request", answers.missingField(field));
    }

    const messageId = messageIdOf(message);
    const pushLog = log.child({
      tenant: projectId,
      client_id: clientId,
      message_id: messageId,
      push_type: client.type,
    });
    const stored = JSON.stringify({ shape: message.shape, topic: message.topic });
    // The relay's signature does not cover the path: a message that names no client is bound to the first it reaches.
    const onlyClient =
      settings.oneClientPerMessage && namedClient === undefined ? messageIdsOf(parsed.value) : undefined;
    const recorded = await this.options.registry.recordNotification(
      client.tenant,
      clientId,
      messageId,
      stored,
      this.now(),
      onlyClient,
    );
    if (recorded === "duplicate") return outcome("duplicate", answers.empty(200));
    if (recorded === "other-client") {
      pushLog.warn(
        "Relay message not pushed: it was pushed to another client of this project already (a signed message replayed to another client?); walletconnect.one_client_per_message",
      );
      return outcome("other_client", answers.empty(200));
    }
    if (recorded === "unknown-client") return outcome("unknown_client", answers.success(202));

    const [name, answer] = await this.deliver(client, message, pushLog, trace);
    if (name !== "delivered" && name !== "client_deleted") {
      await this.options.registry.forgetNotification(client.tenant, clientId, messageId).catch((error: unknown) => {
        pushLog.error({ err: error }, "Could not forget the message id: the relay's retry will be answered 200");
      });
    }
    return outcome(name, answer);
  }

  /**
   * The request's `Authorization`: the key it authenticates, undefined without one (accepted unless
   * `require_client_auth`), or the 401 of a JWT that does not authenticate `clientId`.
   */
  private authenticate(
    authorization: string | undefined,
    clientId: string,
    log: Logger,
  ): { ok: true; key: string | undefined } | { ok: false; answer: WalletConnectAnswer } {
    const { settings, metrics } = this.options;
    const auth = checkClientAuth(authorization, clientId, settings.audiences, this.now());
    if (!auth.ok) {
      metrics.clientAuthRefusals.labels("invalid_jwt").inc();
      log.info({ client_id: clientId }, auth.why);
      return { ok: false, answer: answers.authenticationFailed() };
    }
    if (auth.key === undefined && settings.requireClientAuth) {
      metrics.clientAuthRefusals.labels("jwt_required").inc();
      log.info({ client_id: clientId }, "No Authorization JWT, which walletconnect.require_client_auth requires");
      return { ok: false, answer: answers.authenticationRequired() };
    }
    return auth;
  }

  /** A request that would change a client, or take a token, that another key owns. */
  private ownerRefused(reason: "client_owned" | "token_owned", clientId: string, log: Logger): WalletConnectAnswer {
    this.options.metrics.clientAuthRefusals.labels(reason).inc();
    if (reason === "client_owned") {
      log.info(
        { client_id: clientId },
        "Refused: the client is owned by the key that registered it, and this request is not authenticated by it",
      );
      return answers.clientOwned();
    }
    log.info({ client_id: clientId }, "Refused: the device token belongs to another client, owned by another key");
    return answers.tokenOwned();
  }

  /** A registration that would add a client to a full registry: refused, with one warning for the whole episode. */
  private registryFull(): WalletConnectAnswer {
    this.options.metrics.registryFull.inc();
    if (!this.full) {
      this.full = true;
      this.options.log.warn(
        { max_clients: this.options.settings.store.maxClients },
        "The WalletConnect registry is full (walletconnect.max_clients): new clients are refused 507 until clients are deleted or the limit is raised; registered clients may still register again",
      );
    }
    return answers.registryFull();
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.options.registry.close();
  }

  private async deliver(
    client: Client,
    message: RelayMessage,
    log: Logger,
    trace: TraceParent | undefined,
  ): Promise<[RelayOutcome, WalletConnectAnswer]> {
    if (client.type === "noop") return ["delivered", answers.empty(202)];
    const sender = this.options.senders.get(client.tenant)?.get(client.type);
    if (sender === undefined) {
      log.error(`No app serves push type ${client.type} any more (walletconnect.providers): the message is refused`);
      return ["failed", answers.providerNotAvailable(client.type, 502)];
    }
    // As in the original, a provider reads the cleartext blob; noop never does.
    const blob = cleartextOf(message);
    if (blob?.ok === false) {
      log.info(`The legacy cleartext blob cannot be read (${blob.problem}); nothing to send`);
      return ["undeliverable", answers.undecodableBlob(blob.problem)];
    }

    const deadline = startDeadline(this.options.requestDeadline);
    let deliveryLog: Logger | undefined;
    const ctx: DeliveryContext = {
      signal: deadline.signal,
      deadline: deadline.at,
      log: () => (deliveryLog ??= log.child({ pushkin: sender.app, token: shortPushkey(client.token) })),
      trace,
    };
    let result: SendResult;
    try {
      result = await Promise.race([send(sender, message, blob?.cleartext, client.token, ctx), deadline.passed]);
    } catch (error) {
      return ["failed", this.failureAnswer(sender.app, error, ctx)];
    } finally {
      deadline.clear();
    }
    if (result.kind === "payload-too-large") {
      ctx.log().info("The message is too large for APNs; nothing sent");
      return ["undeliverable", answers.payloadTooLarge()];
    }
    this.options.credentials.accepted(sender.app);
    if (result.kind === "delivered") return ["delivered", answers.empty(202)];
    // The provider says the token is dead; unless the wallet registered another one meanwhile, the client goes.
    if (await this.options.registry.deleteClientIfToken(client.tenant, client.id, client.token)) {
      this.options.metrics.deletions.labels("dead_token").inc();
    }
    ctx.log().info({ why: result.why }, "WalletConnect client deleted: the provider declared its token dead");
    return ["client_deleted", answers.clientDeleted()];
  }

  private failureAnswer(app: string, error: unknown, ctx: DeliveryContext): WalletConnectAnswer {
    if (error instanceof CredentialFailure) {
      this.options.credentials.pushFailed(app, error);
      ctx.log().warn({ err: error }, "Push failed: the provider refused the app's credentials");
      return answers.providerCredentials();
    }
    if (!isDispatchFailure(error)) {
      ctx.log().error({ err: error }, "Push failed");
      return answers.internalError();
    }
    ctx.log().warn({ err: error }, "Push failed");
    if (error.answer?.reason === "PayloadTooLarge") return answers.payloadTooLarge();
    return error.name === "TemporaryFailure" ? answers.providerUnavailable() : answers.providerRefused();
  }
}

function isPushType(type: string): type is PushType {
  return (PUSH_TYPES as readonly string[]).includes(type);
}
