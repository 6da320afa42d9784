/**
 * Finds the pushkin of a device's app_id: the app whose key equals it, else the one glob key that matches it.
 * No match, or several globs and no exact key, means the device can never be served: it is rejected (as in Sygnal).
 */
import { globToRegExp, isGlob } from "./glob.js";

export type Route<T> = { kind: "found"; target: T } | { kind: "unknown" } | { kind: "ambiguous"; matches: string[] };

export class AppRouter<T> {
  private readonly exact = new Map<string, T>();
  private readonly globs: { key: string; pattern: RegExp; target: T }[] = [];
  /** Every app_id seen so far, resolved; bounded so that random app ids cannot grow it without end. */
  private readonly resolved = new Map<string, Route<T>>();
  private static readonly RESOLVED_MAX = 10_000;

  constructor(apps: Iterable<[string, T]>) {
    for (const [key, target] of apps) {
      this.exact.set(key, target);
      if (isGlob(key)) this.globs.push({ key, pattern: globToRegExp(key), target });
    }
  }

  route(appId: string): Route<T> {
    const known = this.resolved.get(appId);
    if (known) return known;
    const route = this.resolve(appId);
    if (this.resolved.size >= AppRouter.RESOLVED_MAX) this.resolved.clear();
    this.resolved.set(appId, route);
    return route;
  }

  private resolve(appId: string): Route<T> {
    const exact = this.exact.get(appId);
    if (exact !== undefined) return { kind: "found", target: exact };
    const matches = this.globs.filter((g) => g.pattern.test(appId));
    if (matches.length === 1) return { kind: "found", target: matches[0]!.target };
    if (matches.length === 0) return { kind: "unknown" };
    return { kind: "ambiguous", matches: matches.map((m) => m.key) };
  }
}
