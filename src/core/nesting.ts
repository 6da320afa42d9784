/**
 * How deeply a JSON value nests, measured without recursion, so that measuring cannot itself overflow the stack.
 *
 * A pusher's `data` comes from the client that registered it and reaches the payload builders, which copy and
 * serialise it recursively: data nested a few thousand levels deep would overflow the stack there and fail the whole
 * request. No real payload comes near `MAX_DATA_DEPTH` (APNs' own `aps.alert.loc-args` is three levels).
 */
export const MAX_DATA_DEPTH = 64;

/** Whether `value` nests deeper than `max` levels of objects and arrays. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== "object" || item === null) continue;
    if (depth + 1 > max) return true;
    for (const child of Object.values(item)) {
      if (typeof child === "object" && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}
