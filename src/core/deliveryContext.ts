/** The delivery context of one /notify device, for the provider client that sends it. */
import { shortPushkey } from "../observability/logger.js";
import type { DeliveryContext, DispatchContext } from "./pushkin.js";

/** Its logger names the pushkin and the shortened pushkey, and is made on first use: most pushes log nothing. */
export function deliveryContext(ctx: DispatchContext, pushkin: string, pushkey: string): DeliveryContext {
  let log: DispatchContext["log"] | undefined;
  return {
    signal: ctx.signal,
    deadline: ctx.deadline,
    log: () => (log ??= ctx.log.child({ pushkin, pushkey: shortPushkey(pushkey) })),
    trace: ctx.trace,
  };
}
