/** Bounded fuzzing of /_matrix/push/v1/notify (the long run: `npm run fuzz`; docs/reliability.md). */
import { fuzzSuite } from "./suite.js";
import { notifySurface } from "./notify/surface.js";

fuzzSuite(notifySurface);
