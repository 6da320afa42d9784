/** Bounded fuzzing of push-relay's POST /push (the long run: `npm run fuzz`; docs/reliability.md). */
import { fuzzSuite } from "./suite.js";
import { pushRelaySurface } from "./push-relay/surface.js";

fuzzSuite(pushRelaySurface);
