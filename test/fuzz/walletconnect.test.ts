/** Bounded fuzzing of WalletConnect's /clients API (the long run: `npm run fuzz`; docs/reliability.md). */
import { fuzzSuite } from "./suite.js";
import { walletConnectSurface } from "./walletconnect/surface.js";

fuzzSuite(walletConnectSurface);
