/**
 * Whether each app's credentials work, as far as Herald can tell: refused by the provider, unreadable or expired
 * (`CredentialFailure`), or accepted (the provider answered a push). The change to "refused" is logged once at error
 * with the fix, not at every push; `herald_credentials_ok{pushkin}` is 0 while it lasts.
 */
import type { Logger } from "pino";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { CredentialFailure } from "./pushkin.js";

export class CredentialHealth {
  private readonly refused = new Set<string>();

  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
  ) {}

  register(pushkin: string): void {
    this.metrics.credentialsOk.labels(pushkin).set(1);
    this.metrics.credentialFailures.labels(pushkin).inc(0);
  }

  /** A push of this app failed for its credentials. */
  pushFailed(pushkin: string, failure: CredentialFailure): void {
    this.metrics.credentialFailures.labels(pushkin).inc();
    this.problem(pushkin, failure);
  }

  /** The app's credentials do not work (seen by a push, or by looking at them). */
  problem(pushkin: string, failure: CredentialFailure): void {
    if (this.refused.has(pushkin)) return;
    this.refused.add(pushkin);
    this.metrics.credentialsOk.labels(pushkin).set(0);
    this.log.error(
      { pushkin, fix: failure.fix },
      `The credentials of app '${pushkin}' do not work: ${failure.message}`,
    );
  }

  /** The provider answered a push of this app: its credentials work. */
  accepted(pushkin: string): void {
    if (!this.refused.delete(pushkin)) return;
    this.metrics.credentialsOk.labels(pushkin).set(1);
    this.log.info({ pushkin }, `The credentials of app '${pushkin}' are accepted again`);
  }
}
