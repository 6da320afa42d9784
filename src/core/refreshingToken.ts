/**
 * A credential that is made on demand, reused until it is due for renewal, and renewed by one caller at a time:
 * the APNs JWT, OAuth access tokens.
 *
 * `minAgeMs` guards providers that punish renewing too often (APNs answers TooManyProviderTokenUpdates when a JWT
 * is replaced within 20 minutes): an early `renew()` is refused while the token is younger than that.
 */
export interface IssuedToken<T> {
  value: T;
  /** Epoch ms after which the token is renewed before use. */
  renewAt: number;
}

export interface RefreshingTokenOptions<T> {
  issue: () => Promise<IssuedToken<T>> | IssuedToken<T>;
  minAgeMs?: number;
  now?: () => number;
}

export class RefreshingToken<T> {
  private current: (IssuedToken<T> & { issuedAt: number }) | undefined;
  private pending: Promise<T> | undefined;
  private readonly now: () => number;

  constructor(private readonly options: RefreshingTokenOptions<T>) {
    this.now = options.now ?? Date.now;
  }

  async get(): Promise<T> {
    if (this.current && this.now() < this.current.renewAt) return this.current.value;
    this.pending ??= this.issue().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** Drops the token so that the next `get()` issues a new one; false when it is too young to be replaced. */
  renew(): boolean {
    if (this.current && this.now() - this.current.issuedAt < (this.options.minAgeMs ?? 0)) return false;
    this.current = undefined;
    return true;
  }

  private async issue(): Promise<T> {
    const issuedAt = this.now();
    const token = await this.options.issue();
    this.current = { ...token, issuedAt };
    return token.value;
  }
}
