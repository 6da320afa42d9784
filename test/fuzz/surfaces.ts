/** Every fuzzed surface, for `npm run fuzz` (scripts/fuzz.mjs). */
import type { FuzzSurface } from "./harness.js";
import { notifySurface } from "./notify/surface.js";
import { pushRelaySurface } from "./push-relay/surface.js";
import { walletConnectSurface } from "./walletconnect/surface.js";

export const surfaces: FuzzSurface[] = [notifySurface, pushRelaySurface, walletConnectSurface];
